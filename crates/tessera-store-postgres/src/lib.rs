//! The PostgreSQL store: any number of stateless `tessera serve` nodes share one database.
//!
//! Every operation is one statement or one transaction, so what one node commits every other
//! node sees at once; nothing about tokens is cached in a node. Exactly-once steps (rotating a
//! refresh token, redeeming a code) are conditional `UPDATE`s: under READ COMMITTED the second
//! of two concurrent updates waits for the first, re-reads the row, finds it used and changes
//! nothing. A commit returns only once PostgreSQL has made it durable.
//!
//! The pool connects lazily: a node starts while the database is down, answers `/ready` with
//! 503, and recovers by itself; migrations are applied on the first successful connection,
//! under an advisory lock so that nodes starting together apply them once.
//!
//! The SQL itself is shared with SQLite in `tessera_store::sql`; this crate supplies the
//! connection ([`conn`]) and runs operations on a pooled connection or in a transaction.
//!
//! # Layout
//! - this module: connection settings, the pool, migrations, transactions.
//! - [`conn`]: one statement on a connection, parameters and values converted.
//! - [`tls`]: TLS with libpq's `sslmode` and `sslrootcert`.
//! - [`testing`]: isolated schemas for tests on a real server.

mod conn;
pub mod testing;
pub mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tessera_store::sql::{BoxFuture, Database, Dialect, Op, measured, schema};
use tessera_store::{StoreError, StoreResult};
use tokio_postgres::NoTls;

use crate::conn::PgConn;

/// An arbitrary constant naming Tessera's migration lock.
const MIGRATION_LOCK: i64 = 0x7465_7373_6572_6101;

/// Connection pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_size: usize,
    /// Bounds connecting and waiting for a free connection.
    pub timeout: Duration,
    /// Bounds each statement on the server, so no request hangs on a stuck query.
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    migrated: Arc<AtomicBool>,
    migrating: Arc<tokio::sync::Mutex<()>>,
}

/// Whether a URL names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl PostgresStore {
    /// Builds the pool without connecting; call [`PostgresStore::migrate`] to require the
    /// database now (the `migrate` command), or let the first operation do it.
    pub fn new(url: &str, settings: PoolSettings) -> StoreResult<Self> {
        let (url, tls) = tls::split_url(url).map_err(StoreError::unavailable)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::unavailable(InvalidUrl(e)))?;
        config.ssl_mode(tls::driver_mode(&tls));
        let connector = tls::connector(&tls).map_err(StoreError::unavailable)?;
        config.connect_timeout(settings.timeout);
        let statement_timeout = format!(
            "-c statement_timeout={}",
            settings.statement_timeout.as_millis()
        );
        let options = match config.get_options() {
            Some(existing) if !existing.is_empty() => format!("{existing} {statement_timeout}"),
            _ => statement_timeout,
        };
        config.options(&options);
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match connector {
            Some(tls) => Manager::from_config(config, tls, manager_config),
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(settings.max_size.max(1))
            .wait_timeout(Some(settings.timeout))
            .create_timeout(Some(settings.timeout))
            .recycle_timeout(Some(settings.timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(StoreError::unavailable)?;
        Ok(Self {
            pool,
            migrated: Arc::new(AtomicBool::new(false)),
            migrating: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Applies the migrations not yet applied (once per process; a no-op afterwards).
    pub async fn migrate(&self) -> StoreResult<()> {
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = self.migrating.lock().await;
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut conn = self.pool.get().await.map_err(StoreError::unavailable)?;
        let tx = conn.transaction().await.map_err(StoreError::unavailable)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(StoreError::unavailable)?;
        // `CREATE TABLE IF NOT EXISTS` on an existing table answers with a NOTICE, which the
        // driver logs: every start would print "relation ... already exists, skipping". Only
        // warnings and errors are worth an operator's attention here.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .await
            .map_err(StoreError::unavailable)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS tessera_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(StoreError::unavailable)?;
        let applied: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM tessera_migrations",
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(StoreError::unavailable)?;
        for (i, sql) in schema::migrations(Dialect::Postgres).iter().enumerate() {
            let version = i as i32 + 1;
            if version <= applied {
                continue;
            }
            tx.batch_execute(sql)
                .await
                .map_err(StoreError::unavailable)?;
            tx.execute(
                "INSERT INTO tessera_migrations (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                &[&version],
            )
            .await
            .map_err(StoreError::unavailable)?;
            tracing::info!(version, "applied PostgreSQL migration");
        }
        tx.commit().await.map_err(StoreError::unavailable)?;
        self.migrated.store(true, Ordering::Release);
        Ok(())
    }

    /// A pooled connection to a migrated database.
    async fn conn(&self) -> StoreResult<deadpool_postgres::Object> {
        self.migrate().await?;
        let conn = self.pool.get().await.map_err(StoreError::unavailable);
        self.record_pool_use();
        conn
    }

    /// The pool as gauges: connections open, in use, and callers waiting for one.
    fn record_pool_use(&self) {
        let status = self.pool.status();
        metrics::gauge!("tessera_store_pool_connections", "state" => "open")
            .set(status.size as f64);
        metrics::gauge!("tessera_store_pool_connections", "state" => "in_use")
            .set(status.size.saturating_sub(status.available) as f64);
        metrics::gauge!("tessera_store_pool_waiting").set(status.waiting as f64);
        metrics::gauge!("tessera_store_pool_max_size").set(status.max_size as f64);
    }
}

/// A URL that does not parse, with the driver's reason as its source.
#[derive(Debug, thiserror::Error)]
#[error("invalid PostgreSQL URL")]
struct InvalidUrl(#[source] tokio_postgres::Error);

impl Database for PostgresStore {
    /// Any pooled connection, outside a transaction: each statement sees every commit made
    /// before it began, on any node.
    fn read<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>> {
        Box::pin(measured("postgres", "read", async move {
            let conn = self.conn().await?;
            op(&mut PgConn(&conn)).await
        }))
    }

    /// One transaction; the result is returned only after PostgreSQL commits it (durable
    /// with the default `synchronous_commit=on`).
    fn write<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>> {
        Box::pin(measured("postgres", "write", async move {
            let mut conn = self.conn().await?;
            let tx = conn.transaction().await.map_err(StoreError::unavailable)?;
            let result = op(&mut PgConn(&tx)).await?;
            tx.commit().await.map_err(StoreError::unavailable)?;
            Ok(result)
        }))
    }

    /// One statement commits by itself: no BEGIN and COMMIT round trips.
    fn write_one<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>> {
        Box::pin(measured("postgres", "write", async move {
            let conn = self.conn().await?;
            op(&mut PgConn(&conn)).await
        }))
    }

    /// Every operation holds its pooled connection until it has committed; closing the pool
    /// refuses new ones and drops the idle connections.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.pool.close();
        })
    }
}
