//! The SQL of every store operation, written once for SQLite and PostgreSQL.
//!
//! A backend supplies two things: a connection that runs one statement ([`SqlConn`]) and a way
//! to run an operation on a read connection or inside one atomic write ([`Database`]). Every
//! aggregate trait is then implemented here for any [`Database`], so the statements, their
//! parameters and the mapping of rows to records exist once and the backends cannot drift.
//!
//! Statements use `$n` placeholders, which PostgreSQL numbers and SQLite takes as names (its
//! connection binds each value by name). Where the dialects really differ, the statement is chosen by [`Dialect`] at that one
//! place, with a comment saying why. Both backends' schemas use the same column names and
//! encodings (see [`columns`]), so a database can be copied from one to the other.
//!
//! # Layout
//! - this module: [`SqlConn`], [`Database`], parameters, values and rows.
//! - [`columns`]: how records map to column values; [`schema`]: the migrations.
//! - one module per aggregate: [`clients`], [`users`], [`sessions`], [`codes`], [`grants`],
//!   [`keys`], [`consents`], [`devices`], [`registrations`], [`admin_tokens`], [`maintenance`].

pub mod admin_tokens;
pub mod clients;
pub mod codes;
pub mod columns;
pub mod consents;
pub mod devices;
pub mod grants;
pub mod imports;
pub mod keys;
pub mod maintenance;
pub mod registrations;
pub mod schema;
pub mod sessions;
pub mod users;

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use tessera_core::token::TokenDigest;

use crate::{StoreError, StoreResult};

/// Which SQL a connection speaks, for the few statements that must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement parameter, borrowed from the record being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<u32> for Param<'_> {
    fn from(v: u32) -> Self {
        Param::Int(i64::from(v))
    }
}

impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a TokenDigest> for Param<'a> {
    fn from(v: &'a TokenDigest) -> Self {
        Param::Bytes(v.as_bytes())
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Bytes(v)
    }
}

impl<'a, T> From<Option<T>> for Param<'a>
where
    T: Into<Param<'a>>,
{
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// Builds a parameter list: `params![a, &b, c]`.
#[macro_export]
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$($crate::sql::Param::from($p)),*][..]
    };
}
pub use crate::params;

/// A column value as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

/// One result row, read column by column in the order of the `SELECT` list.
#[derive(Debug, Clone)]
pub struct Row {
    values: std::vec::IntoIter<Value>,
    at: usize,
}

impl Row {
    pub fn new(values: Vec<Value>) -> Self {
        Self {
            values: values.into_iter(),
            at: 0,
        }
    }

    /// The next column, converted to `T`; an error names the column that did not fit.
    pub fn take<T: FromValue>(&mut self) -> StoreResult<T> {
        let at = self.at;
        self.at += 1;
        let value = self.values.next().unwrap_or(Value::Null);
        T::from_value(value).ok_or_else(|| bad_row(&format!("column {at}")))
    }
}

/// A record the database returned that no backend writes.
pub fn bad_row(what: &str) -> StoreError {
    StoreError::unavailable(format!("unreadable {what} in the database"))
}

/// Conversion from a column value; `None` when the value does not fit.
pub trait FromValue: Sized {
    fn from_value(v: Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
}

/// SQLite has no boolean type: it stores 0 and 1.
impl FromValue for bool {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(b),
            Value::Int(i) => Some(i != 0),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl FromValue for TokenDigest {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Bytes(b) => TokenDigest::from_slice(&b),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One connection of a backend, running one statement at a time. A unique-constraint
/// violation is reported as [`StoreError::Conflict`]; the operation names what conflicted.
#[async_trait]
pub trait SqlConn: Send {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns the number of rows it changed.
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64>;
    /// Runs a query; returns every row.
    async fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Row>>;

    /// Runs a query expected to return at most one row.
    async fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An operation to run on a connection: what [`Database`] executes.
pub type Op<T> =
    Box<dyn for<'c> FnOnce(&'c mut dyn SqlConn) -> BoxFuture<'c, StoreResult<T>> + Send>;

/// A backend: how operations reach a connection. Implementing it makes a type a full
/// [`Store`](crate::Store) through this module's implementations.
pub trait Database: Send + Sync + 'static {
    /// Runs an operation that only reads.
    fn read<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>>;
    /// Runs an operation that writes, atomically: every statement or none, durable before
    /// the future completes.
    fn write<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>>;
    /// Runs an operation whose writing is atomic by itself on this backend's dialect: exactly
    /// one writing statement on PostgreSQL, which may then skip the transaction around it (one
    /// round trip instead of three). A backend that does not override this (SQLite, whose
    /// writer wraps every operation in a transaction anyway) runs it as [`Database::write`],
    /// so an operation may take several statements where `SqlConn::dialect` says SQLite.
    fn write_one<T: Send + 'static>(&self, op: Op<T>) -> BoxFuture<'_, StoreResult<T>> {
        self.write(op)
    }
    /// Runs independent one-statement operations in order, each atomic by itself (cleanup
    /// batches). A backend may commit them together (SQLite: one fsync instead of several)
    /// or one by one (PostgreSQL: no lock held across statements, so several nodes' janitors
    /// and the requests they serve never wait for each other).
    fn write_each<T: Send + 'static>(&self, ops: Vec<Op<T>>) -> BoxFuture<'_, StoreResult<Vec<T>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                out.push(self.write_one(op).await?);
            }
            Ok(out)
        })
    }
    /// Finishes every write already handed over (committed or failed, each answered), then
    /// stops taking new ones; the last step of a graceful shutdown.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Runs a backend's operation, measuring it: `tessera_store_operation_seconds` (a histogram
/// by backend and kind: `read` or `write`) and `tessera_store_errors_total`. Each backend's
/// [`Database`] calls it once, so every store operation of every aggregate is measured.
pub async fn measured<T>(
    backend: &'static str,
    kind: &'static str,
    operation: impl Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    let started = std::time::Instant::now();
    let result = operation.await;
    metrics::histogram!("tessera_store_operation_seconds", "backend" => backend, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    if result.is_err() {
        metrics::counter!("tessera_store_errors_total", "backend" => backend, "kind" => kind)
            .increment(1);
    }
    result
}

/// Makes an [`Op`] of a closure: `op(move |c| Box::pin(clients::insert(c, new)))`. The bound
/// lets the compiler infer the closure's higher-ranked signature.
pub fn op<T, F>(f: F) -> Op<T>
where
    F: for<'c> FnOnce(&'c mut dyn SqlConn) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
{
    Box::new(f)
}

/// Runs a future that never waits to its end in one poll: a SQLite operation, whose
/// connection answers every statement synchronously, on the thread that owns the connection.
pub fn complete_now<T>(future: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => Err(StoreError::unavailable(
            "a store operation waited on a synchronous connection",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_in_order_and_refuse_what_does_not_fit() {
        let mut row = Row::new(vec![
            Value::Int(7),
            Value::Int(1),
            Value::Null,
            Value::Text("x".into()),
        ]);
        assert_eq!(row.take::<i64>().ok(), Some(7));
        assert_eq!(row.take::<bool>().ok(), Some(true));
        assert_eq!(row.take::<Option<String>>().ok(), Some(None));
        assert!(row.take::<i64>().is_err(), "text is not an integer");
        assert!(row.take::<String>().is_err(), "past the end");
    }
}
