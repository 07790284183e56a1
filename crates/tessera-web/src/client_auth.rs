//! Client authentication for the token, revocation and introspection endpoints.
//!
//! Generated secrets are checked with one SHA-256. Operator-chosen secrets are Argon2id: the
//! first success is verified on a blocking thread (never on the async workers), then
//! remembered in a bounded cache keyed by the client, the registered hash and a digest of the
//! presented secret, so a changed registration never matches an old entry.
//! Every attempt is first checked against the guessing limits (`ratelimit`): over them it is
//! answered 429 before any secret is looked at, right or wrong. Failures are counted.

use std::collections::HashMap;
use std::sync::Mutex;

use std::future::Future;

use tessera_core::client::{Client, CredentialError, SecretCheck};
use tessera_core::grant::{TokenContext, TokenType};
use tessera_core::password;
use tessera_core::token::{self, TokenDigest};
use tessera_store::StoreResult;

use crate::error::ApiError;
use crate::extract::OAuthPost;
use crate::ratelimit::{Attempt, Principal};
use crate::state::AppState;

/// Successful (client, registered hash, presented secret) checks, bounded in size.
pub struct SecretCache {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], ()>>,
}

impl SecretCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(client: &Client, hash: &str, secret: &str) -> [u8; 32] {
        TokenDigest::of(&format!("{}\0{hash}\0{secret}", client.id)).0
    }

    fn contains(&self, key: &[u8; 32]) -> bool {
        self.entries.lock().is_ok_and(|m| m.contains_key(key))
    }

    fn insert(&self, key: [u8; 32]) {
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= self.capacity {
                // Crude but bounded: start over rather than grow.
                m.clear();
            }
            m.insert(key, ());
        }
    }
}

/// Why authentication failed, before it is turned into an answer.
fn failure(description: &'static str) -> ApiError {
    ApiError::invalid_client(description)
}

/// Authenticates the client of a request: Basic or body credentials, or a public client's
/// `client_id` alone.
pub async fn authenticate(state: &AppState, post: &OAuthPost) -> Result<Client, ApiError> {
    let (client, ()) = authenticate_with(state, post, |client_id| async move {
        Ok((state.store.client_by_client_id(&client_id).await?, ()))
    })
    .await?;
    Ok(client)
}

/// Authenticates the client as [`authenticate`] does and finds the token the request names
/// (`crate::handlers::revoke::find`). For one of Tessera's opaque tokens both come from the
/// store in one round trip; any other token (a JWT, an imported one) is looked at only once
/// the client is authenticated.
pub async fn authenticate_and_find(
    state: &AppState,
    post: &OAuthPost,
    token_text: &str,
) -> Result<(Client, Option<TokenContext>), ApiError> {
    match token::recognise(token_text).and_then(TokenType::of_kind) {
        Some(token_type) => {
            let digest = TokenDigest::of(token_text);
            authenticate_with(state, post, |client_id| async move {
                state
                    .store
                    .client_and_token(&client_id, token_type, &digest)
                    .await
            })
            .await
        }
        None => {
            let client = authenticate(state, post).await?;
            let found = crate::handlers::revoke::find(state, token_text).await?;
            Ok((client, found))
        }
    }
}

/// Authentication with the store lookup supplied: `lookup` is given the presented client id
/// once the guessing limits allow the attempt, and answers the client with anything else the
/// request needs from the same round trip.
async fn authenticate_with<T, F, Fut>(
    state: &AppState,
    post: &OAuthPost,
    lookup: F,
) -> Result<(Client, T), ApiError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = StoreResult<(Option<Client>, T)>>,
{
    let now = state.now();
    let presented = match post.credentials() {
        Ok(Some(p)) => p,
        Ok(None) => return Err(failure("Client authentication is required.")),
        Err(e @ CredentialError::MultipleMethods) => return Err(e.to_oauth().into()),
        Err(e) => {
            let attempt = Attempt {
                principal: None,
                address: post.peer,
                known_device: false,
            };
            if let Some(wait) = state.limiter.check(&attempt, now).await {
                return Err(ApiError::too_many_requests(wait));
            }
            state.limiter.record_failure(&attempt, now).await;
            metrics::counter!("tessera_client_authentication_failures_total").increment(1);
            return Err(e.to_oauth().into());
        }
    };
    let attempt = Attempt {
        principal: Some(Principal::Client(&presented.client_id)),
        address: post.peer,
        known_device: false,
    };
    if let Some(wait) = state.limiter.check(&attempt, now).await {
        return Err(ApiError::too_many_requests(wait));
    }
    let (client, extra) = lookup(presented.client_id.clone()).await?;
    let verdict = match &client {
        None => false,
        Some(c) => match c.check_secret(&presented) {
            SecretCheck::Valid => true,
            SecretCheck::Invalid => false,
            SecretCheck::NeedsArgon2 { hash, secret } => {
                verify_argon2(state, c, hash, secret).await?
            }
        },
    };
    match client {
        Some(c) if verdict => {
            if let Some(note) = &post.client_note {
                note.set(&c.client_id);
            }
            Ok((c, extra))
        }
        _ => {
            metrics::counter!("tessera_client_authentication_failures_total").increment(1);
            tracing::info!(
                target: "tessera::audit",
                event = "client_authentication",
                client_id = %presented.client_id,
                method = ?presented.method,
                outcome = "failed",
            );
            state.limiter.record_failure(&attempt, now).await;
            Err(failure("Client authentication failed."))
        }
    }
}

async fn verify_argon2(
    state: &AppState,
    client: &Client,
    hash: String,
    secret: String,
) -> Result<bool, ApiError> {
    let key = SecretCache::key(client, &hash, &secret);
    if state.secret_cache.contains(&key) {
        return Ok(true);
    }
    let ok = verify_argon2_off_runtime(state, secret.clone(), hash.clone()).await?;
    if ok {
        state.secret_cache.insert(key);
        if password::needs_rehash(&hash) {
            upgrade(state, &secret, &hash, Upgrade::Client(client.id)).await;
        }
    }
    Ok(ok)
}

/// Whose hash to upgrade.
enum Upgrade {
    Client(i64),
    User(i64),
}

/// Replaces an imported (Django) hash by Argon2id once the secret is known to match it. A
/// failure here costs nothing but the upgrade: it is logged and tried at the next success.
async fn upgrade(state: &AppState, secret: &str, old: &str, whose: Upgrade) {
    let secret = secret.to_owned();
    let entropy = state.entropy.clone();
    let new = match tokio::task::spawn_blocking(move || password::hash(&secret, &*entropy)).await {
        Ok(Ok(h)) => h,
        _ => {
            tracing::warn!("could not compute an upgraded password hash");
            return;
        }
    };
    let done = match whose {
        Upgrade::Client(pk) => state.store.upgrade_secret_hash(pk, old, &new).await,
        Upgrade::User(id) => state.store.upgrade_password_hash(id, old, &new).await,
    };
    match done {
        Ok(true) => {
            tracing::info!(target: "tessera::audit", event = "hash_upgraded", outcome = "argon2id")
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not store an upgraded password hash"),
    }
}

/// Verifies an Argon2id hash on the blocking pool, at most `argon2_permits` at once: the
/// work takes tens of milliseconds and ~19 MiB and must never stall the async workers.
pub async fn verify_argon2_off_runtime(
    state: &AppState,
    secret: String,
    hash: String,
) -> Result<bool, ApiError> {
    let _permit = state
        .argon2_permits
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || password::verify(&secret, &hash))
        .await
        .map_err(ApiError::internal)
}

/// The outcome of checking a user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Valid {
        user_id: i64,
    },
    Invalid,
    /// Failed, and over the failure limit: wait this many seconds.
    TooMany {
        retry_after: u64,
    },
}

/// Checks a username and password (the password grant and the sign-in page). Over the
/// guessing limits nothing is checked; failures count against the username and the address,
/// and, unless the browser is a known device of that user, against the username everywhere.
pub async fn check_user_password(
    state: &AppState,
    peer: Option<std::net::IpAddr>,
    username: &str,
    secret: &str,
    known_device: bool,
) -> Result<Login, ApiError> {
    let now = state.now();
    let attempt = Attempt {
        principal: Some(Principal::User(username)),
        address: peer,
        known_device,
    };
    if let Some(retry_after) = state.limiter.check(&attempt, now).await {
        return Ok(Login::TooMany { retry_after });
    }
    let user = state.store.user_by_username(username).await?;
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_owned());
    let ok = verify_argon2_off_runtime(state, secret.to_owned(), hash.clone()).await?;
    match user {
        Some(u) if ok && u.password_hash.is_some() => {
            if password::needs_rehash(&hash) {
                upgrade(state, secret, &hash, Upgrade::User(u.id)).await;
            }
            Ok(Login::Valid { user_id: u.id })
        }
        _ => {
            // What was typed may be a password in the wrong field: log a fingerprint that
            // correlates attempts, never the text.
            metrics::counter!("tessera_sign_in_failures_total").increment(1);
            tracing::info!(target: "tessera::audit", event = "login", username_fingerprint = %fingerprint(username), outcome = "failed");
            state.limiter.record_failure(&attempt, now).await;
            Ok(Login::Invalid)
        }
    }
}

/// A short fingerprint of a typed name (the first 48 bits of its SHA-256, hex): the same
/// name always gives the same fingerprint, so failed attempts can be correlated in the log
/// without the log holding what was typed.
pub fn fingerprint(text: &str) -> String {
    TokenDigest::of(text).0[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
