//! The SQL of [`GrantStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::client::{Client, ClientType};
use tessera_core::grant::{NewGrant, NewToken, Rotation, TokenContext, TokenType};
use tessera_core::token::TokenDigest;

use super::clients::{client_columns, read_client};
use super::columns::token_table;
use super::{Database, Dialect, Param, Row, SqlConn, bad_row, op, params};
use crate::{GrantStore, GrantSummary, RotateOutcome, StoreResult};

pub(crate) async fn insert_token(
    c: &mut dyn SqlConn,
    token_type: TokenType,
    grant_id: i64,
    t: &NewToken,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO {} (digest, grant_id, scope, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        token_table(token_type)
    );
    c.execute(
        &sql,
        params![&t.digest, grant_id, &t.scope, t.issued_at, t.expires_at],
    )
    .await
    .map(|_| ())
}

/// Inserts a grant and its first tokens; returns the grant id. Shared with code redemption.
///
/// On PostgreSQL this is one statement (data-modifying CTEs): atomic by itself, so it needs no
/// transaction around it and costs one round trip instead of four. SQLite has no
/// data-modifying CTEs; there the rows go in one by one, inside the writer's transaction.
pub(crate) async fn insert_grant_rows(
    c: &mut dyn SqlConn,
    grant: &NewGrant,
    access_token: &NewToken,
    refresh_token: Option<&NewToken>,
) -> StoreResult<i64> {
    if c.dialect() == Dialect::Postgres {
        return insert_grant_statement(c, grant, access_token, refresh_token).await;
    }
    let row = c
        .query_opt(
            "INSERT INTO grants (client_id, user_id, kind, scope, created_at, expires_at, \
             auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            params![
                grant.client_pk,
                grant.user_id,
                grant.kind.as_str(),
                &grant.scope,
                grant.created_at,
                grant.expires_at,
                grant.auth_time
            ],
        )
        .await?;
    let grant_id: i64 = row.ok_or_else(|| bad_row("inserted grant"))?.take()?;
    insert_token(c, TokenType::AccessToken, grant_id, access_token).await?;
    if let Some(rt) = refresh_token {
        insert_token(c, TokenType::RefreshToken, grant_id, rt).await?;
    }
    Ok(grant_id)
}

/// [`insert_grant_rows`] as one PostgreSQL statement. The token values are cast: in an
/// `INSERT ... SELECT` their types cannot be inferred from the target columns.
async fn insert_grant_statement(
    c: &mut dyn SqlConn,
    grant: &NewGrant,
    at: &NewToken,
    rt: Option<&NewToken>,
) -> StoreResult<i64> {
    const GRANT: &str = "WITH g AS (INSERT INTO grants (client_id, user_id, kind, scope, \
        created_at, expires_at, auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id), \
        a AS (INSERT INTO access_tokens (digest, grant_id, scope, issued_at, expires_at) \
        SELECT CAST($8 AS BYTEA), id, CAST($9 AS TEXT), CAST($10 AS BIGINT), CAST($11 AS BIGINT) FROM g)";
    // The grant's and access token's parameters, then the refresh token's where there is one.
    let mut values = params![
        grant.client_pk,
        grant.user_id,
        grant.kind.as_str(),
        &grant.scope,
        grant.created_at,
        grant.expires_at,
        grant.auth_time,
        &at.digest,
        &at.scope,
        at.issued_at,
        at.expires_at
    ]
    .to_vec();
    let sql = match rt {
        None => format!("{GRANT} SELECT id FROM g"),
        Some(rt) => {
            values.extend_from_slice(params![&rt.digest, &rt.scope, rt.issued_at, rt.expires_at]);
            format!(
                "{GRANT}, r AS (INSERT INTO refresh_tokens (digest, grant_id, scope, issued_at, \
                 expires_at) SELECT CAST($12 AS BYTEA), id, CAST($13 AS TEXT), \
                 CAST($14 AS BIGINT), CAST($15 AS BIGINT) FROM g) SELECT id FROM g"
            )
        }
    };
    let row = c.query_opt(&sql, &values).await?;
    row.ok_or_else(|| bad_row("inserted grant"))?.take()
}

/// Exchanges a single-use code (an authorization code, a device code) for a new grant,
/// exactly once: `claim` marks the code used only if it still may be (`$1` its digest, `$2`
/// now) and changes no row otherwise; then the grant and its tokens are inserted and `link`
/// (`$1` the digest, `$2` the grant id) records the grant on the code, so a replay can revoke
/// it. Returns the grant id, or `None` when the code could not be claimed. Run it inside one
/// write transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn redeem_once(
    c: &mut dyn SqlConn,
    claim: &'static str,
    link: &'static str,
    digest: TokenDigest,
    now: UnixTime,
    grant: NewGrant,
    access_token: NewToken,
    refresh_token: Option<NewToken>,
) -> StoreResult<Option<i64>> {
    // The exactly-once step: of two concurrent exchanges, the second finds the code used.
    if c.execute(claim, params![&digest, now]).await? == 0 {
        return Ok(None);
    }
    let grant_id = insert_grant_rows(c, &grant, &access_token, refresh_token.as_ref()).await?;
    c.execute(link, params![&digest, grant_id]).await?;
    Ok(Some(grant_id))
}

/// A token's columns with its grant's, client's and user's, in the order [`token_from_row`]
/// reads them. Access tokens have no `used_at`; a typed NULL keeps the column's type in
/// PostgreSQL.
macro_rules! token_columns {
    ($used:literal) => {
        concat!(
            "t.scope, t.issued_at, t.expires_at, t.revoked_at, ",
            $used,
            ", g.id, g.revoked_at, tc.id, tc.client_id, tc.client_type, u.id, u.username, \
             g.auth_time"
        )
    };
}

/// The joins from a token `t` to its grant, client and user: inner joins for the token
/// alone, left joins beside a client found whether or not the token is.
macro_rules! token_joins {
    ($join:literal) => {
        concat!(
            " ",
            $join,
            " grants g ON g.id = t.grant_id ",
            $join,
            " clients tc ON tc.id = g.client_id LEFT JOIN users u ON u.id = g.user_id"
        )
    };
}

/// Reads the columns of [`token_columns`]; `None` where they are all NULL (a LEFT JOIN that
/// found no token).
fn token_from_row(
    r: &mut Row,
    token_type: TokenType,
    digest: TokenDigest,
) -> StoreResult<Option<TokenContext>> {
    let Some(scope) = r.take::<Option<String>>()? else {
        return Ok(None);
    };
    Ok(Some(TokenContext {
        token_type,
        digest,
        scope,
        issued_at: r.take()?,
        expires_at: r.take()?,
        revoked_at: r.take()?,
        used_at: r.take()?,
        grant_id: r.take()?,
        grant_revoked_at: r.take()?,
        client_pk: r.take()?,
        client_id: r.take()?,
        client_type: ClientType::parse(&r.take::<String>()?)
            .ok_or_else(|| bad_row("client type"))?,
        user_id: r.take()?,
        username: r.take()?,
        auth_time: r.take()?,
    }))
}

async fn find_token(
    c: &mut dyn SqlConn,
    token_type: TokenType,
    digest: TokenDigest,
) -> StoreResult<Option<TokenContext>> {
    macro_rules! alone {
        ($table:literal, $used:literal) => {
            concat!(
                "SELECT ",
                token_columns!($used),
                " FROM ",
                $table,
                " t",
                token_joins!("JOIN"),
                " WHERE t.digest = $1"
            )
        };
    }
    let sql = match token_type {
        TokenType::AccessToken => alone!("access_tokens", "CAST(NULL AS BIGINT)"),
        TokenType::RefreshToken => alone!("refresh_tokens", "t.used_at"),
    };
    match c.query_opt(sql, params![&digest]).await? {
        Some(mut r) => token_from_row(&mut r, token_type, digest),
        None => Ok(None),
    }
}

/// The client with this client id and the token with this digest, in one statement: the
/// request that authenticates a client and names a token (introspection, revocation) makes
/// one round trip to the store instead of two. No client, no row: the token is then not
/// looked at.
async fn client_and_token(
    c: &mut dyn SqlConn,
    client_id: String,
    token_type: TokenType,
    digest: TokenDigest,
) -> StoreResult<(Option<Client>, Option<TokenContext>)> {
    // The client first; the token left-joined to it by its digest. (A flat join: SQLite
    // materialises a subquery on the right of a LEFT JOIN on every execution.)
    macro_rules! beside {
        ($table:literal, $used:literal) => {
            concat!(
                "SELECT c.*, ",
                token_columns!($used),
                " FROM (SELECT ",
                client_columns!(),
                " FROM clients WHERE client_id = $1) c LEFT JOIN ",
                $table,
                " t ON t.digest = $2",
                token_joins!("LEFT JOIN")
            )
        };
    }
    let sql = match token_type {
        TokenType::AccessToken => beside!("access_tokens", "CAST(NULL AS BIGINT)"),
        TokenType::RefreshToken => beside!("refresh_tokens", "t.used_at"),
    };
    let Some(mut r) = c
        .query_opt(sql, params![client_id.as_str(), &digest])
        .await?
    else {
        return Ok((None, None));
    };
    let client = read_client(&mut r)?;
    Ok((Some(client), token_from_row(&mut r, token_type, digest)?))
}

async fn rotate(c: &mut dyn SqlConn, rotation: Rotation) -> StoreResult<RotateOutcome> {
    let Rotation {
        old,
        now,
        access_token,
        refresh_token,
        grant_expires_at,
    } = rotation;
    // The conditional UPDATE is the exactly-once step: of two concurrent rotations, the
    // second finds the token used (PostgreSQL re-reads the row after the first commits;
    // SQLite runs writes one at a time) and changes nothing. The grant is checked by a
    // correlated EXISTS, one index lookup: `grant_id IN (SELECT id FROM grants ...)` made
    // SQLite build a table of every live grant on each rotation (bench/run.sh S7).
    let claimed = c
        .query_opt(
            "UPDATE refresh_tokens SET used_at = $2 WHERE digest = $1 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 AND EXISTS (SELECT 1 FROM grants \
             WHERE grants.id = refresh_tokens.grant_id AND grants.revoked_at IS NULL) \
             RETURNING grant_id",
            params![&old, now],
        )
        .await?;
    let Some(mut claimed) = claimed else {
        return Ok(RotateOutcome::NotActive);
    };
    let grant_id: i64 = claimed.take()?;
    c.execute(
        "UPDATE access_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL",
        params![grant_id, now],
    )
    .await?;
    insert_token(c, TokenType::AccessToken, grant_id, &access_token).await?;
    insert_token(c, TokenType::RefreshToken, grant_id, &refresh_token).await?;
    c.execute(
        "UPDATE grants SET expires_at = $2 WHERE id = $1 AND expires_at < $2",
        params![grant_id, grant_expires_at],
    )
    .await?;
    Ok(RotateOutcome::Rotated)
}

/// Which live grants a revocation matches: by id, by id and owner, by user, by client.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    Grant(i64),
    GrantOfUser { grant_id: i64, user_id: i64 },
    OfUser(i64),
    OfClient(i64),
    OfUserAndClient { user_id: i64, client_pk: i64 },
}

impl Which {
    /// The filter on `grants`, on parameters `$2` (and `$3`), and their values.
    fn filter(self) -> (&'static str, i64, Option<i64>) {
        match self {
            Which::Grant(id) => ("id = $2", id, None),
            Which::GrantOfUser { grant_id, user_id } => {
                ("id = $2 AND user_id = $3", grant_id, Some(user_id))
            }
            Which::OfUser(id) => ("user_id = $2", id, None),
            Which::OfClient(id) => ("client_id = $2", id, None),
            Which::OfUserAndClient { user_id, client_pk } => {
                ("user_id = $2 AND client_id = $3", user_id, Some(client_pk))
            }
        }
    }
}

/// Revokes the live grants matched by `which` and all their live tokens at `now`; returns
/// how many grants changed. Tokens first: their filter needs the grants still unrevoked.
///
/// On PostgreSQL one statement (data-modifying CTEs, atomic by itself): one round trip
/// instead of five, and the revocation is durable when it returns all the same.
pub(crate) async fn revoke(c: &mut dyn SqlConn, which: Which, now: UnixTime) -> StoreResult<u64> {
    let (filter, key, second) = which.filter();
    let both = [Param::Int(now), Param::Int(key), Param::from(second)];
    // PostgreSQL refuses a parameter the statement does not use: pass `$3` only with a filter
    // that reads it.
    let params = &both[..if second.is_some() { 3 } else { 2 }];
    if c.dialect() == Dialect::Postgres {
        let sql = format!(
            "WITH g AS (UPDATE grants SET revoked_at = $1 WHERE {filter} AND revoked_at IS NULL \
             RETURNING id), \
             a AS (UPDATE access_tokens SET revoked_at = $1 WHERE revoked_at IS NULL \
             AND grant_id IN (SELECT id FROM g)), \
             r AS (UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL \
             AND grant_id IN (SELECT id FROM g)) \
             SELECT count(*) FROM g"
        );
        let n: i64 = c
            .query_opt(&sql, params)
            .await?
            .ok_or_else(|| bad_row("revocation count"))?
            .take()?;
        return Ok(n.unsigned_abs());
    }
    for t in ["access_tokens", "refresh_tokens"] {
        let sql = format!(
            "UPDATE {t} SET revoked_at = $1 WHERE revoked_at IS NULL AND grant_id IN \
             (SELECT id FROM grants WHERE {filter} AND revoked_at IS NULL)"
        );
        c.execute(&sql, params).await?;
    }
    let sql = format!("UPDATE grants SET revoked_at = $1 WHERE {filter} AND revoked_at IS NULL");
    c.execute(&sql, params).await
}

/// Live grants of a user or of a client.
#[derive(Debug, Clone, Copy)]
enum Owner {
    User(i64),
    Client(i64),
}

async fn live_grants(
    c: &mut dyn SqlConn,
    owner: Owner,
    now: UnixTime,
) -> StoreResult<Vec<GrantSummary>> {
    macro_rules! live {
        ($filter:literal) => {
            concat!(
                "SELECT g.id, c.client_id, c.name, u.username, g.kind, g.scope, g.created_at, \
                 g.expires_at FROM grants g JOIN clients c ON c.id = g.client_id \
                 LEFT JOIN users u ON u.id = g.user_id WHERE ",
                $filter,
                " AND g.revoked_at IS NULL AND g.expires_at > $2 ORDER BY g.id DESC"
            )
        };
    }
    let (sql, key) = match owner {
        Owner::User(id) => (live!("g.user_id = $1"), id),
        Owner::Client(id) => (live!("g.client_id = $1"), id),
    };
    c.query(sql, params![key, now])
        .await?
        .into_iter()
        .map(|mut r| {
            Ok(GrantSummary {
                grant_id: r.take()?,
                client_id: r.take()?,
                client_name: r.take()?,
                username: r.take()?,
                kind: r.take()?,
                scope: r.take()?,
                created_at: r.take()?,
                expires_at: r.take()?,
            })
        })
        .collect()
}

#[async_trait]
impl<D: Database> GrantStore for D {
    async fn insert_grant(
        &self,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<i64> {
        // One statement on PostgreSQL; SQLite's writer runs it in its transaction.
        self.write_one(op(move |c| {
            Box::pin(async move {
                insert_grant_rows(c, &grant, &access_token, refresh_token.as_ref()).await
            })
        }))
        .await
    }

    async fn find_token(
        &self,
        token_type: TokenType,
        digest: &TokenDigest,
    ) -> StoreResult<Option<TokenContext>> {
        let digest = *digest;
        self.read(op(move |c| Box::pin(find_token(c, token_type, digest))))
            .await
    }

    async fn client_and_token(
        &self,
        client_id: &str,
        token_type: TokenType,
        digest: &TokenDigest,
    ) -> StoreResult<(Option<Client>, Option<TokenContext>)> {
        let (client_id, digest) = (client_id.to_owned(), *digest);
        self.read(op(move |c| {
            Box::pin(client_and_token(c, client_id, token_type, digest))
        }))
        .await
    }

    async fn rotate_refresh_token(&self, rotation: Rotation) -> StoreResult<RotateOutcome> {
        self.write(op(move |c| Box::pin(rotate(c, rotation)))).await
    }

    async fn revoke_grant(&self, grant_id: i64, now: UnixTime) -> StoreResult<bool> {
        let which = Which::Grant(grant_id);
        self.write_one(op(move |c| Box::pin(revoke(c, which, now))))
            .await
            .map(|n| n > 0)
    }

    async fn revoke_grant_of_user(
        &self,
        grant_id: i64,
        user_id: i64,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let which = Which::GrantOfUser { grant_id, user_id };
        self.write_one(op(move |c| Box::pin(revoke(c, which, now))))
            .await
            .map(|n| n > 0)
    }

    async fn revoke_grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<u64> {
        let which = Which::OfUser(user_id);
        self.write_one(op(move |c| Box::pin(revoke(c, which, now))))
            .await
    }

    async fn revoke_grants_of_client(&self, client_pk: i64, now: UnixTime) -> StoreResult<u64> {
        let which = Which::OfClient(client_pk);
        self.write_one(op(move |c| Box::pin(revoke(c, which, now))))
            .await
    }

    async fn revoke_grants_of_user_and_client(
        &self,
        user_id: i64,
        client_pk: i64,
        now: UnixTime,
    ) -> StoreResult<u64> {
        let which = Which::OfUserAndClient { user_id, client_pk };
        self.write_one(op(move |c| Box::pin(revoke(c, which, now))))
            .await
    }

    async fn grants_of_user(&self, user_id: i64, now: UnixTime) -> StoreResult<Vec<GrantSummary>> {
        let owner = Owner::User(user_id);
        self.read(op(move |c| Box::pin(live_grants(c, owner, now))))
            .await
    }

    async fn grants_of_client(
        &self,
        client_pk: i64,
        now: UnixTime,
    ) -> StoreResult<Vec<GrantSummary>> {
        let owner = Owner::Client(client_pk);
        self.read(op(move |c| Box::pin(live_grants(c, owner, now))))
            .await
    }
}
