//! Readiness and cleanup, across every aggregate.

use async_trait::async_trait;
use tessera_core::UnixTime;

use crate::StoreResult;

/// Counts from one cleanup batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub grants: u64,
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    /// Authorization codes, device codes, sessions, remembered consents and retired signing
    /// keys.
    pub other: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.grants + self.access_tokens + self.refresh_tokens + self.other
    }

    pub fn add(&mut self, other: Purged) {
        self.grants += other.grants;
        self.access_tokens += other.access_tokens;
        self.refresh_tokens += other.refresh_tokens;
        self.other += other.other;
    }
}

#[async_trait]
pub trait Maintenance: Send + Sync + 'static {
    /// Whether the store answers (readiness).
    async fn ping(&self) -> StoreResult<()>;

    /// Deletes at most `batch` rows of each kind that can no longer matter: revoked tokens
    /// and grants (at once: a revoked token answers exactly as an unknown one), expired
    /// tokens, grants all of whose tokens are gone, expired codes, device codes, sessions and
    /// consents,
    /// signing keys no longer published. Used refresh
    /// tokens and codes stay until they expire, so a replay is still recognised.
    async fn purge(&self, now: UnixTime, batch: u32) -> StoreResult<Purged>;

    /// Finishes every write already handed to the store (each committed and answered), then
    /// closes it: what a server does last when it shuts down. Later operations fail.
    async fn close(&self);
}
