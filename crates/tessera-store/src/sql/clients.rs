//! The SQL of [`ClientStore`].

use async_trait::async_trait;
use tessera_core::client::{AccessTokenFormat, Client, ClientType, GrantType, parse_grant_types};

use super::columns::{list_column, secret_columns, secret_from_columns, split_list};
use super::{Database, Dialect, Row, SqlConn, bad_row, op, params};
use crate::{ClientStore, ClientUpdate, NewClient, StoreError, StoreResult};

/// The client columns [`client_from_row`] reads, in its order (a macro, so statements on the
/// hot path are whole `&'static str`s built at compile time).
macro_rules! client_columns {
    () => {
        "id, client_id, name, client_type, grant_types, secret_kind, secret_hash, \
         redirect_uris, post_logout_redirect_uris, allowed_origins, user_id, skip_authorization, \
         algorithm, access_token_format, logout_revokes_grants, allowed_scopes, introspect_any, \
         created_at"
    };
}
pub(crate) use client_columns;
pub(crate) const COLUMNS: &str = client_columns!();

pub(crate) fn client_from_row(mut r: Row) -> StoreResult<Client> {
    read_client(&mut r)
}

/// Reads a client's columns from the front of a row that may go on with others.
pub(crate) fn read_client(r: &mut Row) -> StoreResult<Client> {
    let id = r.take()?;
    let client_id = r.take()?;
    let name = r.take()?;
    let client_type: String = r.take()?;
    let grant_types: String = r.take()?;
    let secret_kind: String = r.take()?;
    let secret_hash = r.take()?;
    Ok(Client {
        id,
        client_id,
        name,
        client_type: ClientType::parse(&client_type).ok_or_else(|| bad_row("client type"))?,
        grant_types: parse_grant_types(&grant_types).map_err(|_| bad_row("grant types"))?,
        secret: secret_from_columns(&secret_kind, secret_hash)
            .ok_or_else(|| bad_row("client secret"))?,
        redirect_uris: split_list(&r.take::<String>()?),
        post_logout_redirect_uris: split_list(&r.take::<String>()?),
        allowed_origins: split_list(&r.take::<String>()?),
        user_id: r.take()?,
        skip_authorization: r.take()?,
        algorithm: r.take()?,
        access_token_format: AccessTokenFormat::parse(&r.take::<String>()?)
            .ok_or_else(|| bad_row("access token format"))?,
        logout_revokes_grants: r.take()?,
        allowed_scopes: r.take()?,
        introspect_any: r.take()?,
        created_at: r.take()?,
    })
}

pub(crate) fn grant_types_column(grant_types: &[GrantType]) -> String {
    grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) async fn insert(c: &mut dyn SqlConn, new: NewClient) -> StoreResult<Client> {
    let (kind, hash) = secret_columns(&new.secret);
    let sql = format!(
        "INSERT INTO clients (client_id, name, client_type, grant_types, secret_kind, \
         secret_hash, redirect_uris, post_logout_redirect_uris, allowed_origins, user_id, \
         skip_authorization, algorithm, access_token_format, logout_revokes_grants, \
         allowed_scopes, introspect_any, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING {COLUMNS}"
    );
    let row = c
        .query_opt(
            &sql,
            params![
                &new.client_id,
                &new.name,
                new.client_type.as_str(),
                &grant_types_column(&new.grant_types),
                kind,
                hash.as_ref(),
                &list_column(&new.redirect_uris),
                &list_column(&new.post_logout_redirect_uris),
                &list_column(&new.allowed_origins),
                new.user_id,
                new.skip_authorization,
                new.algorithm.as_ref(),
                new.access_token_format.as_str(),
                new.logout_revokes_grants,
                new.allowed_scopes.as_ref(),
                new.introspect_any,
                new.created_at,
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("client id"),
            e => e,
        })?;
    client_from_row(row.ok_or_else(|| bad_row("inserted client"))?)
}

/// A client by its primary key or by its client id.
enum Key {
    Pk(i64),
    ClientId(String),
}

async fn find(c: &mut dyn SqlConn, key: Key) -> StoreResult<Option<Client>> {
    let row = match &key {
        Key::Pk(pk) => {
            let sql = concat!("SELECT ", client_columns!(), " FROM clients WHERE id = $1");
            c.query_opt(sql, params![*pk]).await?
        }
        Key::ClientId(id) => {
            let sql = concat!(
                "SELECT ",
                client_columns!(),
                " FROM clients WHERE client_id = $1"
            );
            c.query_opt(sql, params![id]).await?
        }
    };
    row.map(client_from_row).transpose()
}

async fn of_user(c: &mut dyn SqlConn, user_id: i64) -> StoreResult<Vec<Client>> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE user_id = $1 ORDER BY id DESC");
    c.query(&sql, params![user_id])
        .await?
        .into_iter()
        .map(client_from_row)
        .collect()
}

async fn all(c: &mut dyn SqlConn) -> StoreResult<Vec<Client>> {
    let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY id");
    c.query(&sql, params![])
        .await?
        .into_iter()
        .map(client_from_row)
        .collect()
}

pub(crate) async fn update(c: &mut dyn SqlConn, pk: i64, u: ClientUpdate) -> StoreResult<bool> {
    let n = c
        .execute(
            "UPDATE clients SET name = $2, grant_types = $3, redirect_uris = $4, \
             post_logout_redirect_uris = $5, allowed_origins = $6, algorithm = $7, \
             access_token_format = $8, logout_revokes_grants = $9, allowed_scopes = $10, \
             updated_at = $11 WHERE id = $1",
            params![
                pk,
                &u.name,
                &grant_types_column(&u.grant_types),
                &list_column(&u.redirect_uris),
                &list_column(&u.post_logout_redirect_uris),
                &list_column(&u.allowed_origins),
                u.algorithm.as_ref(),
                u.access_token_format.as_str(),
                u.logout_revokes_grants,
                u.allowed_scopes.as_ref(),
                u.updated_at,
            ],
        )
        .await?;
    Ok(n > 0)
}

async fn delete(c: &mut dyn SqlConn, pk: i64) -> StoreResult<bool> {
    Ok(c.execute("DELETE FROM clients WHERE id = $1", params![pk])
        .await?
        > 0)
}

async fn origin_allowed(c: &mut dyn SqlConn, origin: String) -> StoreResult<bool> {
    // Lists are space-separated: pad both sides so only whole entries match. The substring
    // search is spelled differently: SQLite has `instr`, PostgreSQL `position(.. IN ..)`,
    // and neither has the other (LIKE would need escaping and is case-insensitive in SQLite).
    let sql = match c.dialect() {
        Dialect::Sqlite => {
            "SELECT 1 FROM clients WHERE client_type = 'public' AND instr(' ' || allowed_origins || ' ', ' ' || $1 || ' ') > 0 LIMIT 1"
        }
        Dialect::Postgres => {
            "SELECT 1 FROM clients WHERE client_type = 'public' AND position(' ' || $1 || ' ' IN ' ' || allowed_origins || ' ') > 0 LIMIT 1"
        }
    };
    Ok(c.query_opt(sql, params![&origin]).await?.is_some())
}

async fn upgrade_secret(
    c: &mut dyn SqlConn,
    pk: i64,
    old: String,
    new: String,
) -> StoreResult<bool> {
    Ok(c.execute(
        "UPDATE clients SET secret_hash = $3 WHERE id = $1 AND secret_kind = 'argon2' \
         AND secret_hash = $2",
        params![pk, &old, &new],
    )
    .await?
        > 0)
}

#[async_trait]
impl<D: Database> ClientStore for D {
    async fn upgrade_secret_hash(&self, pk: i64, old: &str, new: &str) -> StoreResult<bool> {
        let (old, new) = (old.to_owned(), new.to_owned());
        self.write_one(op(move |c| Box::pin(upgrade_secret(c, pk, old, new))))
            .await
    }

    async fn insert_client(&self, new: NewClient) -> StoreResult<Client> {
        self.write_one(op(move |c| Box::pin(insert(c, new)))).await
    }

    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let key = Key::ClientId(client_id.to_owned());
        self.read(op(move |c| Box::pin(find(c, key)))).await
    }

    async fn client_by_pk(&self, pk: i64) -> StoreResult<Option<Client>> {
        self.read(op(move |c| Box::pin(find(c, Key::Pk(pk))))).await
    }

    async fn all_clients(&self) -> StoreResult<Vec<Client>> {
        self.read(op(move |c| Box::pin(all(c)))).await
    }

    async fn clients_of_user(&self, user_id: i64) -> StoreResult<Vec<Client>> {
        self.read(op(move |c| Box::pin(of_user(c, user_id)))).await
    }

    async fn update_client(&self, pk: i64, update_: ClientUpdate) -> StoreResult<bool> {
        self.write_one(op(move |c| Box::pin(update(c, pk, update_))))
            .await
    }

    async fn delete_client(&self, pk: i64) -> StoreResult<bool> {
        self.write_one(op(move |c| Box::pin(delete(c, pk)))).await
    }

    async fn origin_allowed(&self, origin: &str) -> StoreResult<bool> {
        let origin = origin.to_owned();
        self.read(op(move |c| Box::pin(origin_allowed(c, origin))))
            .await
    }
}
