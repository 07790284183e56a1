//! Storage traits for Tessera, apart from any backend.
//!
//! Each operation is one atomic unit ("insert this grant and its tokens", "rotate this refresh
//! token once", "revoke this grant"), so no transaction type leaks out and every backend can
//! implement it with a single transaction. Not-found is `Ok(None)`, never an error.
//!
//! # Layout
//! - this module: [`Store`] and its record types.
//! - [`columns`]: the column encoding both SQL backends share.
//! - [`conformance`]: the checks every backend must pass, run by each backend's tests through
//!   [`store_conformance_tests!`].

pub mod columns;
pub mod conformance;

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::client::{Client, ClientType, GrantType, SecretHash};
use tessera_core::code::{CodeRecord, NewCode};
use tessera_core::grant::{NewGrant, NewToken, TokenContext, TokenType};
use tessera_core::token::TokenDigest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken (a client id, a username).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database could not be reached or answered with an error.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

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
    pub created_at: UnixTime,
}

#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    /// An Argon2id PHC string, or `None` for an account that cannot sign in with a password.
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
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
    pub updated_at: UnixTime,
}

/// A browser session: the digest of its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub digest: TokenDigest,
    pub user_id: i64,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A live grant as the user's "authorized tokens" page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSummary {
    pub grant_id: i64,
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// What a refresh-token rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old refresh token is now used, the grant's access tokens revoked, and the new
    /// tokens stored.
    Rotated,
    /// Someone else rotated, revoked or let it expire first: nothing was written.
    NotActive,
}

/// Counts from one cleanup batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub grants: u64,
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    /// Authorization codes and sessions.
    pub other: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.grants + self.access_tokens + self.refresh_tokens + self.other
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the store answers (readiness).
    async fn ping(&self) -> StoreResult<()>;

    async fn insert_client(&self, client: NewClient) -> StoreResult<Client>;
    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn client_by_pk(&self, pk: i64) -> StoreResult<Option<Client>>;
    /// The clients a user registered, newest first.
    async fn clients_of_user(&self, user_id: i64) -> StoreResult<Vec<Client>>;
    /// Returns whether the client existed.
    async fn update_client(&self, pk: i64, update: ClientUpdate) -> StoreResult<bool>;
    /// Deletes a client with its grants, tokens and codes; returns whether it existed.
    async fn delete_client(&self, pk: i64) -> StoreResult<bool>;
    /// Whether any registered client lists `origin` in its allowed origins (CORS preflight,
    /// which carries no client id).
    async fn origin_allowed(&self, origin: &str) -> StoreResult<bool>;

    async fn insert_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;

    async fn insert_session(&self, session: NewSession) -> StoreResult<()>;
    /// The session with this cookie digest, if it exists and has not expired at `now`.
    async fn find_session(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
    ) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()>;

    async fn insert_code(&self, code: NewCode) -> StoreResult<()>;
    async fn find_code(&self, digest: &TokenDigest) -> StoreResult<Option<CodeRecord>>;
    /// Exchanges a code exactly once: only if it is unused and unexpired at `now`, it is
    /// marked used and the grant with its tokens inserted, all in one transaction; returns
    /// the new grant id, or `None` when the code was not redeemable.
    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<Option<i64>>;

    /// A user's live grants (unrevoked, some token unexpired at `now`), newest first.
    async fn grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<Vec<GrantSummary>>;
    /// Revokes a grant only if it belongs to `user_id`; returns whether it changed.
    async fn revoke_grant_of_user(
        &self,
        grant_id: i64,
        user_id: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Inserts a grant with its first access token and, optionally, refresh token; returns
    /// the grant id.
    async fn insert_grant(
        &self,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<i64>;

    /// The token with this digest, joined with its grant, client and user.
    async fn find_token(
        &self,
        token_type: TokenType,
        digest: &TokenDigest,
    ) -> StoreResult<Option<TokenContext>>;

    /// Rotates a refresh token exactly once: only if it is still unused, unrevoked, unexpired
    /// at `now` and its grant unrevoked, it is marked used, every live access token of its
    /// grant revoked, and the new tokens inserted into the same grant. Concurrent calls with
    /// one token: exactly one gets [`RotateOutcome::Rotated`].
    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        now: UnixTime,
        access_token: NewToken,
        refresh_token: NewToken,
    ) -> StoreResult<RotateOutcome>;

    /// Revokes a grant and every token of it, durably before returning. Returns whether the
    /// grant was live before.
    async fn revoke_grant(&self, grant_id: i64, now: UnixTime) -> StoreResult<bool>;

    /// Revokes every live grant of a user; returns how many.
    async fn revoke_grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<u64>;

    /// Revokes every live grant of a client; returns how many.
    async fn revoke_grants_of_client(&self, client_pk: i64, now: UnixTime) -> StoreResult<u64>;

    /// Deletes at most `batch` rows of each kind that can no longer matter: revoked grants,
    /// grants all of whose tokens expired, expired or revoked tokens of live grants, expired
    /// codes and sessions. Used refresh tokens and codes stay until they expire, so a replay
    /// is still recognised.
    async fn purge(&self, now: UnixTime, batch: u32) -> StoreResult<Purged>;
}
