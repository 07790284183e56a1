//! The shared store conformance suite, on a fresh SQLite file per test.

use std::sync::Arc;

use tessera_store::conformance::Harness;
use tessera_store_sqlite::SqliteStore;

async fn fresh() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("t.db")).expect("open");
    Harness {
        store: Arc::new(store),
        guard: Box::new(dir),
    }
}

tessera_store::store_conformance_tests!(fresh);
