//! The embedded SQLite store: zero setup, one file, durable revocations.
//!
//! # How writes stay durable and fast
//! All writes go through one writer thread that owns the only writing connection. It takes
//! every job waiting in its queue, runs each inside its own savepoint of one transaction, and
//! commits once (WAL with `synchronous=FULL`, so the commit is fsync'd). Only after that commit
//! returns does any job's caller get its answer: a revocation is on disk before its 200, and
//! requests that arrive together share one fsync (group commit). A failing job rolls back to
//! its savepoint without disturbing the others in its group.
//!
//! Reads run on a small pool of read-only connections, on the calling thread; in WAL mode
//! they never wait for the writer, and each statement sees every commit made before it began.
//!
//! The SQL itself is shared with PostgreSQL in `tessera_store::sql`; this crate supplies the
//! connection ([`conn`]) and runs operations on the writer thread or a reader.
//!
//! # Layout
//! - this module: opening, migrations, the writer thread and the read pool.
//! - [`conn`]: one statement on a rusqlite connection, parameters and values converted.

mod conn;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tessera_store::sql::{BoxFuture, Database, Dialect, Op, complete_now, measured, schema};
use tessera_store::{StoreError, StoreResult};
use tokio::sync::oneshot;

use crate::conn::SqliteConn;

/// The most jobs committed together; bounds the latency one group adds to its first member.
const MAX_GROUP: usize = 512;
/// Idle read connections kept open; more are opened while more reads run at once.
const READERS: usize = 8;

/// Runs after the group commit with its outcome, to answer the job's caller.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A write job: given the connection (or `None` when the transaction could not begin), does
/// its work and returns how to answer once the group's commit is known.
type Job = Box<dyn FnOnce(Option<&mut SqliteConn>) -> Completion + Send>;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// `None` once closed: no more writes are taken.
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    readers: Mutex<Vec<SqliteConn>>,
    /// The writer thread, joined when the store closes.
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Parses `sqlite://PATH` (`sqlite://tessera.db`, `sqlite:///var/lib/tessera/t.db`); a bare
/// `sqlite:PATH` is accepted too.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or(rest);
    (!rest.is_empty()).then(|| PathBuf::from(rest))
}

/// Waits for another process's write lock (`tessera cleartokens` beside a running server) in
/// 1 ms steps for up to 5 s. SQLite's default handler backs off to 100 ms sleeps, which would
/// add that much latency to a request that meets the lock.
fn busy_wait(attempt: i32) -> bool {
    std::thread::sleep(std::time::Duration::from_millis(1));
    attempt < 5000
}

/// Distinct statements kept prepared per connection: every statement the store runs fits.
const STATEMENT_CACHE: usize = 64;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(busy_wait))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "could not enable WAL mode (got {mode})"
        )));
    }
    // FULL: every commit fsyncs the WAL, so a 200 survives power loss, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Checkpoints run mostly on their own thread (see `checkpoint_loop`), not inside a commit
    // that requests are waiting for. The writer still checkpoints when the WAL passes 1000
    // pages (SQLite's default): by then the background has copied nearly everything, and only
    // a checkpoint between two commits lets the WAL start over (under constant writes a
    // background checkpoint never catches the moving end, and the WAL would grow unbounded).
    conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
    // Once restarted, the WAL file is truncated back to 64 MiB at most.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(conn)
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// Copies committed WAL pages into the database file in the background with PASSIVE
/// checkpoints, which never block the writer, so a commit never pays for a checkpoint.
fn checkpoint_loop(conn: Connection, store: std::sync::Weak<Inner>) {
    while store.upgrade().is_some() {
        std::thread::sleep(CHECKPOINT_EVERY);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "SQLite checkpoint failed");
        }
    }
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// Applies the migrations not yet applied, each in its own transaction.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // `PRAGMA user_version` records how many are applied.
    for (i, sql) in schema::migrations(Dialect::Sqlite).iter().enumerate() {
        let version = i as i64 + 1;
        if version <= applied {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied SQLite migration");
    }
    Ok(())
}

/// Creates the database file readable by its owner only (0600), before SQLite opens it: the
/// file holds every client, user and token digest, and SQLite gives its `-wal` and `-shm`
/// files the mode of the database file. An existing file is left as it is.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, applies migrations and starts the
    /// writer thread.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        create_private(&path).map_err(StoreError::unavailable)?;
        let mut writer = open_writer(&path).map_err(StoreError::unavailable)?;
        migrate(&mut writer).map_err(StoreError::unavailable)?;
        let checkpointer = Connection::open(&path).map_err(StoreError::unavailable)?;
        configure(&checkpointer).map_err(StoreError::unavailable)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_thread = std::thread::Builder::new()
            .name("tessera-sqlite-writer".into())
            .spawn(move || writer_loop(SqliteConn::new(writer), rx))
            .map_err(StoreError::unavailable)?;
        let inner = Arc::new(Inner {
            path,
            writer: Mutex::new(Some(tx)),
            readers: Mutex::new(Vec::new()),
            writer_thread: Mutex::new(Some(writer_thread)),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("tessera-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, weak))
            .map_err(StoreError::unavailable)?;
        Ok(Self { inner })
    }

    /// Opens the store named by a `sqlite://` URL.
    pub fn open_url(url: &str) -> StoreResult<Self> {
        let path = path_from_url(url)
            .ok_or_else(|| StoreError::unavailable(format!("not a sqlite:// URL: {url}")))?;
        Self::open(path)
    }

    /// Sends a job to the writer thread; answers once its group is committed.
    async fn send<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteConn) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(StoreError::unavailable("could not begin a transaction")),
            };
            Box::new(move |commit| {
                let answer = match (result, commit) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(StoreError::unavailable(e)),
                };
                // The caller may have gone away (client disconnected); the write still stands.
                let _ = tx.send(answer);
            })
        });
        self.inner
            .writer
            .lock()
            .map_err(|_| StoreError::unavailable("writer lock poisoned"))?
            .as_ref()
            .ok_or_else(|| StoreError::unavailable("the store is closed"))?
            .send(job)
            .map_err(|_| StoreError::unavailable("the writer thread has stopped"))?;
        rx.await
            .map_err(|_| StoreError::unavailable("the writer thread dropped the job"))?
    }
}

impl Database for SqliteStore {
    /// Runs on a pooled read-only connection, on the calling thread. Reads are index lookups
    /// of microseconds against pages the OS has cached; handing each to the blocking pool
    /// cost more than the query (measured with bench/run.sh, see BENCHMARKS.md).
    fn read<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>> {
        Box::pin(measured("sqlite", "read", async move {
            let pooled = self.inner.readers.lock().ok().and_then(|mut v| v.pop());
            let mut conn = match pooled {
                Some(c) => c,
                None => {
                    SqliteConn::new(open_reader(&self.inner.path).map_err(StoreError::unavailable)?)
                }
            };
            let result = complete_now(op(&mut conn));
            if let Ok(mut v) = self.inner.readers.lock()
                && v.len() < READERS
            {
                v.push(conn);
            }
            result
        }))
    }

    /// Runs in its own savepoint of the writer's next group transaction.
    fn write<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>> {
        Box::pin(measured(
            "sqlite",
            "write",
            self.send(move |conn| complete_now(op(conn))),
        ))
    }

    /// Drops the writer's queue: the thread commits every group already queued, answers each
    /// job, and ends; this waits for it (off the runtime's workers), so what was acknowledged
    /// and what was only queued are both on disk when it returns.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Ok(mut writer) = self.inner.writer.lock() {
                writer.take();
            }
            let thread = self
                .inner
                .writer_thread
                .lock()
                .ok()
                .and_then(|mut t| t.take());
            if let Some(thread) = thread {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
        })
    }

    /// All in one job: one commit (one fsync) for the whole cleanup batch.
    fn write_each<T: Send + 'static>(&self, ops: Vec<Op<T>>) -> BoxFuture<'_, StoreResult<Vec<T>>> {
        Box::pin(measured(
            "sqlite",
            "write",
            self.send(move |conn| {
                ops.into_iter()
                    .map(|op| complete_now(op(&mut *conn)))
                    .collect()
            }),
        ))
    }
}

fn in_savepoint<T>(
    conn: &mut SqliteConn,
    f: impl FnOnce(&mut SqliteConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.batch("SAVEPOINT job")?;
    let result = f(conn);
    let end = if result.is_ok() {
        conn.batch("RELEASE job")
    } else {
        conn.batch("ROLLBACK TO job; RELEASE job")
    };
    match (result, end) {
        (Ok(v), Ok(())) => Ok(v),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e),
    }
}

fn writer_loop(mut conn: SqliteConn, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // How many requests share this commit's fsync.
        metrics::histogram!("tessera_sqlite_group_commit_size").record(jobs.len() as f64);
        let began = conn.batch("BEGIN IMMEDIATE");
        let completions: Vec<Completion> = match &began {
            Ok(()) => jobs.into_iter().map(|job| job(Some(&mut conn))).collect(),
            Err(_) => jobs.into_iter().map(|job| job(None)).collect(),
        };
        let commit = match began {
            Ok(()) => conn.batch("COMMIT").map_err(|e| {
                tracing::error!(error = %e, "SQLite commit failed");
                let _ = conn.batch("ROLLBACK");
                e.to_string()
            }),
            Err(e) => {
                tracing::error!(error = %e, "SQLite could not begin a transaction");
                Err(e.to_string())
            }
        };
        for done in completions {
            done(commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_wal_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        use tessera_store::prelude::*;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path).expect("open");
        store.ping().await.expect("ping");
        store
            .insert_user(tessera_store::NewUser {
                username: "alice".into(),
                email: String::new(),
                password_hash: None,
                created_at: 0,
            })
            .await
            .expect("write, so the WAL exists");
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("t.db{suffix}"));
            let mode = std::fs::metadata(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "t.db{suffix}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            path_from_url("sqlite://tessera.db"),
            Some(PathBuf::from("tessera.db"))
        );
        assert_eq!(
            path_from_url("sqlite:///var/lib/tessera/t.db"),
            Some(PathBuf::from("/var/lib/tessera/t.db"))
        );
        assert_eq!(
            path_from_url("sqlite:x.db?mode=rwc"),
            Some(PathBuf::from("x.db"))
        );
        assert_eq!(path_from_url("postgres://localhost/db"), None);
        assert_eq!(path_from_url("sqlite://"), None);
    }
}
