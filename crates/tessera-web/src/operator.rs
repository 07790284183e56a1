//! What an operator may do, whichever way they ask: the command line (`tessera application
//! update ...`) and the admin API (`PATCH /admin/clients/{client_id}`) both call these, so the
//! rules (the core's registration rules), the store operations and the audit records are the
//! same by construction. Each function is one operator action; the JSON shapes both show are
//! here too.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_core::UnixTime;
use tessera_core::client::Client;
use tessera_core::clock::Clock;
use tessera_core::entropy::Entropy;
use tessera_core::password;
use tessera_core::registration::{
    ApplicationChanges, Registered, Registration, RegistrationError, register, validate_username,
};
use tessera_jose::{Algorithm, Kek};
use tessera_store::{
    ClientUpdate, GrantSummary, NewClient, NewUser, Store, StoreError, StoredKey, User, UserSummary,
};

use crate::keyring::new_key;

/// Who asked, as the audit records say (`via`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    CommandLine,
    /// The admin API, with the name of the admin token presented.
    AdminApi(String),
}

impl Via {
    fn as_str(&self) -> &str {
        match self {
            Self::CommandLine => "cli",
            Self::AdminApi(_) => "admin_api",
        }
    }

    fn token(&self) -> Option<&str> {
        match self {
            Self::CommandLine => None,
            Self::AdminApi(name) => Some(name),
        }
    }
}

/// Why an operator action was refused. Each boundary words it for its users: the command
/// line names its flags, the admin API answers a status and a JSON error.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// No such application, user, grant or key; the text names what was looked for.
    #[error("{0}")]
    NotFound(String),
    /// The core's registration rules refused it.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// Bad input other than a registration: a username, an empty password, a key that still
    /// signs.
    #[error("{0}")]
    Invalid(String),
    /// A client id or username that is taken.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    /// Hashing or key generation failed.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for OperatorError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

pub type OperatorResult<T> = Result<T, OperatorError>;

/// An application to create: the registration and what only an operator may set.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub registration: Registration,
    /// The username whose pages show the application (`createapplication --user`).
    pub owner: Option<String>,
    pub skip_authorization: bool,
}

/// The operator's hands on a store.
#[derive(Clone)]
pub struct Operator {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub via: Via,
}

impl Operator {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        via: Via,
    ) -> Self {
        Self {
            store,
            clock,
            entropy,
            via,
        }
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub async fn user(&self, username: &str) -> OperatorResult<User> {
        self.store
            .user_by_username(username)
            .await?
            .ok_or_else(|| OperatorError::NotFound(format!("no user named {username:?}")))
    }

    pub async fn application(&self, client_id: &str) -> OperatorResult<Client> {
        self.store
            .client_by_client_id(client_id)
            .await?
            .ok_or_else(|| OperatorError::NotFound(format!("no application with id {client_id:?}")))
    }

    /// Every application, with its owner's username where it has one.
    pub async fn applications(&self) -> OperatorResult<Vec<(Client, Option<String>)>> {
        let clients = self.store.all_clients().await?;
        let names = self.usernames().await?;
        Ok(clients
            .into_iter()
            .map(|c| {
                let owner = c.user_id.and_then(|id| names.get(&id).cloned());
                (c, owner)
            })
            .collect())
    }

    async fn usernames(&self) -> OperatorResult<HashMap<i64, String>> {
        Ok(self
            .store
            .all_users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect())
    }

    /// The username of an application's owner.
    pub async fn owner_of(&self, client: &Client) -> OperatorResult<Option<String>> {
        match client.user_id {
            Some(id) => Ok(self.store.user_by_id(id).await?.map(|u| u.username)),
            None => Ok(None),
        }
    }

    /// Registers an application; returns it and the clear secret to show once.
    pub async fn create_application(
        &self,
        new: NewApplication,
    ) -> OperatorResult<(Client, Option<String>)> {
        // `register` checks every rule first; a chosen secret then costs an Argon2id hash, so
        // it runs off the runtime's worker threads.
        let registration = new.registration.clone();
        let entropy = self.entropy.clone();
        let registered = tokio::task::spawn_blocking(move || register(&registration, &*entropy))
            .await
            .map_err(|e| OperatorError::Internal(format!("the hashing task failed: {e}")))??;
        let owner = match &new.owner {
            Some(name) => Some(self.user(name).await?),
            None => None,
        };
        let Registered {
            client_id,
            name,
            secret,
            secret_text,
        } = registered;
        let r = new.registration;
        let client = self
            .store
            .insert_client(NewClient {
                client_id: client_id.clone(),
                name,
                client_type: r.client_type,
                grant_types: r.grant_types,
                secret,
                redirect_uris: r.redirect_uris,
                post_logout_redirect_uris: r.post_logout_redirect_uris,
                allowed_origins: r.allowed_origins,
                user_id: owner.as_ref().map(|u| u.id),
                skip_authorization: new.skip_authorization,
                algorithm: r.algorithm,
                access_token_format: r.access_token_format,
                logout_revokes_grants: r.logout_revokes_grants,
                allowed_scopes: r.allowed_scopes,
                introspect_any: r.introspect_any,
                created_at: self.now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => OperatorError::Conflict(format!(
                    "an application with id {client_id:?} already exists"
                )),
                other => other.into(),
            })?;
        tracing::info!(
            target: "tessera::audit",
            event = "application_created",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            client_id = %client.client_id,
            owner = owner.as_ref().map(|u| u.username.as_str()),
        );
        Ok((client, secret_text))
    }

    /// Changes an application, under the same rules as registering it.
    pub async fn update_application(
        &self,
        client_id: &str,
        changes: &ApplicationChanges,
    ) -> OperatorResult<Client> {
        let client = self.application(client_id).await?;
        let registration = changes.apply(&client);
        registration.check()?;
        let name = registration
            .name
            .clone()
            .unwrap_or_else(|| client.name.clone());
        let found = self
            .store
            .update_client(
                client.id,
                ClientUpdate::from_registration(registration, name, self.now()),
            )
            .await?;
        if !found {
            return Err(OperatorError::NotFound(format!(
                "no application with id {client_id:?}"
            )));
        }
        tracing::info!(
            target: "tessera::audit",
            event = "application_changed",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            client_id = %client.client_id,
        );
        self.application(client_id).await
    }

    /// Deletes an application with every grant, token and code it had, at once.
    pub async fn delete_application(&self, client_id: &str) -> OperatorResult<()> {
        let client = self.application(client_id).await?;
        self.store.delete_client(client.id).await?;
        tracing::info!(
            target: "tessera::audit",
            event = "application_deleted",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            client_id = %client.client_id,
        );
        Ok(())
    }

    /// Hashes a password off the runtime's worker threads.
    async fn hash_password(&self, password: String) -> OperatorResult<String> {
        if password.is_empty() {
            return Err(OperatorError::Invalid("the password is empty".into()));
        }
        let entropy = self.entropy.clone();
        tokio::task::spawn_blocking(move || password::hash(&password, &*entropy))
            .await
            .map_err(|e| OperatorError::Internal(format!("the hashing task failed: {e}")))?
            .map_err(OperatorError::Internal)
    }

    /// Creates a user; without a password they cannot sign in until one is set.
    pub async fn create_user(
        &self,
        username: &str,
        email: Option<String>,
        password: Option<String>,
    ) -> OperatorResult<User> {
        validate_username(username).map_err(OperatorError::Invalid)?;
        let password_hash = match password {
            Some(p) => Some(self.hash_password(p).await?),
            None => None,
        };
        let user = self
            .store
            .insert_user(NewUser {
                username: username.to_owned(),
                email: email.unwrap_or_default(),
                password_hash,
                created_at: self.now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    OperatorError::Conflict(format!("a user named {username:?} already exists"))
                }
                other => other.into(),
            })?;
        tracing::info!(
            target: "tessera::audit",
            event = "user_created",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            user = %user.username,
            has_password = user.password_hash.is_some(),
        );
        Ok(user)
    }

    pub async fn users(&self) -> OperatorResult<Vec<UserSummary>> {
        Ok(self.store.all_users().await?)
    }

    /// Sets a user's password (the way out for a user made without one).
    pub async fn set_password(&self, username: &str, password: String) -> OperatorResult<()> {
        let user = self.user(username).await?;
        let hash = self.hash_password(password).await?;
        if !self.store.set_password_hash(user.id, &hash).await? {
            return Err(OperatorError::NotFound(format!(
                "no user named {username:?}"
            )));
        }
        tracing::info!(
            target: "tessera::audit",
            event = "password_set",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            user = %user.username,
        );
        Ok(())
    }

    /// Deletes a user with their grants, tokens, sessions and approvals; their applications
    /// stay, without an owner.
    pub async fn delete_user(&self, username: &str) -> OperatorResult<()> {
        let user = self.user(username).await?;
        self.store.delete_user(user.id).await?;
        tracing::info!(
            target: "tessera::audit",
            event = "user_deleted",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            user = %user.username,
        );
        Ok(())
    }

    pub async fn grants_of_user(&self, username: &str) -> OperatorResult<Vec<GrantSummary>> {
        let user = self.user(username).await?;
        Ok(self.store.grants_of_user(user.id, self.now()).await?)
    }

    pub async fn grants_of_application(
        &self,
        client_id: &str,
    ) -> OperatorResult<Vec<GrantSummary>> {
        let client = self.application(client_id).await?;
        Ok(self.store.grants_of_client(client.id, self.now()).await?)
    }

    /// Revokes every grant of a user; returns how many.
    pub async fn revoke_grants_of_user(&self, username: &str) -> OperatorResult<u64> {
        let user = self.user(username).await?;
        let n = self
            .store
            .revoke_grants_of_user(user.id, self.now())
            .await?;
        self.audit_bulk_revocation("user", username, n);
        Ok(n)
    }

    /// Revokes every grant of an application; returns how many.
    pub async fn revoke_grants_of_application(&self, client_id: &str) -> OperatorResult<u64> {
        let client = self.application(client_id).await?;
        let n = self
            .store
            .revoke_grants_of_client(client.id, self.now())
            .await?;
        self.audit_bulk_revocation("client_id", client_id, n);
        Ok(n)
    }

    fn audit_bulk_revocation(&self, kind: &str, name: &str, grants: u64) {
        metrics::counter!("tessera_revocations_total", "outcome" => "revoked", "by" => "operator")
            .increment(grants);
        tracing::info!(
            target: "tessera::audit",
            event = "bulk_revocation",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            kind,
            target = %name,
            grants,
            outcome = "revoked",
        );
    }

    /// Revokes one grant by its id; returns whether it was live.
    pub async fn revoke_grant(&self, grant_id: i64) -> OperatorResult<bool> {
        let revoked = self.store.revoke_grant(grant_id, self.now()).await?;
        if revoked {
            metrics::counter!("tessera_revocations_total", "outcome" => "revoked", "by" => "operator")
                .increment(1);
        }
        tracing::info!(
            target: "tessera::audit",
            event = "revocation",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            grant_id,
            kind = "grant",
            outcome = if revoked { "revoked" } else { "not_live" },
        );
        Ok(revoked)
    }

    pub async fn keys(&self) -> OperatorResult<Vec<StoredKey>> {
        Ok(self.store.signing_keys().await?)
    }

    /// Makes a new signing key for each algorithm (those named, or every algorithm that has
    /// a signing key, RS256 at least); the previous keys stay published until
    /// `publish_until`. Returns the new keys.
    pub async fn rotate_keys(
        &self,
        kek: Arc<Kek>,
        algorithms: &[Algorithm],
        publish_until: UnixTime,
    ) -> OperatorResult<Vec<StoredKey>> {
        let mut chosen = algorithms.to_vec();
        if let Some(Algorithm::HS256) = chosen.iter().find(|a| **a == Algorithm::HS256) {
            return Err(RegistrationError::Hs256.into());
        }
        if chosen.is_empty() {
            for k in self.store.signing_keys().await? {
                if let Some(alg) = Algorithm::parse(&k.algorithm)
                    && k.is_signing()
                    && !chosen.contains(&alg)
                {
                    chosen.push(alg);
                }
            }
        }
        if chosen.is_empty() {
            chosen.push(Algorithm::RS256);
        }
        let now = self.now();
        let mut made = Vec::new();
        for alg in chosen {
            let (kek, entropy) = (kek.clone(), self.entropy.clone());
            // RSA generation takes a noticeable time: off the runtime's worker threads.
            let (stored, _) =
                tokio::task::spawn_blocking(move || new_key(alg, &kek, &*entropy, now))
                    .await
                    .map_err(|e| OperatorError::Internal(format!("key generation failed: {e}")))?
                    .map_err(|e| OperatorError::Internal(e.to_string()))?;
            self.store
                .rotate_signing_key(stored.clone(), now, publish_until)
                .await?;
            tracing::info!(
                target: "tessera::audit",
                event = "key_rotated",
                via = self.via.as_str(),
                admin_token = self.via.token(),
                kid = %stored.kid,
                algorithm = alg.as_str(),
            );
            made.push(stored);
        }
        Ok(made)
    }

    /// Removes a key that no longer signs, at once.
    pub async fn retire_key(&self, kid: &str) -> OperatorResult<()> {
        let keys = self.store.signing_keys().await?;
        let Some(key) = keys.iter().find(|k| k.kid == kid) else {
            return Err(OperatorError::NotFound(format!("no signing key {kid:?}")));
        };
        if key.is_signing() {
            return Err(OperatorError::Invalid(format!(
                "{kid} still signs: rotate the {} key first",
                key.algorithm
            )));
        }
        self.store.delete_signing_key(kid).await?;
        tracing::info!(
            target: "tessera::audit",
            event = "key_retired",
            via = self.via.as_str(),
            admin_token = self.via.token(),
            kid = %kid,
        );
        Ok(())
    }
}

/// An application as the command line's `--json` and the admin API show it: everything but
/// the secret, which is never kept in clear.
pub fn application_json(client: &Client, owner: Option<&str>) -> Value {
    json!({
        "client_id": client.client_id,
        "name": client.name,
        "client_type": client.client_type.as_str(),
        "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "allowed_origins": client.allowed_origins,
        "owner": owner,
        "skip_authorization": client.skip_authorization,
        "algorithm": client.algorithm.as_deref().unwrap_or("RS256"),
        "access_token_format": client.access_token_format.as_str(),
        "logout_revokes_grants": client.logout_revokes_grants,
        "allowed_scopes": client.allowed_scopes,
        "introspection": if client.introspect_any { "all" } else { "own" },
        "created_at": client.created_at,
    })
}

pub fn user_json(user: &UserSummary) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "has_password": user.has_password,
        "created_at": user.created_at,
    })
}

pub fn grant_json(grant: &GrantSummary) -> Value {
    json!({
        "grant_id": grant.grant_id,
        "client_id": grant.client_id,
        "client_name": grant.client_name,
        "user": grant.username,
        "kind": grant.kind,
        "scope": grant.scope,
        "created_at": grant.created_at,
        "expires_at": grant.expires_at,
    })
}

/// `signing` (signs new tokens), `published` (retired, still in the JWKS) or `expired`.
pub fn key_status(key: &StoredKey, now: UnixTime) -> &'static str {
    if key.is_signing() {
        "signing"
    } else if key.is_published(now) {
        "published"
    } else {
        "expired"
    }
}

pub fn key_json(key: &StoredKey, now: UnixTime) -> Value {
    json!({
        "kid": key.kid,
        "algorithm": key.algorithm,
        "status": key_status(key, now),
        "created_at": key.created_at,
        "retired_at": key.retired_at,
        "publish_until": key.publish_until,
    })
}
