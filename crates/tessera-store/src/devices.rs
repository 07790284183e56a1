//! Device codes of the device authorization grant (RFC 8628), kept as digests (the device code
//! and the user code alike), answered once, redeemed once.

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::device::{DeviceCodeRecord, NewDeviceCode};
use tessera_core::grant::{NewGrant, NewToken};
use tessera_core::token::TokenDigest;

use crate::StoreResult;

/// The user's answer to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAnswer {
    Approve { user_id: i64, auth_time: UnixTime },
    Deny,
}

#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// Stores a new device code. A user code already stored (live or not yet purged) is
    /// [`StoreError::Conflict`](crate::StoreError::Conflict): the caller draws another, so
    /// no two stored codes share a user code.
    async fn insert_device_code(&self, code: NewDeviceCode) -> StoreResult<()>;

    /// The device code with this digest.
    async fn find_device_code(&self, digest: &TokenDigest)
    -> StoreResult<Option<DeviceCodeRecord>>;

    /// The device code whose user code has this digest.
    async fn device_code_by_user_code(
        &self,
        user_code: &TokenDigest,
    ) -> StoreResult<Option<DeviceCodeRecord>>;

    /// Records a poll at `now` and the device's interval from then on (grown after
    /// `slow_down`).
    async fn record_device_poll(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        interval: i64,
    ) -> StoreResult<()>;

    /// Records the user's answer, only if the code is still pending and unexpired at `now`;
    /// returns whether it did (of two answers, exactly one counts).
    async fn answer_device_code(
        &self,
        digest: &TokenDigest,
        answer: DeviceAnswer,
        now: UnixTime,
    ) -> StoreResult<bool>;

    /// Exchanges an approved device code exactly once: only if it is approved, unused and
    /// unexpired at `now`, it is marked used and the grant with its tokens inserted, in one
    /// transaction; returns the new grant id, or `None` when it was not redeemable.
    async fn redeem_device_code(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<Option<i64>>;
}
