//! The SQL of [`KeyStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;

use super::{Database, Row, SqlConn, op, params};
use crate::{KeyStore, StoreResult, StoredKey};

fn key_from_row(mut r: Row) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        kid: r.take()?,
        algorithm: r.take()?,
        sealed: r.take()?,
        public_jwk: r.take()?,
        created_at: r.take()?,
        retired_at: r.take()?,
        publish_until: r.take()?,
    })
}

async fn all(c: &mut dyn SqlConn) -> StoreResult<Vec<StoredKey>> {
    c.query(
        "SELECT kid, algorithm, private_key, public_jwk, created_at, retired_at, publish_until \
         FROM signing_keys ORDER BY created_at DESC, kid",
        params![],
    )
    .await?
    .into_iter()
    .map(key_from_row)
    .collect()
}

/// Inserts `key`; with `ON CONFLICT DO NOTHING`, a second signing key of one algorithm (the
/// partial unique index) changes nothing instead of failing the transaction.
async fn insert(c: &mut dyn SqlConn, key: &StoredKey) -> StoreResult<bool> {
    let n = c
        .execute(
            "INSERT INTO signing_keys (kid, algorithm, private_key, public_jwk, created_at, \
             retired_at, publish_until) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
            params![
                &key.kid,
                &key.algorithm,
                key.sealed.as_slice(),
                &key.public_jwk,
                key.created_at,
                key.retired_at,
                key.publish_until
            ],
        )
        .await?;
    Ok(n > 0)
}

async fn rotate(
    c: &mut dyn SqlConn,
    key: StoredKey,
    now: UnixTime,
    publish_until: UnixTime,
) -> StoreResult<()> {
    c.execute(
        "UPDATE signing_keys SET retired_at = $2, publish_until = $3 \
         WHERE algorithm = $1 AND retired_at IS NULL",
        params![&key.algorithm, now, publish_until],
    )
    .await?;
    if insert(c, &key).await? {
        Ok(())
    } else {
        Err(crate::StoreError::Conflict("signing key"))
    }
}

async fn delete(c: &mut dyn SqlConn, kid: String) -> StoreResult<bool> {
    Ok(
        c.execute("DELETE FROM signing_keys WHERE kid = $1", params![&kid])
            .await?
            > 0,
    )
}

#[async_trait]
impl<D: Database> KeyStore for D {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.read(op(|c| Box::pin(all(c)))).await
    }

    async fn insert_signing_key(&self, key: StoredKey) -> StoreResult<bool> {
        self.write_one(op(move |c| Box::pin(async move { insert(c, &key).await })))
            .await
    }

    async fn rotate_signing_key(
        &self,
        key: StoredKey,
        now: UnixTime,
        publish_until: UnixTime,
    ) -> StoreResult<()> {
        self.write(op(move |c| Box::pin(rotate(c, key, now, publish_until))))
            .await
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        let kid = kid.to_owned();
        self.write_one(op(move |c| Box::pin(delete(c, kid)))).await
    }
}
