//! The shared store conformance suite, on a fresh PostgreSQL schema per test.

use std::sync::Arc;

use tessera_store::conformance::Harness;
use tessera_store_postgres::testing::TestSchema;
use tessera_store_postgres::{PoolSettings, PostgresStore};

async fn fresh() -> Harness {
    let schema = TestSchema::create().await;
    let store = PostgresStore::new(&schema.url, PoolSettings::default()).expect("pool");
    store.migrate().await.expect("migrate");
    Harness {
        store: Arc::new(store),
        guard: Box::new(schema),
    }
}

tessera_store::store_conformance_tests!(fresh);
