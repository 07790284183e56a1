//! Registered clients (applications).

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::client::{AccessTokenFormat, Client, ClientType, GrantType, SecretHash};
use tessera_core::registration::Registration;

use crate::StoreResult;

/// A client registration to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: Vec<GrantType>,
    pub secret: SecretHash,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub user_id: Option<i64>,
    pub skip_authorization: bool,
    pub algorithm: Option<String>,
    pub access_token_format: AccessTokenFormat,
    pub logout_revokes_grants: bool,
    pub allowed_scopes: Option<String>,
    pub introspect_any: bool,
    pub created_at: UnixTime,
}

/// The editable part of a registration (the client id, type and secret never change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUpdate {
    pub name: String,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub algorithm: Option<String>,
    pub access_token_format: AccessTokenFormat,
    pub logout_revokes_grants: bool,
    pub allowed_scopes: Option<String>,
    pub updated_at: UnixTime,
}

impl ClientUpdate {
    /// What a checked registration changes in an existing client, under `name`: every field
    /// a registrant may change (the type, the client id, the secret and `introspect_any`
    /// stay as they are).
    pub fn from_registration(registration: Registration, name: String, now: UnixTime) -> Self {
        Self {
            name,
            grant_types: registration.grant_types,
            redirect_uris: registration.redirect_uris,
            post_logout_redirect_uris: registration.post_logout_redirect_uris,
            allowed_origins: registration.allowed_origins,
            algorithm: registration.algorithm,
            access_token_format: registration.access_token_format,
            logout_revokes_grants: registration.logout_revokes_grants,
            allowed_scopes: registration.allowed_scopes,
            updated_at: now,
        }
    }
}

#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    async fn insert_client(&self, client: NewClient) -> StoreResult<Client>;
    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn client_by_pk(&self, pk: i64) -> StoreResult<Option<Client>>;
    /// Every client, oldest first (the operator's list).
    async fn all_clients(&self) -> StoreResult<Vec<Client>>;
    /// The clients a user registered, newest first.
    async fn clients_of_user(&self, user_id: i64) -> StoreResult<Vec<Client>>;
    /// Returns whether the client existed.
    async fn update_client(&self, pk: i64, update: ClientUpdate) -> StoreResult<bool>;
    /// Deletes a client with its grants, tokens and codes; returns whether it existed.
    async fn delete_client(&self, pk: i64) -> StoreResult<bool>;
    /// Replaces a client's slow secret hash by a stronger one of the same secret (an imported
    /// Django hash by Argon2id after its first use), only if it is still `old`. Returns
    /// whether it was replaced.
    async fn upgrade_secret_hash(&self, pk: i64, old: &str, new: &str) -> StoreResult<bool>;
    /// Whether any registered public client lists `origin` in its allowed origins (CORS
    /// preflight, which carries no client id; confidential clients run on servers and get no
    /// CORS).
    async fn origin_allowed(&self, origin: &str) -> StoreResult<bool>;
}
