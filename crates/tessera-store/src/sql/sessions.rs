//! The SQL of [`SessionStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::token::TokenDigest;

use super::users::{self, user_from_row};
use super::{Database, SqlConn, op, params};
use crate::{NewSession, Session, SessionStore, StoreResult};

async fn insert(c: &mut dyn SqlConn, s: NewSession) -> StoreResult<()> {
    c.execute(
        "INSERT INTO sessions (digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        params![&s.digest, s.user_id, s.created_at, s.expires_at],
    )
    .await
    .map(|_| ())
}

async fn find(
    c: &mut dyn SqlConn,
    digest: TokenDigest,
    now: UnixTime,
) -> StoreResult<Option<Session>> {
    let sql = format!(
        "SELECT {}, s.created_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.digest = $1 AND s.expires_at > $2",
        users::COLUMNS
    );
    let Some(mut r) = c.query_opt(&sql, params![&digest, now]).await? else {
        return Ok(None);
    };
    Ok(Some(Session {
        user: user_from_row(&mut r)?,
        created_at: r.take()?,
        expires_at: r.take()?,
    }))
}

async fn delete(c: &mut dyn SqlConn, digest: TokenDigest) -> StoreResult<()> {
    c.execute("DELETE FROM sessions WHERE digest = $1", params![&digest])
        .await
        .map(|_| ())
}

#[async_trait]
impl<D: Database> SessionStore for D {
    async fn insert_session(&self, session: NewSession) -> StoreResult<()> {
        self.write_one(op(move |c| Box::pin(insert(c, session))))
            .await
    }

    async fn find_session(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
    ) -> StoreResult<Option<Session>> {
        let digest = *digest;
        self.read(op(move |c| Box::pin(find(c, digest, now)))).await
    }

    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()> {
        let digest = *digest;
        self.write_one(op(move |c| Box::pin(delete(c, digest))))
            .await
    }
}
