//! Durability: a revocation answered 200 survives `kill -9` of the server. On SQLite the
//! server restarts on the same file; on PostgreSQL a second node reads what the killed one
//! acknowledged.

use std::sync::Arc;

use serde_json::Value;
use tessera_web::paths;
use tokio::sync::Mutex;

use crate::common::{BinServer, create_app, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_revocation_survives_kill_9() {
    let (_db, url) = crate::common::fresh_db().await;
    let (client_id, secret) = create_app(&url, "confidential", "client-credentials");
    let secret = secret.expect("secret");
    let (code, out, err) = run(
        &[
            "createtoken",
            &client_id,
            "--count",
            "300",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let tokens: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(tokens.len(), 300);

    let mut server = BinServer::start(&url);
    let other_node =
        (crate::BACKEND == crate::common::Backend::Postgres).then(|| BinServer::start(&url));
    let http = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for token in tokens.clone() {
        let http = http.clone();
        let url = server.url(paths::REVOKE);
        let body = format!("token={token}&client_id={client_id}&client_secret={secret}");
        let acknowledged = acknowledged.clone();
        tasks.push(tokio::spawn(async move {
            if let Ok(r) = http
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                && r.status() == 200
            {
                acknowledged.lock().await.push(token);
            }
        }));
    }
    // Kill the server as soon as some revocations are acknowledged, with others in flight.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while acknowledged.lock().await.len() < 50 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    server.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() >= 50,
        "only {} acknowledged",
        acknowledged.len()
    );

    let server = other_node.unwrap_or_else(|| BinServer::start(&url));
    for token in &acknowledged {
        let r = http
            .post(server.url(paths::INTROSPECT))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "token={token}&client_id={client_id}&client_secret={secret}"
            ))
            .send()
            .await
            .expect("introspect");
        let v: Value = r.json().await.expect("json");
        assert_eq!(
            v,
            serde_json::json!({"active": false}),
            "an acknowledged revocation was lost"
        );
    }
}
