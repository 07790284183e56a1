//! Authorization codes (RFC 6749 section 4.1), kept as digests, redeemed once.

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::code::{CodeRecord, NewCode};
use tessera_core::grant::{NewGrant, NewToken};
use tessera_core::token::TokenDigest;

use crate::StoreResult;

#[async_trait]
pub trait CodeStore: Send + Sync + 'static {
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
}
