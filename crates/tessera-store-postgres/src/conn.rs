//! One statement on a PostgreSQL connection or transaction: parameters bound by the type the
//! server inferred for each placeholder, values read by column type, unique violations
//! reported as conflicts.

use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::GenericClient;
use tessera_store::sql::{Dialect, Param, Row, SqlConn, Value};
use tessera_store::{BoxError, StoreError, StoreResult};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// A pooled connection, or a transaction on one.
pub(crate) struct PgConn<'a, C: GenericClient>(pub(crate) &'a C);

#[derive(Debug)]
struct Bind<'a>(&'a Param<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match *self.0 {
            Param::Null => Ok(IsNull::Yes),
            // Integer columns are BIGINT; an INTEGER placeholder (a literal's type) still fits.
            Param::Int(i) if *ty == Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
            Param::Int(i) => i.to_sql(ty, out),
            Param::Bool(b) => b.to_sql(ty, out),
            Param::Text(s) => s.to_sql(ty, out),
            Param::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which refuses a type that does not fit.
        true
    }

    to_sql_checked!();
}

fn value_of(row: &tokio_postgres::Row, i: usize) -> Result<Value, tokio_postgres::Error> {
    let ty = row.columns()[i].type_();
    Ok(match *ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Value::Null, Value::Bool),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Bytes),
        _ => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text),
    })
}

fn store_error(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict("a unique value")
    } else {
        StoreError::unavailable(e)
    }
}

impl<C: GenericClient> PgConn<'_, C> {
    async fn prepared(&self, sql: &str) -> StoreResult<tokio_postgres::Statement> {
        self.0.prepare_cached(sql).await.map_err(store_error)
    }
}

#[async_trait]
impl<C: GenericClient + Sync> SqlConn for PgConn<'_, C> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
        let stmt = self.prepared(sql).await?;
        let binds: Vec<Bind<'_>> = params.iter().map(Bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        self.0.execute(&stmt, &refs).await.map_err(store_error)
    }

    async fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Row>> {
        let stmt = self.prepared(sql).await?;
        let binds: Vec<Bind<'_>> = params.iter().map(Bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        let rows = self.0.query(&stmt, &refs).await.map_err(store_error)?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| value_of(r, i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row::new)
                    .map_err(store_error)
            })
            .collect()
    }
}
