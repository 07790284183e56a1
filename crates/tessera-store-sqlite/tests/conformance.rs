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

/// Under writes that never pause, with reads running all the time, the WAL must still be
/// restarted and truncated: a checkpoint that only ever runs beside the writer never catches
/// up with it, and the WAL would grow until the disk is full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_constant_writes() {
    use tessera_core::client::{ClientType, GrantType, SecretHash};
    use tessera_core::grant::{NewGrant, NewToken, TokenType};
    use tessera_core::token::TokenDigest;
    use tessera_store::NewClient;
    use tessera_store::prelude::*;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let store = Arc::new(SqliteStore::open(&path).expect("open"));
    let client = store
        .insert_client(NewClient {
            client_id: "c".into(),
            name: "c".into(),
            client_type: ClientType::Confidential,
            grant_types: vec![GrantType::ClientCredentials],
            secret: SecretHash::sha256_of("s"),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            user_id: None,
            skip_authorization: false,
            algorithm: None,
            access_token_format: Default::default(),
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: true,
            created_at: 0,
        })
        .await
        .expect("client");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = store
                    .find_token(TokenType::AccessToken, &TokenDigest([0; 32]))
                    .await;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut max_wal = 0u64;
    for round in 0u32..200 {
        let mut batch = tokio::task::JoinSet::new();
        for i in 0u32..500 {
            let store = store.clone();
            let mut digest = [0u8; 32];
            digest[..4].copy_from_slice(&round.to_be_bytes());
            digest[4..8].copy_from_slice(&i.to_be_bytes());
            let grant = NewGrant {
                client_pk: client.id,
                user_id: None,
                kind: GrantType::ClientCredentials,
                scope: "read ".repeat(40),
                created_at: 0,
                expires_at: 10,
                auth_time: None,
            };
            let token = NewToken {
                digest: TokenDigest(digest),
                scope: "read ".repeat(40),
                issued_at: 0,
                expires_at: 10,
            };
            batch.spawn(async move { store.insert_grant(grant, token, None).await });
        }
        while let Some(r) = batch.join_next().await {
            r.expect("task").expect("insert");
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
        max_wal = max_wal.max(wal);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.await.expect("reader");
    let db = std::fs::metadata(&path).expect("db").len();
    assert!(db > 8 << 20, "the test wrote enough to matter ({db} bytes)");
    assert!(max_wal < 80 << 20, "the WAL grew to {max_wal} bytes");
}
