//! The admin API's bearer tokens: made by an operator on the command line, presented as
//! `Authorization: Bearer` to the admin listener, stored as digests only.

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::token::TokenDigest;

use crate::StoreResult;

/// An admin token as stored (never its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub id: i64,
    /// What the operator called it (who or what holds it).
    pub name: String,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

#[async_trait]
pub trait AdminTokenStore: Send + Sync + 'static {
    /// Stores a new token's digest; returns the token as stored.
    async fn insert_admin_token(
        &self,
        name: &str,
        digest: &TokenDigest,
        now: UnixTime,
    ) -> StoreResult<AdminToken>;

    /// The unrevoked token with this digest.
    async fn active_admin_token(&self, digest: &TokenDigest) -> StoreResult<Option<AdminToken>>;

    /// Every token, revoked ones too, oldest first.
    async fn admin_tokens(&self) -> StoreResult<Vec<AdminToken>>;

    /// Revokes a token at `now`; returns whether it was live.
    async fn revoke_admin_token(&self, id: i64, now: UnixTime) -> StoreResult<bool>;
}
