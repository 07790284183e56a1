//! The SQL of [`ConsentStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;

use super::{Database, SqlConn, op, params};
use crate::{Consent, ConsentStore, StoreResult};

async fn find(
    c: &mut dyn SqlConn,
    user_id: i64,
    client_pk: i64,
    now: UnixTime,
) -> StoreResult<Option<String>> {
    match c
        .query_opt(
            "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2 AND expires_at > $3",
            params![user_id, client_pk, now],
        )
        .await?
    {
        Some(mut r) => Ok(Some(r.take()?)),
        None => Ok(None),
    }
}

async fn remember(
    c: &mut dyn SqlConn,
    user_id: i64,
    client_pk: i64,
    scope: String,
    now: UnixTime,
    expires_at: UnixTime,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO consents (user_id, client_id, scope, granted_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, client_id) DO UPDATE \
         SET scope = excluded.scope, granted_at = excluded.granted_at, \
         expires_at = excluded.expires_at",
        params![user_id, client_pk, &scope, now, expires_at],
    )
    .await
    .map(|_| ())
}

async fn of_user(c: &mut dyn SqlConn, user_id: i64, now: UnixTime) -> StoreResult<Vec<Consent>> {
    c.query(
        "SELECT c.id, c.client_id, c.name, k.scope, k.granted_at, k.expires_at \
         FROM consents k JOIN clients c ON c.id = k.client_id \
         WHERE k.user_id = $1 AND k.expires_at > $2 ORDER BY k.granted_at DESC, c.id DESC",
        params![user_id, now],
    )
    .await?
    .into_iter()
    .map(|mut r| {
        Ok(Consent {
            client_pk: r.take()?,
            client_id: r.take()?,
            client_name: r.take()?,
            scope: r.take()?,
            granted_at: r.take()?,
            expires_at: r.take()?,
        })
    })
    .collect()
}

async fn forget(c: &mut dyn SqlConn, user_id: i64, client_pk: i64) -> StoreResult<bool> {
    Ok(c.execute(
        "DELETE FROM consents WHERE user_id = $1 AND client_id = $2",
        params![user_id, client_pk],
    )
    .await?
        > 0)
}

#[async_trait]
impl<D: Database> ConsentStore for D {
    async fn consent(
        &self,
        user_id: i64,
        client_pk: i64,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        self.read(op(move |c| Box::pin(find(c, user_id, client_pk, now))))
            .await
    }

    async fn remember_consent(
        &self,
        user_id: i64,
        client_pk: i64,
        scope: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> StoreResult<()> {
        let scope = scope.to_owned();
        self.write_one(op(move |c| {
            Box::pin(remember(c, user_id, client_pk, scope, now, expires_at))
        }))
        .await
    }

    async fn consents_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<Vec<Consent>> {
        self.read(op(move |c| Box::pin(of_user(c, user_id, now))))
            .await
    }

    async fn forget_consent(&self, user_id: i64, client_pk: i64) -> StoreResult<bool> {
        self.write_one(op(move |c| Box::pin(forget(c, user_id, client_pk))))
            .await
    }
}
