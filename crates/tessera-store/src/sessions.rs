//! Browser sessions, kept as the digest of their cookie.

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::token::TokenDigest;

use crate::{StoreResult, User};

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

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    async fn insert_session(&self, session: NewSession) -> StoreResult<()>;
    /// The session with this cookie digest, if it exists and has not expired at `now`.
    async fn find_session(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
    ) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()>;
}
