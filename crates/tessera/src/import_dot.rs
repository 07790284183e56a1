//! `tessera import-dot`: a django-oauth-toolkit database's users, applications and live
//! tokens, brought over so that nobody signs in again and no partner gets a new secret.
//!
//! The source is read (never written); everything is decided here, then written by the store
//! in one transaction ([`tessera_store::ImportStore`]), so a refused import writes nothing and
//! a second import changes nothing.
//!
//! What carries over: users with their Django password hashes (verified natively and replaced
//! by Argon2id at the first sign-in); inactive users, unable to sign in; applications with
//! their client ids, types, grant type, redirect and post-logout URIs, origins,
//! skip-authorization, algorithm and owner, and their secrets (a Django hash is verified as is
//! and replaced at first use; a clear secret is hashed with Argon2id now); live access tokens
//! with their refresh tokens as grants. Not imported: revoked and expired tokens, ID tokens and
//! authorization codes (short-lived), device grants in progress.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, anyhow};
use serde_json::json;
use tessera_core::UnixTime;
use tessera_core::client::{AccessTokenFormat, ClientType, GrantType, SecretHash};
use tessera_core::entropy::Entropy;
use tessera_core::grant::NewToken;
use tessera_core::password;
use tessera_core::token::TokenDigest;
use tessera_store::{
    ImportBatch, ImportCounts, ImportedClient, ImportedGrant, ImportedUser, NewClient, Store,
    StoreError,
};

/// The newest DOT migration this importer knows (DOT 3.4); a database migrated past it may
/// hold data it would misread.
const NEWEST_MIGRATION: u32 = 22;
/// DOT 2.0's last migration, the oldest schema read.
const OLDEST_MIGRATION: u32 = 4;

/// Where the users are, for a project with a custom user model.
#[derive(Debug, Clone)]
pub struct UserTable {
    pub table: String,
    pub username: String,
    pub email: String,
}

impl Default for UserTable {
    fn default() -> Self {
        Self {
            table: "auth_user".into(),
            username: "username".into(),
            email: "email".into(),
        }
    }
}

/// A value read from the source.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Int(i64),
    Text(String),
}

impl V {
    fn text(&self) -> String {
        match self {
            V::Text(t) => t.clone(),
            V::Int(i) => i.to_string(),
            V::Null => String::new(),
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            V::Int(i) => Some(*i),
            V::Text(t) => t.trim().parse().ok(),
            V::Null => None,
        }
    }

    fn truthy(&self) -> bool {
        self.int().is_some_and(|i| i != 0)
    }
}

/// The source database: SQLite or PostgreSQL, read with plain queries.
enum Source {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

fn ident(name: &str) -> crate::Result<&str> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(name)
    } else {
        Err(anyhow!("{name:?} is not a table or column name"))
    }
}

impl Source {
    async fn open(url: &str) -> crate::Result<Self> {
        if let Some(path) = tessera_store_sqlite::path_from_url(url) {
            if !path.exists() {
                return Err(anyhow!("no SQLite database at {}", path.display()));
            }
            let conn = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .with_context(|| format!("cannot open {}", path.display()))?;
            return Ok(Self::Sqlite(conn));
        }
        if tessera_store_postgres::is_postgres_url(url) {
            let client = tessera_store_postgres::tls::connect(url)
                .await
                .context("cannot connect to the source database")?;
            return Ok(Self::Postgres(client));
        }
        Err(anyhow!(
            "the source must be sqlite://PATH or postgres://... (the Django project's database)"
        ))
    }

    /// `col` as Unix seconds.
    fn epoch(&self, col: &str) -> String {
        match self {
            Source::Sqlite(_) => format!("CAST(strftime('%s', {col}) AS INTEGER)"),
            Source::Postgres(_) => format!("CAST(extract(epoch FROM {col}) AS BIGINT)"),
        }
    }

    /// `col` (a boolean; 0/1 in SQLite) as 0 or 1, in either dialect.
    fn boolean(col: &str) -> String {
        format!("CAST({col} AS INTEGER)")
    }

    async fn query(&self, sql: &str) -> crate::Result<Vec<Vec<V>>> {
        match self {
            Source::Sqlite(c) => {
                let mut stmt = c.prepare(sql).with_context(|| format!("source: {sql}"))?;
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |row| {
                        (0..n)
                            .map(|i| {
                                Ok(match row.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => V::Null,
                                    rusqlite::types::ValueRef::Integer(i) => V::Int(i),
                                    rusqlite::types::ValueRef::Real(f) => V::Int(f as i64),
                                    rusqlite::types::ValueRef::Text(t) => {
                                        V::Text(String::from_utf8_lossy(t).into_owned())
                                    }
                                    rusqlite::types::ValueRef::Blob(b) => {
                                        V::Text(String::from_utf8_lossy(b).into_owned())
                                    }
                                })
                            })
                            .collect::<Result<Vec<V>, rusqlite::Error>>()
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            }
            Source::Postgres(c) => {
                let rows = c
                    .simple_query(sql)
                    .await
                    .with_context(|| format!("source: {sql}"))?;
                Ok(rows
                    .into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                            (0..r.len())
                                .map(|i| r.get(i).map_or(V::Null, |t| V::Text(t.to_owned())))
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    async fn columns(&self, table: &str) -> crate::Result<Vec<String>> {
        let sql = match self {
            Source::Sqlite(_) => format!("SELECT name FROM pragma_table_info('{table}')"),
            Source::Postgres(_) => format!(
                "SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' \
                 AND table_schema = current_schema()"
            ),
        };
        Ok(self
            .query(&sql)
            .await?
            .into_iter()
            .map(|r| r[0].text())
            .collect())
    }
}

/// What was found, imported and skipped, and what needs an operator.
#[derive(Debug, Default)]
pub struct Report {
    pub counts: ImportCounts,
    pub skipped: BTreeMap<String, u64>,
    pub attention: Vec<String>,
    pub dot_version: String,
}

impl Report {
    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_default() += 1;
    }

    pub fn text(&self) -> String {
        let c = &self.counts;
        let mut out = if c.is_noop() {
            format!(
                "nothing to import: every user, application and token of this {} database is already here",
                self.dot_version
            )
        } else {
            format!("imported from {}:", self.dot_version)
        };
        out.push_str(&format!(
            "\n  users:        {} imported, {} already here\n  applications: {} imported, {} already here\n  grants:       {} imported ({} tokens), {} already here",
            c.users_imported,
            c.users_present,
            c.clients_imported,
            c.clients_present,
            c.grants_imported,
            c.tokens_imported,
            c.grants_present
        ));
        for (reason, n) in &self.skipped {
            out.push_str(&format!("\n  skipped {n}: {reason}"));
        }
        out.push_str("\n  not imported by design: ID tokens and authorization codes (short-lived)");
        for a in &self.attention {
            out.push_str(&format!("\n  attention: {a}"));
        }
        out
    }

    pub fn json(&self) -> serde_json::Value {
        let c = &self.counts;
        json!({
            "source_version": self.dot_version,
            "changed": !c.is_noop(),
            "users": {"imported": c.users_imported, "present": c.users_present},
            "applications": {"imported": c.clients_imported, "present": c.clients_present},
            "grants": {"imported": c.grants_imported, "present": c.grants_present, "tokens": c.tokens_imported},
            "skipped": self.skipped,
            "attention": self.attention,
        })
    }
}

/// The digest DOT's checksum names, or the SHA-256 of the token text (the same value).
fn digest_of(token: &str, checksum: Option<&str>) -> Option<TokenDigest> {
    if let Some(hex) = checksum.filter(|h| h.len() == 64) {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        return Some(TokenDigest(out));
    }
    (!token.is_empty()).then(|| TokenDigest::of(token))
}

/// Reads the source and builds what to import.
pub async fn read(
    url: &str,
    users_table: &UserTable,
    entropy: &dyn Entropy,
    now: UnixTime,
    refresh_lifetime: i64,
) -> crate::Result<(ImportBatch, Report)> {
    let src = Source::open(url).await?;
    let mut report = Report::default();
    // A Django project with DOT: its migrations say which schema it is.
    let migrations = src
        .query("SELECT name FROM django_migrations WHERE app = 'oauth2_provider'")
        .await
        .map_err(|_| anyhow!("this is not a Django database with django-oauth-toolkit (no django_migrations table)"))?;
    let newest = migrations
        .iter()
        .filter_map(|r| r[0].text().get(..4).and_then(|n| n.parse::<u32>().ok()))
        .max()
        .ok_or_else(|| anyhow!("this Django database has no django-oauth-toolkit tables (no oauth2_provider migration)"))?;
    if newest > NEWEST_MIGRATION {
        return Err(anyhow!(
            "this database is migrated to django-oauth-toolkit migration {newest:04}, newer than the newest this version reads ({NEWEST_MIGRATION:04}, DOT 3.4): nothing written"
        ));
    }
    if newest < OLDEST_MIGRATION {
        return Err(anyhow!(
            "this database is at django-oauth-toolkit migration {newest:04}, older than DOT 2.x ({OLDEST_MIGRATION:04}): upgrade DOT first; nothing written"
        ));
    }
    report.dot_version = format!("django-oauth-toolkit (migration {newest:04})");

    // Users.
    let ut = ident(&users_table.table)?;
    let (uname, uemail) = (ident(&users_table.username)?, ident(&users_table.email)?);
    let user_cols = src.columns(ut).await?;
    for needed in ["id", uname, uemail, "password"] {
        if !user_cols.iter().any(|c| c == needed) {
            return Err(anyhow!(
                "the user table {ut} has no column {needed:?} (see --user-table and its options)"
            ));
        }
    }
    let active = if user_cols.iter().any(|c| c == "is_active") {
        Source::boolean("is_active")
    } else {
        "1".into()
    };
    let joined = if user_cols.iter().any(|c| c == "date_joined") {
        src.epoch("date_joined")
    } else {
        now.to_string()
    };
    let mut usernames: HashMap<String, String> = HashMap::new();
    let mut users = Vec::new();
    for r in src
        .query(&format!(
            "SELECT id, {uname}, {uemail}, password, {active}, {joined} FROM {ut} ORDER BY id"
        ))
        .await?
    {
        let username = r[1].text();
        if tessera_core::registration::validate_username(&username).is_err() {
            report.skip("user whose username Tessera cannot hold (spaces or over 150 characters)");
            continue;
        }
        let hash = r[3].text();
        let password_hash = if !r[4].truthy() {
            None
        } else if password::is_supported(&hash) {
            Some(hash)
        } else {
            if !hash.starts_with('!') && !hash.is_empty() {
                report.attention.push(format!(
                    "user {username:?} has a password hash Tessera cannot verify ({}); they must have a new password",
                    hash.split('$').next().unwrap_or("unknown")
                ));
            }
            None
        };
        usernames.insert(r[0].text(), username.clone());
        users.push(ImportedUser {
            username,
            email: r[2].text(),
            password_hash,
            created_at: r[5].int().unwrap_or(now),
        });
    }

    // Applications.
    let app_cols = src.columns("oauth2_provider_application").await?;
    let opt = |c: &str, fallback: &str| {
        if app_cols.iter().any(|x| x == c) {
            c.to_owned()
        } else {
            fallback.to_owned()
        }
    };
    let hashed = if app_cols.iter().any(|c| c == "hash_client_secret") {
        Source::boolean("hash_client_secret")
    } else {
        "1".into()
    };
    let sql = format!(
        "SELECT id, client_id, user_id, redirect_uris, {post}, client_type, authorization_grant_type, \
         client_secret, {hashed}, name, {skip}, {alg}, {origins}, {created} \
         FROM oauth2_provider_application ORDER BY id",
        post = opt("post_logout_redirect_uris", "''"),
        skip = Source::boolean("skip_authorization"),
        alg = opt("algorithm", "''"),
        origins = opt("allowed_origins", "''"),
        created = src.epoch("created"),
    );
    let mut apps: HashMap<String, (String, GrantType)> = HashMap::new();
    let mut clients = Vec::new();
    for r in src.query(&sql).await? {
        let client_id = r[1].text();
        let Some(client_type) = ClientType::parse(&r[5].text()) else {
            report.skip("application of an unknown client type");
            continue;
        };
        let Some(grant) = GrantType::parse(&r[6].text()) else {
            report.attention.push(format!(
                "application {client_id:?} uses grant type {:?}, which Tessera does not serve; not imported",
                r[6].text()
            ));
            report.skip("application with an unknown grant type");
            continue;
        };
        let secret_text = r[7].text();
        let secret = match client_type {
            ClientType::Public => SecretHash::None,
            ClientType::Confidential if r[8].truthy() || password::is_supported(&secret_text) => {
                if !password::is_supported(&secret_text) {
                    report.attention.push(format!(
                        "application {client_id:?} has a secret hash Tessera cannot verify; give it a new secret"
                    ));
                }
                SecretHash::Argon2(secret_text.clone())
            }
            ClientType::Confidential => SecretHash::Argon2(
                password::hash(&secret_text, entropy).map_err(anyhow::Error::msg)?,
            ),
        };
        let mut algorithm = Some(r[11].text()).filter(|a| !a.is_empty());
        if algorithm.as_deref() == Some("HS256") {
            report.attention.push(format!(
                "application {client_id:?} signed ID tokens with HS256 (its client secret as the key); Tessera keeps only a hash of secrets and signs its ID tokens with RS256: update the relying party to verify RS256 through the JWKS"
            ));
            algorithm = None;
        }
        let list =
            |v: &V| -> Vec<String> { v.text().split_whitespace().map(str::to_owned).collect() };
        let redirect_uris = list(&r[3]);
        for uri in &redirect_uris {
            if tessera_core::client::validate_redirect_uri(uri).is_err() {
                report.attention.push(format!(
                    "application {client_id:?} redirects to {uri:?}, which Tessera would refuse at registration (plain http to another host, or another scheme); kept as DOT had it"
                ));
            }
        }
        let name = Some(r[9].text())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| client_id.clone());
        let owner = usernames.get(&r[2].text()).cloned();
        apps.insert(r[0].text(), (client_id.clone(), grant));
        clients.push(ImportedClient {
            client: NewClient {
                client_id,
                name,
                client_type,
                grant_types: vec![grant],
                secret,
                redirect_uris,
                post_logout_redirect_uris: list(&r[4]),
                allowed_origins: list(&r[12]),
                user_id: None,
                skip_authorization: r[10].truthy(),
                algorithm,
                access_token_format: AccessTokenFormat::Opaque,
                logout_revokes_grants: false,
                allowed_scopes: None,
                introspect_any: true,
                created_at: r[13].int().unwrap_or(now),
            },
            owner,
        });
    }

    // Tokens: each live refresh token with its access token as one grant, and live access
    // tokens without a refresh token as grants of their own.
    let at_cols = src.columns("oauth2_provider_accesstoken").await?;
    let rt_cols = src.columns("oauth2_provider_refreshtoken").await?;
    let checksum = |cols: &[String], alias: &str| {
        if cols.iter().any(|c| c == "token_checksum") {
            format!("{alias}.token_checksum")
        } else {
            "NULL".into()
        }
    };
    let access_rows = src
        .query(&format!(
            "SELECT a.id, a.user_id, a.token, {sum}, a.application_id, {expires}, a.scope, {created} \
             FROM oauth2_provider_accesstoken a",
            sum = checksum(&at_cols, "a"),
            expires = src.epoch("a.expires"),
            created = src.epoch("a.created"),
        ))
        .await?;
    struct Access {
        user: String,
        token: Option<TokenDigest>,
        app: String,
        expires: i64,
        scope: String,
        created: i64,
    }
    let mut access: HashMap<String, Access> = HashMap::new();
    for r in access_rows {
        access.insert(
            r[0].text(),
            Access {
                user: r[1].text(),
                token: digest_of(
                    &r[2].text(),
                    Some(r[3].text()).as_deref().filter(|s| !s.is_empty()),
                ),
                app: r[4].text(),
                expires: r[5].int().unwrap_or(0),
                scope: r[6].text(),
                created: r[7].int().unwrap_or(now),
            },
        );
    }
    let refresh_rows = src
        .query(&format!(
            "SELECT r.id, r.user_id, r.token, {sum}, r.application_id, r.access_token_id, {created}, \
             {revoked} FROM oauth2_provider_refreshtoken r",
            sum = checksum(&rt_cols, "r"),
            created = src.epoch("r.created"),
            revoked = src.epoch("r.revoked"),
        ))
        .await?;
    let mut grants = Vec::new();
    let mut paired: std::collections::HashSet<String> = std::collections::HashSet::new();
    for r in refresh_rows {
        if !matches!(r[7], V::Null) && !r[7].text().is_empty() {
            report.skip("revoked refresh token");
            continue;
        }
        let created = r[6].int().unwrap_or(now);
        let expires = created + refresh_lifetime;
        if expires <= now {
            report.skip("expired refresh token (older than refresh_token_expire_seconds)");
            continue;
        }
        let Some(at) = access.get(&r[5].text()) else {
            report.skip("refresh token whose access token is gone (its scope is unknown)");
            continue;
        };
        paired.insert(r[5].text());
        let Some((client_id, grant)) = apps.get(&r[4].text()) else {
            report.skip("token of an application not imported");
            continue;
        };
        let Some(rt_digest) = digest_of(
            &r[2].text(),
            Some(r[3].text()).as_deref().filter(|s| !s.is_empty()),
        ) else {
            report.skip("refresh token without text or checksum");
            continue;
        };
        let live_access = (at.expires > now).then_some(at.token).flatten();
        grants.push(ImportedGrant {
            client_id: client_id.clone(),
            username: usernames.get(&r[1].text()).cloned(),
            kind: *grant,
            scope: at.scope.clone(),
            created_at: created.min(at.created),
            expires_at: expires.max(at.expires),
            access_token: live_access.map(|digest| NewToken {
                digest,
                scope: at.scope.clone(),
                issued_at: at.created,
                expires_at: at.expires,
            }),
            refresh_token: Some(NewToken {
                digest: rt_digest,
                scope: at.scope.clone(),
                issued_at: created,
                expires_at: expires,
            }),
        });
    }
    for (id, at) in &access {
        if paired.contains(id) {
            continue;
        }
        if at.expires <= now {
            report.skip("expired access token");
            continue;
        }
        let Some((client_id, grant)) = apps.get(&at.app) else {
            report.skip("token of an application not imported");
            continue;
        };
        let Some(digest) = at.token else {
            report.skip("access token without text or checksum");
            continue;
        };
        grants.push(ImportedGrant {
            client_id: client_id.clone(),
            username: usernames.get(&at.user).cloned(),
            kind: *grant,
            scope: at.scope.clone(),
            created_at: at.created,
            expires_at: at.expires,
            access_token: Some(NewToken {
                digest,
                scope: at.scope.clone(),
                issued_at: at.created,
                expires_at: at.expires,
            }),
            refresh_token: None,
        });
    }
    let batch = ImportBatch {
        source: crate::config::redact_url(url),
        at: now,
        users,
        clients,
        grants,
    };
    Ok((batch, report))
}

/// Imports into `store`: everything or, on a conflict, nothing.
pub async fn run(
    store: &dyn Store,
    batch: ImportBatch,
    mut report: Report,
) -> crate::Result<Report> {
    let ids: Vec<String> = batch
        .clients
        .iter()
        .map(|c| c.client.client_id.clone())
        .collect();
    // Name the application that conflicts before the transaction says only "conflict".
    for imported in &batch.clients {
        if let Some(existing) = store
            .client_by_client_id(&imported.client.client_id)
            .await?
        {
            let new = &imported.client;
            if existing.name != new.name
                || existing.client_type != new.client_type
                || existing.grant_types != new.grant_types
                || existing.redirect_uris != new.redirect_uris
            {
                return Err(anyhow!(
                    "the target already holds a different application with client id {:?}: nothing written",
                    new.client_id
                ));
            }
        }
    }
    report.counts = store.import(batch).await.map_err(|e| match e {
        StoreError::Conflict(_) => anyhow!(
            "the target already holds a different application with one of the client ids {ids:?}: nothing written"
        ),
        other => other.into(),
    })?;
    tracing::info!(target: "tessera::audit", event = "import_dot", users = report.counts.users_imported, applications = report.counts.clients_imported, grants = report.counts.grants_imported);
    Ok(report)
}
