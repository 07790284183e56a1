//! Fresh, isolated databases for tests: one schema per test in the PostgreSQL server named by
//! `TESSERA_TEST_POSTGRES_URL` (default: this machine's `postgres://postgres@127.0.0.1:5432/test`).
//! Tests fail, never skip, when the server is not there.

use tokio_postgres::NoTls;

pub fn server_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A new empty schema, dropped with everything in it when the value is dropped.
pub struct TestSchema {
    pub name: String,
    /// The database URL whose connections use only this schema.
    pub url: String,
}

impl TestSchema {
    pub async fn create() -> Self {
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let (client, conn) = tokio_postgres::connect(&server_url(), NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {} is required for these tests: {e}",
                    server_url()
                )
            });
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap_or_else(|e| panic!("create schema: {e}"));
        let sep = if server_url().contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}options=-c%20search_path%3D{name}", server_url());
        Self { name, url }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Best effort, on a thread of its own: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, conn)) = tokio_postgres::connect(&server_url(), NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}
