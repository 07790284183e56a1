//! The SQL behind each store operation.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tessera_core::UnixTime;
use tessera_core::client::{Client, ClientType, parse_grant_types};
use tessera_core::code::{CodeRecord, NewCode};
use tessera_core::grant::{NewGrant, NewToken, TokenContext, TokenType};
use tessera_core::pkce::{Challenge, Method};
use tessera_core::token::TokenDigest;
use tessera_store::columns::{
    CLIENT_COLUMNS, secret_columns, secret_from_columns, split_list, token_table,
};
use tessera_store::{
    ClientUpdate, GrantSummary, NewClient, NewSession, NewUser, Purged, RotateOutcome, Session,
    Store, StoreError, StoreResult, User,
};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use crate::{PostgresStore, unavailable};

fn bad_row(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unreadable {what} in the database"))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> StoreResult<T> {
    row.try_get(i).map_err(unavailable)
}

fn client_from_row(row: &Row) -> StoreResult<Client> {
    let kind: String = get(row, 5)?;
    let secret = secret_from_columns(&kind, get(row, 6)?).ok_or_else(|| bad_row("secret"))?;
    let client_type: String = get(row, 3)?;
    let grant_types: String = get(row, 4)?;
    Ok(Client {
        id: get(row, 0)?,
        client_id: get(row, 1)?,
        name: get(row, 2)?,
        client_type: ClientType::parse(&client_type).ok_or_else(|| bad_row("client type"))?,
        grant_types: parse_grant_types(&grant_types).map_err(|_| bad_row("grant types"))?,
        secret,
        redirect_uris: split_list(&get::<String>(row, 7)?),
        post_logout_redirect_uris: split_list(&get::<String>(row, 8)?),
        allowed_origins: split_list(&get::<String>(row, 9)?),
        user_id: get(row, 10)?,
        skip_authorization: get(row, 11)?,
        algorithm: get(row, 12)?,
        created_at: get(row, 13)?,
    })
}

fn user_from_row(row: &Row, at: usize) -> StoreResult<User> {
    Ok(User {
        id: get(row, at)?,
        username: get(row, at + 1)?,
        email: get(row, at + 2)?,
        password_hash: get(row, at + 3)?,
        created_at: get(row, at + 4)?,
    })
}

fn code_from_row(r: &Row) -> StoreResult<CodeRecord> {
    let digest: Vec<u8> = get(r, 0)?;
    let challenge: Option<String> = get(r, 6)?;
    let method: Option<String> = get(r, 7)?;
    let pkce = match (challenge, method) {
        (Some(challenge), Some(m)) => Some(Challenge {
            challenge,
            method: Method::parse(&m).ok_or_else(|| bad_row("PKCE method"))?,
        }),
        _ => None,
    };
    Ok(CodeRecord {
        code: NewCode {
            digest: TokenDigest::from_slice(&digest).ok_or_else(|| bad_row("digest"))?,
            client_pk: get(r, 1)?,
            user_id: get(r, 2)?,
            redirect_uri: get(r, 3)?,
            redirect_uri_explicit: get(r, 4)?,
            scope: get(r, 5)?,
            pkce,
            nonce: get(r, 8)?,
            created_at: get(r, 9)?,
            expires_at: get(r, 10)?,
        },
        used_at: get(r, 11)?,
        grant_id: get(r, 12)?,
    })
}

fn conflict_or(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::Conflict(what)
        } else {
            unavailable(e)
        }
    }
}

async fn insert_token<C: GenericClient>(
    c: &C,
    token_type: TokenType,
    grant_id: i64,
    t: &NewToken,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO {} (digest, grant_id, scope, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        token_table(token_type)
    );
    let stmt = c.prepare_cached(&sql).await.map_err(unavailable)?;
    c.execute(
        &stmt,
        &[
            &&t.digest.as_bytes()[..],
            &grant_id,
            &t.scope,
            &t.issued_at,
            &t.expires_at,
        ],
    )
    .await
    .map_err(unavailable)?;
    Ok(())
}

async fn insert_grant_rows<C: GenericClient>(
    c: &C,
    grant: &NewGrant,
    access_token: &NewToken,
    refresh_token: Option<&NewToken>,
) -> StoreResult<i64> {
    let expires_at = refresh_token.map_or(access_token.expires_at, |r| {
        r.expires_at.max(access_token.expires_at)
    });
    let stmt = c
        .prepare_cached(
            "INSERT INTO grants (client_id, user_id, kind, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .await
        .map_err(unavailable)?;
    let row = c
        .query_one(
            &stmt,
            &[
                &grant.client_pk,
                &grant.user_id,
                &grant.kind.as_str(),
                &grant.scope,
                &grant.created_at,
                &expires_at,
            ],
        )
        .await
        .map_err(unavailable)?;
    let grant_id: i64 = get(&row, 0)?;
    insert_token(c, TokenType::AccessToken, grant_id, access_token).await?;
    if let Some(rt) = refresh_token {
        insert_token(c, TokenType::RefreshToken, grant_id, rt).await?;
    }
    Ok(grant_id)
}

/// Revokes the live grants matched by `filter` (on `$2`) and their tokens at `$1`.
async fn revoke_grants_where<C: GenericClient>(
    c: &C,
    filter: &str,
    now: UnixTime,
    key: i64,
) -> StoreResult<u64> {
    for t in ["access_tokens", "refresh_tokens"] {
        let sql = format!(
            "UPDATE {t} SET revoked_at = $1 WHERE revoked_at IS NULL AND grant_id IN \
             (SELECT id FROM grants WHERE {filter} AND revoked_at IS NULL)"
        );
        let stmt = c.prepare_cached(&sql).await.map_err(unavailable)?;
        c.execute(&stmt, &[&now, &key]).await.map_err(unavailable)?;
    }
    let sql = format!("UPDATE grants SET revoked_at = $1 WHERE {filter} AND revoked_at IS NULL");
    let stmt = c.prepare_cached(&sql).await.map_err(unavailable)?;
    c.execute(&stmt, &[&now, &key]).await.map_err(unavailable)
}

impl PostgresStore {
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(sql).await.map_err(unavailable)?;
        conn.query(&stmt, params).await.map_err(unavailable)
    }

    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<u64> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(sql).await.map_err(unavailable)?;
        conn.execute(&stmt, params).await.map_err(unavailable)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        self.query("SELECT 1", &[]).await.map(|_| ())
    }

    async fn insert_client(&self, new: NewClient) -> StoreResult<Client> {
        let (kind, hash) = secret_columns(&new.secret);
        let grant_types: Vec<&str> = new.grant_types.iter().map(|g| g.as_str()).collect();
        let sql = format!(
            "INSERT INTO clients (client_id, name, client_type, grant_types, secret_kind, \
             secret_hash, redirect_uris, post_logout_redirect_uris, allowed_origins, user_id, \
             skip_authorization, algorithm, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING {CLIENT_COLUMNS}"
        );
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&sql).await.map_err(unavailable)?;
        let row = conn
            .query_one(
                &stmt,
                &[
                    &new.client_id,
                    &new.name,
                    &new.client_type.as_str(),
                    &grant_types.join(","),
                    &kind,
                    &hash,
                    &new.redirect_uris.join(" "),
                    &new.post_logout_redirect_uris.join(" "),
                    &new.allowed_origins.join(" "),
                    &new.user_id,
                    &new.skip_authorization,
                    &new.algorithm,
                    &new.created_at,
                ],
            )
            .await
            .map_err(conflict_or("client id"))?;
        client_from_row(&row)
    }

    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        self.query_opt(&sql, &[&client_id])
            .await?
            .as_ref()
            .map(client_from_row)
            .transpose()
    }

    async fn client_by_pk(&self, pk: i64) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
        self.query_opt(&sql, &[&pk])
            .await?
            .as_ref()
            .map(client_from_row)
            .transpose()
    }

    async fn clients_of_user(&self, user_id: i64) -> StoreResult<Vec<Client>> {
        let sql =
            format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE user_id = $1 ORDER BY id DESC");
        self.query(&sql, &[&user_id])
            .await?
            .iter()
            .map(client_from_row)
            .collect()
    }

    async fn update_client(&self, pk: i64, u: ClientUpdate) -> StoreResult<bool> {
        let grant_types: Vec<&str> = u.grant_types.iter().map(|g| g.as_str()).collect();
        self.execute(
            "UPDATE clients SET name = $2, grant_types = $3, redirect_uris = $4, \
             post_logout_redirect_uris = $5, allowed_origins = $6, algorithm = $7, \
             updated_at = $8 WHERE id = $1",
            &[
                &pk,
                &u.name,
                &grant_types.join(","),
                &u.redirect_uris.join(" "),
                &u.post_logout_redirect_uris.join(" "),
                &u.allowed_origins.join(" "),
                &u.algorithm,
                &u.updated_at,
            ],
        )
        .await
        .map(|n| n > 0)
    }

    async fn delete_client(&self, pk: i64) -> StoreResult<bool> {
        self.execute("DELETE FROM clients WHERE id = $1", &[&pk])
            .await
            .map(|n| n > 0)
    }

    async fn origin_allowed(&self, origin: &str) -> StoreResult<bool> {
        let row = self
            .query_opt(
                "SELECT EXISTS (SELECT 1 FROM clients WHERE position(' ' || $1 || ' ' IN ' ' || allowed_origins || ' ') > 0)",
                &[&origin],
            )
            .await?;
        row.map_or(Ok(false), |r| get(&r, 0))
    }

    async fn insert_user(&self, new: NewUser) -> StoreResult<User> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO users (username, email, password_hash, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING id, username, email, password_hash, created_at",
            )
            .await
            .map_err(unavailable)?;
        let row = conn
            .query_one(
                &stmt,
                &[
                    &new.username,
                    &new.email,
                    &new.password_hash,
                    &new.created_at,
                ],
            )
            .await
            .map_err(conflict_or("username"))?;
        user_from_row(&row, 0)
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.query_opt(
            "SELECT id, username, email, password_hash, created_at FROM users WHERE username = $1",
            &[&username],
        )
        .await?
        .map(|r| user_from_row(&r, 0))
        .transpose()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.query_opt(
            "SELECT id, username, email, password_hash, created_at FROM users WHERE id = $1",
            &[&id],
        )
        .await?
        .map(|r| user_from_row(&r, 0))
        .transpose()
    }

    async fn insert_session(&self, s: NewSession) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sessions (digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&&s.digest.as_bytes()[..], &s.user_id, &s.created_at, &s.expires_at],
        )
        .await
        .map(|_| ())
    }

    async fn find_session(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
    ) -> StoreResult<Option<Session>> {
        self.query_opt(
            "SELECT u.id, u.username, u.email, u.password_hash, u.created_at, s.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.digest = $1 AND s.expires_at > $2",
            &[&&digest.as_bytes()[..], &now],
        )
        .await?
        .map(|r| {
            Ok(Session {
                user: user_from_row(&r, 0)?,
                created_at: get(&r, 5)?,
                expires_at: get(&r, 6)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()> {
        self.execute(
            "DELETE FROM sessions WHERE digest = $1",
            &[&&digest.as_bytes()[..]],
        )
        .await
        .map(|_| ())
    }

    async fn insert_code(&self, code: NewCode) -> StoreResult<()> {
        let challenge = code.pkce.as_ref().map(|p| p.challenge.clone());
        let method = code.pkce.as_ref().map(|p| p.method.as_str());
        self.execute(
            "INSERT INTO authorization_codes (digest, client_id, user_id, redirect_uri, \
             redirect_uri_explicit, scope, code_challenge, code_challenge_method, nonce, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &&code.digest.as_bytes()[..],
                &code.client_pk,
                &code.user_id,
                &code.redirect_uri,
                &code.redirect_uri_explicit,
                &code.scope,
                &challenge,
                &method,
                &code.nonce,
                &code.created_at,
                &code.expires_at,
            ],
        )
        .await
        .map(|_| ())
    }

    async fn find_code(&self, digest: &TokenDigest) -> StoreResult<Option<CodeRecord>> {
        self.query_opt(
            "SELECT digest, client_id, user_id, redirect_uri, redirect_uri_explicit, scope, \
             code_challenge, code_challenge_method, nonce, created_at, expires_at, used_at, \
             grant_id FROM authorization_codes WHERE digest = $1",
            &[&&digest.as_bytes()[..]],
        )
        .await?
        .as_ref()
        .map(code_from_row)
        .transpose()
    }

    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<Option<i64>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(unavailable)?;
        let claim = tx
            .prepare_cached(
                "UPDATE authorization_codes SET used_at = $2 WHERE digest = $1 \
                 AND used_at IS NULL AND expires_at > $2",
            )
            .await
            .map_err(unavailable)?;
        let key = &digest.as_bytes()[..];
        if tx
            .execute(&claim, &[&key, &now])
            .await
            .map_err(unavailable)?
            == 0
        {
            return Ok(None);
        }
        let grant_id =
            insert_grant_rows(&tx, &grant, &access_token, refresh_token.as_ref()).await?;
        let link = tx
            .prepare_cached("UPDATE authorization_codes SET grant_id = $2 WHERE digest = $1")
            .await
            .map_err(unavailable)?;
        tx.execute(&link, &[&key, &grant_id])
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(Some(grant_id))
    }

    async fn grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<Vec<GrantSummary>> {
        self.query(
            "SELECT g.id, c.client_id, c.name, g.scope, g.created_at, g.expires_at \
             FROM grants g JOIN clients c ON c.id = g.client_id \
             WHERE g.user_id = $1 AND g.revoked_at IS NULL AND g.expires_at > $2 ORDER BY g.id DESC",
            &[&user_id, &now],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(GrantSummary {
                grant_id: get(r, 0)?,
                client_id: get(r, 1)?,
                client_name: get(r, 2)?,
                scope: get(r, 3)?,
                created_at: get(r, 4)?,
                expires_at: get(r, 5)?,
            })
        })
        .collect()
    }

    async fn revoke_grant_of_user(
        &self,
        grant_id: i64,
        user_id: i64,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(unavailable)?;
        let owned = tx
            .query_opt(
                "SELECT 1 FROM grants WHERE id = $1 AND user_id = $2 FOR UPDATE",
                &[&grant_id, &user_id],
            )
            .await
            .map_err(unavailable)?
            .is_some();
        if !owned {
            return Ok(false);
        }
        let n = revoke_grants_where(&tx, "id = $2", now, grant_id).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(n > 0)
    }

    async fn insert_grant(
        &self,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<i64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(unavailable)?;
        let id = insert_grant_rows(&tx, &grant, &access_token, refresh_token.as_ref()).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(id)
    }

    async fn find_token(
        &self,
        token_type: TokenType,
        digest: &TokenDigest,
    ) -> StoreResult<Option<TokenContext>> {
        let used = match token_type {
            TokenType::AccessToken => "NULL::BIGINT",
            TokenType::RefreshToken => "t.used_at",
        };
        let sql = format!(
            "SELECT t.scope, t.issued_at, t.expires_at, t.revoked_at, {used}, g.id, g.revoked_at, \
             c.id, c.client_id, c.client_type, u.id, u.username \
             FROM {} t JOIN grants g ON g.id = t.grant_id JOIN clients c ON c.id = g.client_id \
             LEFT JOIN users u ON u.id = g.user_id WHERE t.digest = $1",
            token_table(token_type)
        );
        let Some(r) = self.query_opt(&sql, &[&&digest.as_bytes()[..]]).await? else {
            return Ok(None);
        };
        let client_type: String = get(&r, 9)?;
        Ok(Some(TokenContext {
            token_type,
            digest: *digest,
            scope: get(&r, 0)?,
            issued_at: get(&r, 1)?,
            expires_at: get(&r, 2)?,
            revoked_at: get(&r, 3)?,
            used_at: get(&r, 4)?,
            grant_id: get(&r, 5)?,
            grant_revoked_at: get(&r, 6)?,
            client_pk: get(&r, 7)?,
            client_id: get(&r, 8)?,
            client_type: ClientType::parse(&client_type).ok_or_else(|| bad_row("client type"))?,
            user_id: get(&r, 10)?,
            username: get(&r, 11)?,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        now: UnixTime,
        access_token: NewToken,
        refresh_token: NewToken,
    ) -> StoreResult<RotateOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(unavailable)?;
        let claim = tx
            .prepare_cached(
                "UPDATE refresh_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL \
                 AND revoked_at IS NULL AND expires_at > $2 AND grant_id IN \
                 (SELECT id FROM grants WHERE revoked_at IS NULL) RETURNING grant_id",
            )
            .await
            .map_err(unavailable)?;
        let Some(row) = tx
            .query_opt(&claim, &[&&old.as_bytes()[..], &now])
            .await
            .map_err(unavailable)?
        else {
            return Ok(RotateOutcome::NotActive);
        };
        let grant_id: i64 = get(&row, 0)?;
        let revoke = tx
            .prepare_cached("UPDATE access_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL")
            .await
            .map_err(unavailable)?;
        tx.execute(&revoke, &[&grant_id, &now])
            .await
            .map_err(unavailable)?;
        insert_token(&tx, TokenType::AccessToken, grant_id, &access_token).await?;
        insert_token(&tx, TokenType::RefreshToken, grant_id, &refresh_token).await?;
        let extend = tx
            .prepare_cached(
                "UPDATE grants SET expires_at = GREATEST(expires_at, $2, $3) WHERE id = $1",
            )
            .await
            .map_err(unavailable)?;
        tx.execute(
            &extend,
            &[
                &grant_id,
                &access_token.expires_at,
                &refresh_token.expires_at,
            ],
        )
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(RotateOutcome::Rotated)
    }

    async fn revoke_grant(&self, grant_id: i64, now: UnixTime) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(unavailable)?;
        let n = revoke_grants_where(&tx, "id = $2", now, grant_id).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(n > 0)
    }

    async fn revoke_grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(unavailable)?;
        let n = revoke_grants_where(&tx, "user_id = $2", now, user_id).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(n)
    }

    async fn revoke_grants_of_client(&self, client_pk: i64, now: UnixTime) -> StoreResult<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(unavailable)?;
        let n = revoke_grants_where(&tx, "client_id = $2", now, client_pk).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(n)
    }

    async fn purge(&self, now: UnixTime, batch: u32) -> StoreResult<Purged> {
        let batch_limit = batch;
        let batch = i64::from(batch);
        let mut purged = Purged::default();
        // Each statement is its own short transaction; SKIP LOCKED lets several nodes' janitors
        // work side by side without waiting on each other or on serving.
        for (t, key, count) in [
            ("access_tokens", "digest", &mut purged.access_tokens),
            ("refresh_tokens", "digest", &mut purged.refresh_tokens),
        ] {
            for filter in ["revoked_at <= $1", "expires_at <= $1"] {
                let sql = format!(
                    "DELETE FROM {t} WHERE {key} IN (SELECT {key} FROM {t} WHERE {filter} \
                     LIMIT $2 FOR UPDATE SKIP LOCKED)"
                );
                *count += self.execute(&sql, &[&now, &batch]).await?;
            }
        }
        // While tokens are still being deleted, leave grants for later: finding the grants left
        // without tokens scans every expired grant, which only pays off once per cleanup.
        if purged.access_tokens + purged.refresh_tokens >= u64::from(batch_limit) {
            return Ok(purged);
        }
        for filter in ["revoked_at <= $1", "expires_at <= $1"] {
            let sql = format!(
                "DELETE FROM grants WHERE id IN (SELECT g.id FROM grants g WHERE g.{filter} \
                 AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.grant_id = g.id) \
                 AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = g.id) \
                 LIMIT $2 FOR UPDATE SKIP LOCKED)"
            );
            purged.grants += self.execute(&sql, &[&now, &batch]).await?;
        }
        for t in ["authorization_codes", "sessions"] {
            let sql = format!(
                "DELETE FROM {t} WHERE digest IN (SELECT digest FROM {t} WHERE expires_at <= $1 \
                 LIMIT $2 FOR UPDATE SKIP LOCKED)"
            );
            purged.other += self.execute(&sql, &[&now, &batch]).await?;
        }
        Ok(purged)
    }
}
