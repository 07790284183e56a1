//! The SQL behind each store operation.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use tessera_core::UnixTime;
use tessera_core::client::{Client, ClientType, GrantType, parse_grant_types};
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

use crate::{SqliteStore, unavailable};

fn bad_row(what: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnName(format!("unreadable {what}"))
}

fn client_from_row(row: &Row<'_>) -> rusqlite::Result<Client> {
    let kind: String = row.get(5)?;
    let secret = secret_from_columns(&kind, row.get(6)?).ok_or_else(|| bad_row("secret"))?;
    let client_type: String = row.get(3)?;
    let grant_types: String = row.get(4)?;
    Ok(Client {
        id: row.get(0)?,
        client_id: row.get(1)?,
        name: row.get(2)?,
        client_type: ClientType::parse(&client_type).ok_or_else(|| bad_row("client type"))?,
        grant_types: parse_grant_types(&grant_types).map_err(|_| bad_row("grant types"))?,
        secret,
        redirect_uris: split_list(&row.get::<_, String>(7)?),
        post_logout_redirect_uris: split_list(&row.get::<_, String>(8)?),
        allowed_origins: split_list(&row.get::<_, String>(9)?),
        user_id: row.get(10)?,
        skip_authorization: row.get(11)?,
        algorithm: row.get(12)?,
        created_at: row.get(13)?,
    })
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        email: row.get(2)?,
        password_hash: row.get(3)?,
        created_at: row.get(4)?,
    })
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
fn conflict_or(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(what),
        _ => unavailable(e),
    }
}

fn insert_token(
    conn: &Connection,
    token_type: TokenType,
    grant_id: i64,
    t: &NewToken,
) -> rusqlite::Result<()> {
    let sql = format!(
        "INSERT INTO {} (digest, grant_id, scope, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        token_table(token_type)
    );
    conn.prepare_cached(&sql)?.execute(params![
        &t.digest.as_bytes()[..],
        grant_id,
        t.scope,
        t.issued_at,
        t.expires_at
    ])?;
    Ok(())
}

/// Inserts a grant and its first tokens; returns the grant id.
fn insert_grant_rows(
    conn: &Connection,
    grant: &NewGrant,
    access_token: &NewToken,
    refresh_token: Option<&NewToken>,
) -> rusqlite::Result<i64> {
    let expires_at = refresh_token.map_or(access_token.expires_at, |r| {
        r.expires_at.max(access_token.expires_at)
    });
    conn.prepare_cached(
        "INSERT INTO grants (client_id, user_id, kind, scope, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        grant.client_pk,
        grant.user_id,
        grant.kind.as_str(),
        grant.scope,
        grant.created_at,
        expires_at
    ])?;
    let grant_id = conn.last_insert_rowid();
    insert_token(conn, TokenType::AccessToken, grant_id, access_token)?;
    if let Some(rt) = refresh_token {
        insert_token(conn, TokenType::RefreshToken, grant_id, rt)?;
    }
    Ok(grant_id)
}

fn code_from_row(r: &Row<'_>) -> rusqlite::Result<CodeRecord> {
    let digest: Vec<u8> = r.get(0)?;
    let challenge: Option<String> = r.get(6)?;
    let method: Option<String> = r.get(7)?;
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
            client_pk: r.get(1)?,
            user_id: r.get(2)?,
            redirect_uri: r.get(3)?,
            redirect_uri_explicit: r.get(4)?,
            scope: r.get(5)?,
            pkce,
            nonce: r.get(8)?,
            created_at: r.get(9)?,
            expires_at: r.get(10)?,
        },
        used_at: r.get(11)?,
        grant_id: r.get(12)?,
    })
}

/// Marks every live token of the grants matched by `grant_filter` revoked at `?1`.
fn revoke_tokens_where(
    conn: &Connection,
    grant_filter: &str,
    now: UnixTime,
    key: i64,
) -> rusqlite::Result<()> {
    for t in ["access_tokens", "refresh_tokens"] {
        let sql = format!(
            "UPDATE {t} SET revoked_at = ?1 WHERE revoked_at IS NULL AND grant_id IN \
             (SELECT id FROM grants WHERE {grant_filter} AND revoked_at IS NULL)"
        );
        conn.prepare_cached(&sql)?.execute(params![now, key])?;
    }
    Ok(())
}

fn revoke_grants_where(
    conn: &Connection,
    grant_filter: &str,
    now: UnixTime,
    key: i64,
) -> rusqlite::Result<u64> {
    revoke_tokens_where(conn, grant_filter, now, key)?;
    let sql =
        format!("UPDATE grants SET revoked_at = ?1 WHERE {grant_filter} AND revoked_at IS NULL");
    Ok(conn.prepare_cached(&sql)?.execute(params![now, key])? as u64)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    async fn insert_client(&self, new: NewClient) -> StoreResult<Client> {
        self.write(move |conn| {
            let (kind, hash) = secret_columns(&new.secret);
            let grant_types: Vec<&str> = new
                .grant_types
                .iter()
                .map(|g: &GrantType| g.as_str())
                .collect();
            conn.prepare_cached(
                "INSERT INTO clients (client_id, name, client_type, grant_types, secret_kind, \
                 secret_hash, redirect_uris, post_logout_redirect_uris, allowed_origins, user_id, \
                 skip_authorization, algorithm, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    new.client_id,
                    new.name,
                    new.client_type.as_str(),
                    grant_types.join(","),
                    kind,
                    hash,
                    new.redirect_uris.join(" "),
                    new.post_logout_redirect_uris.join(" "),
                    new.allowed_origins.join(" "),
                    new.user_id,
                    new.skip_authorization,
                    new.algorithm,
                    new.created_at,
                ])
            })
            .map_err(conflict_or("client id"))?;
            let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?1");
            conn.query_row(&sql, [conn.last_insert_rowid()], client_from_row)
                .map_err(unavailable)
        })
        .await
    }

    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let client_id = client_id.to_owned();
        self.read(move |c| {
            let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = ?1");
            c.prepare_cached(&sql)?
                .query_row([client_id], client_from_row)
                .optional()
        })
        .await
    }

    async fn client_by_pk(&self, pk: i64) -> StoreResult<Option<Client>> {
        self.read(move |c| {
            let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?1");
            c.prepare_cached(&sql)?
                .query_row([pk], client_from_row)
                .optional()
        })
        .await
    }

    async fn clients_of_user(&self, user_id: i64) -> StoreResult<Vec<Client>> {
        self.read(move |c| {
            let sql =
                format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE user_id = ?1 ORDER BY id DESC");
            c.prepare_cached(&sql)?
                .query_map([user_id], client_from_row)?
                .collect()
        })
        .await
    }

    async fn update_client(&self, pk: i64, u: ClientUpdate) -> StoreResult<bool> {
        self.write(move |conn| {
            let grant_types: Vec<&str> = u.grant_types.iter().map(|g| g.as_str()).collect();
            conn.prepare_cached(
                "UPDATE clients SET name = ?2, grant_types = ?3, redirect_uris = ?4, \
                 post_logout_redirect_uris = ?5, allowed_origins = ?6, algorithm = ?7, \
                 updated_at = ?8 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    pk,
                    u.name,
                    grant_types.join(","),
                    u.redirect_uris.join(" "),
                    u.post_logout_redirect_uris.join(" "),
                    u.allowed_origins.join(" "),
                    u.algorithm,
                    u.updated_at
                ])
            })
            .map(|n| n > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn delete_client(&self, pk: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM clients WHERE id = ?1")
                .and_then(|mut s| s.execute([pk]))
                .map(|n| n > 0)
                .map_err(unavailable)
        })
        .await
    }

    async fn origin_allowed(&self, origin: &str) -> StoreResult<bool> {
        let origin = origin.to_owned();
        self.read(move |c| {
            // Lists are space-separated: pad both sides so only whole entries match.
            c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM clients WHERE instr(' ' || allowed_origins || ' ', ' ' || ?1 || ' ') > 0)",
            )?
            .query_row([origin], |r| r.get(0))
        })
        .await
    }

    async fn insert_user(&self, new: NewUser) -> StoreResult<User> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO users (username, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![new.username, new.email, new.password_hash, new.created_at]))
            .map_err(conflict_or("username"))?;
            Ok(User {
                id: conn.last_insert_rowid(),
                username: new.username,
                email: new.email,
                password_hash: new.password_hash,
                created_at: new.created_at,
            })
        })
        .await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT id, username, email, password_hash, created_at FROM users WHERE username = ?1",
            )?
            .query_row([username], user_from_row)
            .optional()
        })
        .await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT id, username, email, password_hash, created_at FROM users WHERE id = ?1",
            )?
            .query_row([id], user_from_row)
            .optional()
        })
        .await
    }

    async fn insert_session(&self, session: NewSession) -> StoreResult<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO sessions (digest, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    &session.digest.as_bytes()[..],
                    session.user_id,
                    session.created_at,
                    session.expires_at
                ])
            })
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }

    async fn find_session(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
    ) -> StoreResult<Option<Session>> {
        let digest = *digest;
        self.read(move |c| {
            c.prepare_cached(
                "SELECT u.id, u.username, u.email, u.password_hash, u.created_at, s.created_at, \
                 s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.digest = ?1 AND s.expires_at > ?2",
            )?
            .query_row(params![&digest.as_bytes()[..], now], |r| {
                Ok(Session {
                    user: user_from_row(r)?,
                    created_at: r.get(5)?,
                    expires_at: r.get(6)?,
                })
            })
            .optional()
        })
        .await
    }

    async fn delete_session(&self, digest: &TokenDigest) -> StoreResult<()> {
        let digest = *digest;
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM sessions WHERE digest = ?1")
                .and_then(|mut s| s.execute([&digest.as_bytes()[..]]))
                .map(|_| ())
                .map_err(unavailable)
        })
        .await
    }

    async fn insert_code(&self, code: NewCode) -> StoreResult<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO authorization_codes (digest, client_id, user_id, redirect_uri, \
                 redirect_uri_explicit, scope, code_challenge, code_challenge_method, nonce, \
                 created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    &code.digest.as_bytes()[..],
                    code.client_pk,
                    code.user_id,
                    code.redirect_uri,
                    code.redirect_uri_explicit,
                    code.scope,
                    code.pkce.as_ref().map(|p| p.challenge.clone()),
                    code.pkce.as_ref().map(|p| p.method.as_str()),
                    code.nonce,
                    code.created_at,
                    code.expires_at
                ])
            })
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }

    async fn find_code(&self, digest: &TokenDigest) -> StoreResult<Option<CodeRecord>> {
        let digest = *digest;
        self.read(move |c| {
            c.prepare_cached(
                "SELECT digest, client_id, user_id, redirect_uri, redirect_uri_explicit, scope, \
                 code_challenge, code_challenge_method, nonce, created_at, expires_at, used_at, \
                 grant_id FROM authorization_codes WHERE digest = ?1",
            )?
            .query_row([&digest.as_bytes()[..]], code_from_row)
            .optional()
        })
        .await
    }

    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<Option<i64>> {
        let digest = *digest;
        self.write(move |conn| {
            let run = || -> rusqlite::Result<Option<i64>> {
                let claimed = conn
                    .prepare_cached(
                        "UPDATE authorization_codes SET used_at = ?2 WHERE digest = ?1 \
                         AND used_at IS NULL AND expires_at > ?2",
                    )?
                    .execute(params![&digest.as_bytes()[..], now])?;
                if claimed == 0 {
                    return Ok(None);
                }
                let grant_id =
                    insert_grant_rows(conn, &grant, &access_token, refresh_token.as_ref())?;
                conn.prepare_cached(
                    "UPDATE authorization_codes SET grant_id = ?2 WHERE digest = ?1",
                )?
                .execute(params![&digest.as_bytes()[..], grant_id])?;
                Ok(Some(grant_id))
            };
            run().map_err(unavailable)
        })
        .await
    }

    async fn grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<Vec<GrantSummary>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT g.id, c.client_id, c.name, g.scope, g.created_at, g.expires_at \
                 FROM grants g JOIN clients c ON c.id = g.client_id \
                 WHERE g.user_id = ?1 AND g.revoked_at IS NULL AND g.expires_at > ?2 \
                 ORDER BY g.id DESC",
            )?
            .query_map(params![user_id, now], |r| {
                Ok(GrantSummary {
                    grant_id: r.get(0)?,
                    client_id: r.get(1)?,
                    client_name: r.get(2)?,
                    scope: r.get(3)?,
                    created_at: r.get(4)?,
                    expires_at: r.get(5)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn revoke_grant_of_user(
        &self,
        grant_id: i64,
        user_id: i64,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.write(move |conn| {
            let owned: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM grants WHERE id = ?1 AND user_id = ?2)",
                )
                .and_then(|mut s| s.query_row(params![grant_id, user_id], |r| r.get(0)))
                .map_err(unavailable)?;
            if !owned {
                return Ok(false);
            }
            revoke_grants_where(conn, "id = ?2", now, grant_id)
                .map(|n| n > 0)
                .map_err(unavailable)
        })
        .await
    }

    async fn insert_grant(
        &self,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<i64> {
        self.write(move |conn| {
            insert_grant_rows(conn, &grant, &access_token, refresh_token.as_ref())
                .map_err(unavailable)
        })
        .await
    }

    async fn find_token(
        &self,
        token_type: TokenType,
        digest: &TokenDigest,
    ) -> StoreResult<Option<TokenContext>> {
        let digest = *digest;
        self.read(move |c| {
            let used = match token_type {
                TokenType::AccessToken => "NULL",
                TokenType::RefreshToken => "t.used_at",
            };
            let sql = format!(
                "SELECT t.scope, t.issued_at, t.expires_at, t.revoked_at, {used}, g.id, \
                 g.revoked_at, c.id, c.client_id, c.client_type, u.id, u.username \
                 FROM {} t JOIN grants g ON g.id = t.grant_id JOIN clients c ON c.id = g.client_id \
                 LEFT JOIN users u ON u.id = g.user_id WHERE t.digest = ?1",
                token_table(token_type)
            );
            c.prepare_cached(&sql)?
                .query_row([&digest.as_bytes()[..]], |r| {
                    let client_type: String = r.get(9)?;
                    Ok(TokenContext {
                        token_type,
                        digest,
                        scope: r.get(0)?,
                        issued_at: r.get(1)?,
                        expires_at: r.get(2)?,
                        revoked_at: r.get(3)?,
                        used_at: r.get(4)?,
                        grant_id: r.get(5)?,
                        grant_revoked_at: r.get(6)?,
                        client_pk: r.get(7)?,
                        client_id: r.get(8)?,
                        client_type: ClientType::parse(&client_type)
                            .ok_or_else(|| bad_row("client type"))?,
                        user_id: r.get(10)?,
                        username: r.get(11)?,
                    })
                })
                .optional()
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        old: &TokenDigest,
        now: UnixTime,
        access_token: NewToken,
        refresh_token: NewToken,
    ) -> StoreResult<RotateOutcome> {
        let old = *old;
        self.write(move |conn| {
            let run = || -> rusqlite::Result<RotateOutcome> {
                let grant_id: Option<i64> = conn
                    .prepare_cached(
                        "UPDATE refresh_tokens SET used_at = ?2 WHERE digest = ?1 AND used_at IS NULL \
                         AND revoked_at IS NULL AND expires_at > ?2 AND grant_id IN \
                         (SELECT id FROM grants WHERE revoked_at IS NULL) RETURNING grant_id",
                    )?
                    .query_row(params![&old.as_bytes()[..], now], |r| r.get(0))
                    .optional()?;
                let Some(grant_id) = grant_id else {
                    return Ok(RotateOutcome::NotActive);
                };
                conn.prepare_cached(
                    "UPDATE access_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL",
                )?
                .execute(params![grant_id, now])?;
                insert_token(conn, TokenType::AccessToken, grant_id, &access_token)?;
                insert_token(conn, TokenType::RefreshToken, grant_id, &refresh_token)?;
                conn.prepare_cached("UPDATE grants SET expires_at = max(expires_at, ?2, ?3) WHERE id = ?1")?
                    .execute(params![grant_id, access_token.expires_at, refresh_token.expires_at])?;
                Ok(RotateOutcome::Rotated)
            };
            run().map_err(unavailable)
        })
        .await
    }

    async fn revoke_grant(&self, grant_id: i64, now: UnixTime) -> StoreResult<bool> {
        self.write(move |conn| {
            revoke_grants_where(conn, "id = ?2", now, grant_id)
                .map(|n| n > 0)
                .map_err(unavailable)
        })
        .await
    }

    async fn revoke_grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<u64> {
        self.write(move |conn| {
            revoke_grants_where(conn, "user_id = ?2", now, user_id).map_err(unavailable)
        })
        .await
    }

    async fn revoke_grants_of_client(&self, client_pk: i64, now: UnixTime) -> StoreResult<u64> {
        self.write(move |conn| {
            revoke_grants_where(conn, "client_id = ?2", now, client_pk).map_err(unavailable)
        })
        .await
    }

    async fn purge(&self, now: UnixTime, batch: u32) -> StoreResult<Purged> {
        let batch_limit = batch;
        self.write(move |conn| {
            let run = || -> rusqlite::Result<Purged> {
                let mut purged = Purged::default();
                for (t, count) in [
                    ("access_tokens", &mut purged.access_tokens),
                    ("refresh_tokens", &mut purged.refresh_tokens),
                ] {
                    // Two statements, so each uses its own index.
                    for filter in ["revoked_at IS NOT NULL", "expires_at <= ?1"] {
                        let sql = format!(
                            "DELETE FROM {t} WHERE digest IN \
                             (SELECT digest FROM {t} WHERE {filter} LIMIT ?2)"
                        );
                        *count += conn.prepare_cached(&sql)?.execute(params![now, batch])? as u64;
                    }
                }
                // While tokens are still being deleted, leave grants for later: finding the grants left
                // without tokens scans every expired grant, which only pays off once per cleanup.
                if purged.access_tokens + purged.refresh_tokens >= u64::from(batch_limit) {
                    return Ok(purged);
                }
                for filter in ["revoked_at IS NOT NULL", "expires_at <= ?1"] {
                    let sql = format!(
                        "DELETE FROM grants WHERE id IN (SELECT g.id FROM grants g WHERE g.{filter} \
                         AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.grant_id = g.id) \
                         AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = g.id) \
                         LIMIT ?2)"
                    );
                    purged.grants += conn.prepare_cached(&sql)?.execute(params![now, batch])? as u64;
                }
                for t in ["authorization_codes", "sessions"] {
                    let sql = format!(
                        "DELETE FROM {t} WHERE digest IN \
                         (SELECT digest FROM {t} WHERE expires_at <= ?1 LIMIT ?2)"
                    );
                    purged.other += conn.prepare_cached(&sql)?.execute(params![now, batch])? as u64;
                }
                Ok(purged)
            };
            run().map_err(unavailable)
        })
        .await
    }
}
