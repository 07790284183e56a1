//! One statement on a rusqlite connection: `$n` placeholders rewritten to `?n`, parameters and
//! values converted, unique violations reported as conflicts.

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};
use tessera_store::sql::{Dialect, Param, Row, SqlConn, Value, sqlite_placeholders};
use tessera_store::{StoreError, StoreResult};

/// A connection the store owns: the writer's, or a pooled reader.
pub(crate) struct SqliteConn {
    conn: Connection,
}

struct Bind<'a>(&'a Param<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self.0 {
            Param::Null => ValueRef::Null,
            Param::Int(i) => ValueRef::Integer(i),
            // SQLite has no boolean type: 0 and 1, as the schema's CHECK-free INTEGER columns.
            Param::Bool(b) => ValueRef::Integer(i64::from(b)),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn value_of(v: ValueRef<'_>) -> rusqlite::Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(rusqlite::Error::Utf8Error)?
                .to_owned(),
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Real(_) => {
            return Err(rusqlite::Error::InvalidColumnType(
                0,
                "real".into(),
                rusqlite::types::Type::Real,
            ));
        }
    })
}

/// A unique or primary-key violation is a conflict the caller names; anything else means
/// the store cannot serve.
fn store_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict("a unique value")
        }
        _ => StoreError::unavailable(e),
    }
}

impl SqliteConn {
    pub(crate) fn new(conn: Connection) -> Self {
        Self { conn }
    }

    /// Runs statements without parameters (transaction control).
    pub(crate) fn batch(&mut self, sql: &str) -> StoreResult<()> {
        self.conn.execute_batch(sql).map_err(store_error)
    }

    fn run_execute(&mut self, sql: &str, params: &[Param<'_>]) -> rusqlite::Result<u64> {
        let mut stmt = self.conn.prepare_cached(&sqlite_placeholders(sql))?;
        let n = stmt.execute(rusqlite::params_from_iter(params.iter().map(Bind)))?;
        Ok(n as u64)
    }

    fn run_query(&mut self, sql: &str, params: &[Param<'_>]) -> rusqlite::Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(&sqlite_placeholders(sql))?;
        let columns = stmt.column_count();
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter().map(Bind)), |r| {
            (0..columns)
                .map(|i| value_of(r.get_ref(i)?))
                .collect::<rusqlite::Result<Vec<Value>>>()
                .map(Row::new)
        })?;
        rows.collect()
    }
}

/// Every call answers at once: the futures never wait, so the writer thread and readers run
/// whole operations in one poll (`tessera_store::sql::complete_now`).
#[async_trait]
impl SqlConn for SqliteConn {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
        self.run_execute(sql, params).map_err(store_error)
    }

    async fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Row>> {
        self.run_query(sql, params).map_err(store_error)
    }
}
