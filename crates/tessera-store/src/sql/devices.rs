//! The SQL of [`DeviceStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::device::{DeviceCodeRecord, DeviceStatus, NewDeviceCode};
use tessera_core::grant::{NewGrant, NewToken};
use tessera_core::token::TokenDigest;

use super::grants::redeem_once;
use super::{Database, Row, SqlConn, bad_row, op, params};
use crate::devices::DeviceAnswer;
use crate::{DeviceStore, StoreError, StoreResult};

/// The columns [`record_from_row`] reads, in its order.
macro_rules! device_columns {
    () => {
        "digest, user_code, client_id, scope, poll_interval, created_at, expires_at, \
         last_polled_at, status, user_id, auth_time, used_at, grant_id"
    };
}

fn record_from_row(mut r: Row) -> StoreResult<DeviceCodeRecord> {
    let code = NewDeviceCode {
        digest: r.take()?,
        user_code: r.take()?,
        client_pk: r.take()?,
        scope: r.take()?,
        interval: r.take()?,
        created_at: r.take()?,
        expires_at: r.take()?,
    };
    let last_polled_at = r.take()?;
    let status: String = r.take()?;
    let user_id: Option<i64> = r.take()?;
    let auth_time: Option<i64> = r.take()?;
    let status = match (status.as_str(), user_id, auth_time) {
        ("pending", _, _) => DeviceStatus::Pending,
        ("denied", _, _) => DeviceStatus::Denied,
        ("approved", Some(user_id), Some(auth_time)) => {
            DeviceStatus::Approved { user_id, auth_time }
        }
        _ => return Err(bad_row("device code status")),
    };
    Ok(DeviceCodeRecord {
        code,
        status,
        last_polled_at,
        used_at: r.take()?,
        grant_id: r.take()?,
    })
}

async fn insert(c: &mut dyn SqlConn, code: NewDeviceCode) -> StoreResult<()> {
    c.execute(
        "INSERT INTO device_codes (digest, user_code, client_id, scope, poll_interval, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            &code.digest,
            &code.user_code,
            code.client_pk,
            &code.scope,
            code.interval,
            code.created_at,
            code.expires_at
        ],
    )
    .await
    .map(|_| ())
    .map_err(|e| match e {
        StoreError::Conflict(_) => StoreError::Conflict("user code"),
        e => e,
    })
}

/// A device code by its own digest or by its user code's.
#[derive(Debug, Clone, Copy)]
enum Key {
    Digest(TokenDigest),
    UserCode(TokenDigest),
}

async fn find(c: &mut dyn SqlConn, key: Key) -> StoreResult<Option<DeviceCodeRecord>> {
    let row = match &key {
        Key::Digest(d) => {
            let sql = concat!(
                "SELECT ",
                device_columns!(),
                " FROM device_codes WHERE digest = $1"
            );
            c.query_opt(sql, params![d]).await?
        }
        Key::UserCode(d) => {
            let sql = concat!(
                "SELECT ",
                device_columns!(),
                " FROM device_codes WHERE user_code = $1"
            );
            c.query_opt(sql, params![d]).await?
        }
    };
    row.map(record_from_row).transpose()
}

async fn record_poll(
    c: &mut dyn SqlConn,
    digest: TokenDigest,
    now: UnixTime,
    interval: i64,
) -> StoreResult<()> {
    c.execute(
        "UPDATE device_codes SET last_polled_at = $2, poll_interval = $3 WHERE digest = $1",
        params![&digest, now, interval],
    )
    .await
    .map(|_| ())
}

async fn answer(
    c: &mut dyn SqlConn,
    digest: TokenDigest,
    answer: DeviceAnswer,
    now: UnixTime,
) -> StoreResult<bool> {
    // The conditional UPDATE settles two answers (two tabs, two nodes): one counts.
    let (status, user_id, auth_time) = match answer {
        DeviceAnswer::Approve { user_id, auth_time } => {
            ("approved", Some(user_id), Some(auth_time))
        }
        DeviceAnswer::Deny => ("denied", None, None),
    };
    let n = c
        .execute(
            "UPDATE device_codes SET status = $3, user_id = $4, auth_time = $5, answered_at = $2 \
             WHERE digest = $1 AND status = 'pending' AND used_at IS NULL AND expires_at > $2",
            params![&digest, now, status, user_id, auth_time],
        )
        .await?;
    Ok(n > 0)
}

/// Marks an approved, unused, unexpired device code used; of two polls at once (two nodes),
/// the second finds it used and changes nothing.
const CLAIM: &str = "UPDATE device_codes SET used_at = $2 WHERE digest = $1 \
    AND status = 'approved' AND used_at IS NULL AND expires_at > $2";
/// Records on the code the grant it was exchanged for.
const LINK: &str = "UPDATE device_codes SET grant_id = $2 WHERE digest = $1";

#[async_trait]
impl<D: Database> DeviceStore for D {
    async fn insert_device_code(&self, code: NewDeviceCode) -> StoreResult<()> {
        self.write_one(op(move |c| Box::pin(insert(c, code)))).await
    }

    async fn find_device_code(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<DeviceCodeRecord>> {
        let key = Key::Digest(*digest);
        self.read(op(move |c| Box::pin(find(c, key)))).await
    }

    async fn device_code_by_user_code(
        &self,
        user_code: &TokenDigest,
    ) -> StoreResult<Option<DeviceCodeRecord>> {
        let key = Key::UserCode(*user_code);
        self.read(op(move |c| Box::pin(find(c, key)))).await
    }

    async fn record_device_poll(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        interval: i64,
    ) -> StoreResult<()> {
        let digest = *digest;
        self.write_one(op(move |c| Box::pin(record_poll(c, digest, now, interval))))
            .await
    }

    async fn answer_device_code(
        &self,
        digest: &TokenDigest,
        answer_: DeviceAnswer,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let digest = *digest;
        self.write_one(op(move |c| Box::pin(answer(c, digest, answer_, now))))
            .await
    }

    async fn redeem_device_code(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<Option<i64>> {
        let digest = *digest;
        self.write(op(move |c| {
            Box::pin(redeem_once(
                c,
                CLAIM,
                LINK,
                digest,
                now,
                grant,
                access_token,
                refresh_token,
            ))
        }))
        .await
    }
}
