//! The SQL of [`ImportStore`].

use std::collections::HashMap;

use async_trait::async_trait;
use tessera_core::grant::TokenType;

use super::clients::grant_types_column;
use super::columns::list_column;
use super::grants::insert_token;
use super::{Database, SqlConn, bad_row, op, params};
use crate::{ImportBatch, ImportCounts, ImportStore, StoreError, StoreResult};

async fn user_id(c: &mut dyn SqlConn, username: &str) -> StoreResult<Option<i64>> {
    match c
        .query_opt(
            "SELECT id FROM users WHERE username = $1",
            params![username],
        )
        .await?
    {
        Some(mut r) => Ok(Some(r.take()?)),
        None => Ok(None),
    }
}

async fn token_present(
    c: &mut dyn SqlConn,
    table: &str,
    digest: &tessera_core::token::TokenDigest,
) -> StoreResult<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE digest = $1");
    Ok(c.query_opt(&sql, params![digest]).await?.is_some())
}

async fn import(c: &mut dyn SqlConn, batch: ImportBatch) -> StoreResult<ImportCounts> {
    let mut counts = ImportCounts::default();
    let mut users: HashMap<String, i64> = HashMap::new();
    for u in &batch.users {
        let id = match user_id(c, &u.username).await? {
            Some(id) => {
                counts.users_present += 1;
                id
            }
            None => {
                let mut r = c
                    .query_opt(
                        "INSERT INTO users (username, email, password_hash, created_at) \
                         VALUES ($1, $2, $3, $4) RETURNING id",
                        params![
                            &u.username,
                            &u.email,
                            u.password_hash.as_ref(),
                            u.created_at
                        ],
                    )
                    .await?
                    .ok_or_else(|| bad_row("imported user"))?;
                counts.users_imported += 1;
                r.take()?
            }
        };
        users.insert(u.username.clone(), id);
    }
    let mut clients: HashMap<String, i64> = HashMap::new();
    for imported in &batch.clients {
        let new = &imported.client;
        let existing = c
            .query_opt(
                "SELECT id, name, client_type, grant_types, redirect_uris FROM clients \
                 WHERE client_id = $1",
                params![&new.client_id],
            )
            .await?;
        let pk = match existing {
            Some(mut r) => {
                let pk: i64 = r.take()?;
                let same = r.take::<String>()? == new.name
                    && r.take::<String>()? == new.client_type.as_str()
                    && r.take::<String>()? == grant_types_column(&new.grant_types)
                    && r.take::<String>()? == list_column(&new.redirect_uris);
                if !same {
                    return Err(StoreError::Conflict("client id"));
                }
                counts.clients_present += 1;
                pk
            }
            None => {
                let mut client = new.clone();
                client.user_id = match &imported.owner {
                    Some(name) => users.get(name).copied().or(user_id(c, name).await?),
                    None => None,
                };
                counts.clients_imported += 1;
                super::clients::insert(c, client).await?.id
            }
        };
        clients.insert(new.client_id.clone(), pk);
    }
    for g in batch.grants {
        let mut present = false;
        if let Some(t) = &g.access_token {
            present |= token_present(c, "access_tokens", &t.digest).await?;
        }
        if let Some(t) = &g.refresh_token {
            present |= token_present(c, "refresh_tokens", &t.digest).await?;
        }
        if present {
            counts.grants_present += 1;
            continue;
        }
        let Some(&client_pk) = clients.get(&g.client_id) else {
            return Err(bad_row("imported grant's application"));
        };
        let user = match &g.username {
            Some(name) => Some(match users.get(name) {
                Some(id) => *id,
                None => user_id(c, name)
                    .await?
                    .ok_or_else(|| bad_row("imported grant's user"))?,
            }),
            None => None,
        };
        let mut row = c
            .query_opt(
                "INSERT INTO grants (client_id, user_id, kind, scope, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                params![
                    client_pk,
                    user,
                    g.kind.as_str(),
                    &g.scope,
                    g.created_at,
                    g.expires_at
                ],
            )
            .await?
            .ok_or_else(|| bad_row("imported grant"))?;
        let grant_id: i64 = row.take()?;
        for (token_type, token) in [
            (TokenType::AccessToken, &g.access_token),
            (TokenType::RefreshToken, &g.refresh_token),
        ] {
            if let Some(t) = token {
                insert_token(c, token_type, grant_id, t).await?;
                counts.tokens_imported += 1;
            }
        }
        counts.grants_imported += 1;
    }
    if !counts.is_noop() {
        c.execute(
            "INSERT INTO imports (source, imported_at, users, clients, grants) \
             VALUES ($1, $2, $3, $4, $5)",
            params![
                &batch.source,
                batch.at,
                counts.users_imported as i64,
                counts.clients_imported as i64,
                counts.grants_imported as i64
            ],
        )
        .await?;
    }
    Ok(counts)
}

async fn has_imports(c: &mut dyn SqlConn) -> StoreResult<bool> {
    Ok(c.query_opt("SELECT 1 FROM imports LIMIT 1", params![])
        .await?
        .is_some())
}

#[async_trait]
impl<D: Database> ImportStore for D {
    async fn import(&self, batch: ImportBatch) -> StoreResult<ImportCounts> {
        self.write(op(move |c| Box::pin(import(c, batch)))).await
    }

    async fn has_imports(&self) -> StoreResult<bool> {
        self.read(op(|c| Box::pin(has_imports(c)))).await
    }
}
