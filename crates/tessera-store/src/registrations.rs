//! Dynamic client registration (RFC 7591, RFC 7592): what a registered client has beside its
//! [`Client`] row (its registration access token's digest and the metadata answered back),
//! and the initial access tokens an operator hands out.

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::client::Client;
use tessera_core::client_metadata::{InitialAccessToken, RegisteredMetadata};
use tessera_core::token::TokenDigest;

use crate::{ClientUpdate, NewClient, StoreResult};

/// A client's dynamic registration, as stored beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub client_pk: i64,
    /// The digest of the registration access token in force.
    pub access_token: TokenDigest,
    /// The initial access token it was registered with, if any.
    pub initial_access_token: Option<i64>,
    pub metadata: RegisteredMetadata,
}

/// What registering a client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    Registered(Box<Client>),
    /// The initial access token is unknown or has registered its maximum number of clients:
    /// nothing was written.
    InitialTokenRefused,
}

#[async_trait]
pub trait RegistrationStore: Send + Sync + 'static {
    /// Stores an initial access token (its digest); returns its id.
    async fn insert_initial_access_token(
        &self,
        digest: &TokenDigest,
        max_clients: Option<i64>,
        now: UnixTime,
    ) -> StoreResult<i64>;

    async fn initial_access_token(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<InitialAccessToken>>;

    /// Inserts a client and its registration in one transaction. With an initial access
    /// token, its count goes up in the same transaction, only while under its maximum: of
    /// concurrent registrations with the last free place, exactly one succeeds.
    async fn register_client(
        &self,
        client: NewClient,
        access_token: TokenDigest,
        metadata: RegisteredMetadata,
        initial_access_token: Option<TokenDigest>,
    ) -> StoreResult<RegisterOutcome>;

    /// The client with this client id and its registration; `None` when there is no such
    /// client or it was not registered dynamically.
    async fn registration_of(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<(Client, ClientRegistration)>>;

    /// Replaces the registration access token `old` of the client by `new` (RFC 7592: each
    /// read and update issues a new one), and with `update` its metadata, all at once and only
    /// if `old` is still the one in force; returns whether it was.
    async fn renew_registration(
        &self,
        client_pk: i64,
        old: &TokenDigest,
        new: &TokenDigest,
        update: Option<(ClientUpdate, RegisteredMetadata)>,
    ) -> StoreResult<bool>;

    /// Deletes the client, its grants, tokens, codes and registration, only if `token` is its
    /// registration access token in force; returns whether it did.
    async fn delete_registered_client(
        &self,
        client_pk: i64,
        token: &TokenDigest,
    ) -> StoreResult<bool>;
}
