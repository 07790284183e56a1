//! The SQL of [`AdminTokenStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::token::TokenDigest;

use super::{Database, Row, SqlConn, bad_row, op, params};
use crate::{AdminToken, AdminTokenStore, StoreError, StoreResult};

const COLUMNS: &str = "id, name, created_at, revoked_at";

fn from_row(mut r: Row) -> StoreResult<AdminToken> {
    Ok(AdminToken {
        id: r.take()?,
        name: r.take()?,
        created_at: r.take()?,
        revoked_at: r.take()?,
    })
}

async fn insert(
    c: &mut dyn SqlConn,
    name: String,
    digest: TokenDigest,
    now: UnixTime,
) -> StoreResult<AdminToken> {
    let sql = format!(
        "INSERT INTO admin_tokens (name, digest, created_at) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
    );
    let row = c
        .query_opt(&sql, params![&name, &digest, now])
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("admin token"),
            e => e,
        })?;
    from_row(row.ok_or_else(|| bad_row("inserted admin token"))?)
}

async fn active(c: &mut dyn SqlConn, digest: TokenDigest) -> StoreResult<Option<AdminToken>> {
    let sql =
        format!("SELECT {COLUMNS} FROM admin_tokens WHERE digest = $1 AND revoked_at IS NULL");
    c.query_opt(&sql, params![&digest])
        .await?
        .map(from_row)
        .transpose()
}

async fn all(c: &mut dyn SqlConn) -> StoreResult<Vec<AdminToken>> {
    let sql = format!("SELECT {COLUMNS} FROM admin_tokens ORDER BY id");
    c.query(&sql, params![])
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

async fn revoke(c: &mut dyn SqlConn, id: i64, now: UnixTime) -> StoreResult<bool> {
    let n = c
        .execute(
            "UPDATE admin_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            params![id, now],
        )
        .await?;
    Ok(n > 0)
}

#[async_trait]
impl<D: Database> AdminTokenStore for D {
    async fn insert_admin_token(
        &self,
        name: &str,
        digest: &TokenDigest,
        now: UnixTime,
    ) -> StoreResult<AdminToken> {
        let (name, digest) = (name.to_owned(), *digest);
        self.write_one(op(move |c| Box::pin(insert(c, name, digest, now))))
            .await
    }

    async fn active_admin_token(&self, digest: &TokenDigest) -> StoreResult<Option<AdminToken>> {
        let digest = *digest;
        self.read(op(move |c| Box::pin(active(c, digest)))).await
    }

    async fn admin_tokens(&self) -> StoreResult<Vec<AdminToken>> {
        self.read(op(move |c| Box::pin(all(c)))).await
    }

    async fn revoke_admin_token(&self, id: i64, now: UnixTime) -> StoreResult<bool> {
        self.write_one(op(move |c| Box::pin(revoke(c, id, now))))
            .await
    }
}
