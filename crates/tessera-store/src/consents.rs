//! Remembered consent: which scopes a user approved for an application, so the consent
//! page is not shown again for the same or fewer scopes until the approval is forgotten or
//! expires.

use async_trait::async_trait;
use tessera_core::UnixTime;

use crate::StoreResult;

/// A remembered approval, as the user's page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub client_pk: i64,
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted_at: UnixTime,
    pub expires_at: UnixTime,
}

#[async_trait]
pub trait ConsentStore: Send + Sync + 'static {
    /// The scope the user approved for the client, if the approval has not expired at `now`.
    async fn consent(
        &self,
        user_id: i64,
        client_pk: i64,
        now: UnixTime,
    ) -> StoreResult<Option<String>>;

    /// Remembers (or replaces) the user's approval of `scope` for the client.
    async fn remember_consent(
        &self,
        user_id: i64,
        client_pk: i64,
        scope: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> StoreResult<()>;

    /// The user's unexpired approvals, newest first.
    async fn consents_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<Vec<Consent>>;

    /// Forgets the user's approval of the client; returns whether there was one.
    async fn forget_consent(&self, user_id: i64, client_pk: i64) -> StoreResult<bool>;
}
