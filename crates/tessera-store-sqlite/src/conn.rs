//! One statement on a rusqlite connection: `$n` placeholders bound by name, parameters and
//! values converted, unique violations reported as conflicts.
//!
//! SQLite reads `$1` as a named parameter and numbers named parameters in the order they first
//! appear, which is not always `$n`'s order (`SET used_at = $2 WHERE digest = $1`); binding each
//! value by its name keeps the statement text as written, so it is also the key of the
//! prepared-statement cache, with no rewriting per call.

use async_trait::async_trait;
use std::ffi::CStr;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Statement, ToSql};
use tessera_store::sql::{Dialect, Param, Row, SqlConn, Value};
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

/// The names of `$1`..`$24`, as SQLite looks them up.
const NAMES: [&CStr; 24] = [
    c"$1", c"$2", c"$3", c"$4", c"$5", c"$6", c"$7", c"$8", c"$9", c"$10", c"$11", c"$12", c"$13",
    c"$14", c"$15", c"$16", c"$17", c"$18", c"$19", c"$20", c"$21", c"$22", c"$23", c"$24",
];

/// Binds `params[i]` to `$i+1`.
fn bind(stmt: &mut Statement<'_>, params: &[Param<'_>]) -> rusqlite::Result<()> {
    for (i, p) in params.iter().enumerate() {
        let name = NAMES.get(i).ok_or(rusqlite::Error::InvalidParameterCount(
            params.len(),
            NAMES.len(),
        ))?;
        stmt.raw_bind_parameter(*name, Bind(p))?;
    }
    Ok(())
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
        let mut stmt = self.conn.prepare_cached(sql)?;
        bind(&mut stmt, params)?;
        Ok(stmt.raw_execute()? as u64)
    }

    /// Calls `each` with every row until it answers `false` (a lookup by key stops at the
    /// first).
    fn run_query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(Row) -> bool,
    ) -> rusqlite::Result<()> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        bind(&mut stmt, params)?;
        let columns = stmt.column_count();
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(value_of(r.get_ref(i)?)?);
            }
            if !each(Row::new(values)) {
                break;
            }
        }
        Ok(())
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
        let mut out = Vec::new();
        self.run_query(sql, params, |row| {
            out.push(row);
            true
        })
        .map_err(store_error)?;
        Ok(out)
    }

    async fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Option<Row>> {
        let mut first = None;
        self.run_query(sql, params, |row| {
            first = Some(row);
            false
        })
        .map_err(store_error)?;
        Ok(first)
    }
}
