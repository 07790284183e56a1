//! Grants and their access and refresh tokens: issuing, finding, rotating, revoking.

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::client::Client;
use tessera_core::grant::{NewGrant, NewToken, Rotation, TokenContext, TokenType};
use tessera_core::token::TokenDigest;

use crate::StoreResult;

/// A live grant as the user's "authorized tokens" page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSummary {
    pub grant_id: i64,
    pub client_id: String,
    pub client_name: String,
    /// The user who granted it; `None` for client credentials.
    pub username: Option<String>,
    /// The grant type it came from (`password`, `authorization-code`, ...).
    pub kind: String,
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

#[async_trait]
pub trait GrantStore: Send + Sync + 'static {
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

    /// The client with this client id and, if the client exists, the token with this digest
    /// (as [`GrantStore::find_token`]), in one round trip: what a request that authenticates
    /// a client and names a token needs first.
    async fn client_and_token(
        &self,
        client_id: &str,
        token_type: TokenType,
        digest: &TokenDigest,
    ) -> StoreResult<(Option<Client>, Option<TokenContext>)>;

    /// Rotates a refresh token exactly once: only if it is still unused, unrevoked, unexpired
    /// at `rotation.now` and its grant unrevoked, it is marked used, every live access token
    /// of its grant revoked, the new tokens inserted into the same grant and the grant's
    /// expiry extended to `rotation.grant_expires_at`. Concurrent calls with one token:
    /// exactly one gets [`RotateOutcome::Rotated`].
    async fn rotate_refresh_token(&self, rotation: Rotation) -> StoreResult<RotateOutcome>;

    /// Revokes a grant and every token of it, durably before returning. Returns whether the
    /// grant was live before.
    async fn revoke_grant(&self, grant_id: i64, now: UnixTime) -> StoreResult<bool>;

    /// Revokes a grant only if it belongs to `user_id`; returns whether it changed.
    async fn revoke_grant_of_user(
        &self,
        grant_id: i64,
        user_id: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Revokes every live grant of a user; returns how many.
    async fn revoke_grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<u64>;

    /// Revokes every live grant of a client; returns how many.
    async fn revoke_grants_of_client(&self, client_pk: i64, now: UnixTime) -> StoreResult<u64>;

    /// Revokes every live grant a user gave one client (logout through that client, or the
    /// user forgetting it); returns how many.
    async fn revoke_grants_of_user_and_client(
        &self,
        user_id: i64,
        client_pk: i64,
        now: UnixTime,
    ) -> StoreResult<u64>;

    /// A user's live grants (unrevoked, some token unexpired at `now`), newest first.
    async fn grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<Vec<GrantSummary>>;

    /// A client's live grants, newest first.
    async fn grants_of_client(
        &self,
        client_pk: i64,
        now: UnixTime,
    ) -> StoreResult<Vec<GrantSummary>>;
}
