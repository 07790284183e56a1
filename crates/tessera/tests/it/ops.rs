//! Operating Tessera: metrics, request logs, the admin API, error pages for browsers, and a
//! graceful shutdown.

use serde_json::{Value, json};
use tessera_web::paths;

use crate::common::{BinServer, TestServer, create_app, run};

/// The sum of every sample of `name` whose labels include all of `labels`, from Prometheus'
/// text format (0 when there is none).
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric_name, label_text) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric_name != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")));
            all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn scrape(url: &str) -> String {
    let r = reqwest::get(url).await.expect("GET /metrics");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4"),
        "the Prometheus text format"
    );
    r.text().await.expect("body")
}

/// Every server of a test binary shares the process's one recorder, so the test compares
/// what moved between two scrapes, by at least what it caused itself.
#[tokio::test]
async fn metrics_move_as_requests_happen() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "wonderland").await;
    let before = scrape(&server.url(paths::METRICS)).await;

    let token = server.client_token(&app, None).await;
    let tokens = server.password_tokens(&app, "alice", "wonderland").await;
    assert!(server.is_active(&app, &token).await);
    let r = server
        .post_as(paths::REVOKE, &app, &format!("token={token}"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(!server.is_active(&app, &token).await);
    let wrong = crate::common::TestClient {
        id: app.id.clone(),
        secret: Some("wrong".into()),
    };
    let r = server
        .post_as(paths::TOKEN, &wrong, "grant_type=client_credentials")
        .await;
    assert_eq!(r.status(), 401);
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=nope",
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(!tokens.access().is_empty());

    let after = scrape(&server.url(paths::METRICS)).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        metric(&after, name, labels) - metric(&before, name, labels)
    };
    assert!(
        moved(
            "tessera_tokens_issued_total",
            &[("grant_type", "client_credentials")]
        ) >= 1.0
    );
    assert!(moved("tessera_tokens_issued_total", &[("grant_type", "password")]) >= 1.0);
    assert!(
        moved(
            "tessera_revocations_total",
            &[("outcome", "revoked"), ("by", "client")]
        ) >= 1.0
    );
    assert!(moved("tessera_introspections_total", &[("answer", "active")]) >= 1.0);
    assert!(moved("tessera_introspections_total", &[("answer", "inactive")]) >= 1.0);
    assert!(moved("tessera_client_authentication_failures_total", &[]) >= 1.0);
    assert!(moved("tessera_sign_in_failures_total", &[]) >= 1.0);
    assert!(
        moved(
            "tessera_http_requests_total",
            &[("route", "/o/token"), ("method", "POST"), ("status", "200")]
        ) >= 2.0
    );
    assert!(
        moved(
            "tessera_http_requests_total",
            &[("route", "/o/token"), ("status", "401")]
        ) >= 1.0
    );
    assert!(
        moved(
            "tessera_http_request_duration_seconds_count",
            &[("route", "/o/revoke_token")]
        ) >= 1.0,
        "a latency histogram per route"
    );
    assert!(
        after.contains("tessera_http_request_duration_seconds_bucket{"),
        "buckets, not a summary"
    );
    let backend = match crate::BACKEND {
        crate::common::Backend::Sqlite => "sqlite",
        crate::common::Backend::Postgres => "postgres",
    };
    assert!(
        moved(
            "tessera_store_operation_seconds_count",
            &[("backend", backend), ("kind", "write")]
        ) >= 2.0,
        "store latency"
    );
    match crate::BACKEND {
        crate::common::Backend::Sqlite => assert!(
            moved("tessera_sqlite_group_commit_size_count", &[]) >= 1.0,
            "group-commit sizes"
        ),
        crate::common::Backend::Postgres => assert!(
            metric(&after, "tessera_store_pool_max_size", &[]) >= 1.0,
            "pool use"
        ),
    }
    // Unknown paths share one label value, so a scanner cannot grow the series.
    server
        .http
        .get(server.url("/no/such/path/7"))
        .send()
        .await
        .expect("GET");
    let later = scrape(&server.url(paths::METRICS)).await;
    assert!(!later.contains("/no/such/path"));
    assert!(
        metric(
            &later,
            "tessera_http_requests_total",
            &[("route", "unmatched")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn rate_limit_refusals_and_janitor_rows_are_counted() {
    let server = TestServer::start_with(|mut s| {
        s.rate_limits.per_principal = 1;
        s
    })
    .await;
    let app = server.confidential().await;
    let before = scrape(&server.url(paths::METRICS)).await;
    let wrong = crate::common::TestClient {
        id: app.id.clone(),
        secret: Some("wrong".into()),
    };
    for _ in 0..3 {
        server
            .post_as(paths::TOKEN, &wrong, "grant_type=client_credentials")
            .await;
    }
    let after = scrape(&server.url(paths::METRICS)).await;
    assert!(
        metric(
            &after,
            "tessera_rate_limited_total",
            &[("principal", "client")]
        ) - metric(
            &before,
            "tessera_rate_limited_total",
            &[("principal", "client")]
        ) >= 2.0
    );

    // A cleanup pass counts what it deleted.
    let other = server.confidential().await;
    server.client_token(&other, None).await;
    server.advance(7200);
    tessera_store::janitor::purge_all(&*server.store, &*server.clock, 100)
        .await
        .expect("purge");
    let cleaned = scrape(&server.url(paths::METRICS)).await;
    assert!(
        metric(
            &cleaned,
            "tessera_janitor_rows_deleted_total",
            &[("kind", "access_token")]
        ) - metric(
            &after,
            "tessera_janitor_rows_deleted_total",
            &[("kind", "access_token")]
        ) >= 1.0
    );
}

/// `metrics_bind` moves /metrics to a listener of its own; the main listener then answers 404
/// there, so the public address never shows them.
#[tokio::test]
async fn metrics_bind_moves_metrics_off_the_main_listener() {
    let (_db, url) = crate::common::fresh_db().await;
    let server = BinServer::start_with_env(&url, &[("TESSERA_METRICS_BIND", "127.0.0.1:0")]);
    let records = server
        .wait_for_record(|r| r["fields"]["message"] == "metrics listening")
        .await;
    let metrics_addr = records
        .iter()
        .find(|r| r["fields"]["message"] == "metrics listening")
        .and_then(|r| r["fields"]["address"].as_str())
        .expect("the metrics address is logged")
        .to_owned();
    let r = reqwest::get(server.url(paths::METRICS)).await.expect("GET");
    assert_eq!(r.status(), 404);
    reqwest::get(server.url(paths::HEALTH)).await.expect("GET");
    let text = scrape(&format!("http://{metrics_addr}{}", paths::METRICS)).await;
    assert!(
        metric(
            &text,
            "tessera_http_requests_total",
            &[("route", "/health")]
        ) >= 1.0
    );

    // Without it, the main listener serves them.
    let (_db2, url2) = crate::common::fresh_db().await;
    let plain = BinServer::start(&url2);
    scrape(&plain.url(paths::METRICS)).await;
}

#[tokio::test]
async fn every_request_gets_an_id_in_its_header_and_its_log_record() {
    let server = TestServer::start().await;
    let r = server
        .http
        .get(server.url(paths::HEALTH))
        .header("X-Request-Id", "lb-7f3a.9_x")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        r.headers()["x-request-id"],
        "lb-7f3a.9_x",
        "a sane id is kept"
    );
    for bad in ["has space", "a/b", &"x".repeat(65)] {
        let r = server
            .http
            .get(server.url(paths::HEALTH))
            .header("X-Request-Id", bad)
            .send()
            .await
            .expect("GET");
        let id = r.headers()["x-request-id"].to_str().expect("ascii");
        assert_ne!(id, bad);
        assert_eq!(id.len(), 20, "a new one instead: {id}");
    }
    let a = server
        .http
        .get(server.url("/nowhere"))
        .send()
        .await
        .expect("GET");
    let b = server
        .http
        .get(server.url("/nowhere"))
        .send()
        .await
        .expect("GET");
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);

    // The real binary's log: one record per request, apart from the audit records, with
    // the client that authenticated and the id the client saw; never a token.
    let (_db, url) = crate::common::fresh_db().await;
    let (client_id, secret) = create_app(&url, "confidential", "client-credentials");
    let secret = secret.expect("secret");
    let bin = BinServer::start(&url);
    let r = reqwest::Client::new()
        .post(bin.url(paths::TOKEN))
        .basic_auth(&client_id, Some(&secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Request-Id", "trace-42")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.headers()["x-request-id"], "trace-42");
    let token: Value = r.json().await.expect("json");
    let access = token["access_token"].as_str().expect("token").to_owned();
    let records = bin
        .wait_for_record(|r| r["fields"]["request_id"] == "trace-42")
        .await;
    let record = records
        .iter()
        .find(|r| r["fields"]["request_id"] == "trace-42")
        .expect("a request record");
    assert_eq!(record["target"], "tessera::request");
    assert_eq!(record["fields"]["method"], "POST");
    assert_eq!(record["fields"]["route"], "/o/token");
    assert_eq!(record["fields"]["status"], 200);
    assert_eq!(record["fields"]["client_id"], client_id.as_str());
    assert!(record["fields"]["duration_ms"].as_f64().is_some());
    let audit = records
        .iter()
        .find(|r| r["target"] == "tessera::audit" && r["fields"]["event"] == "token_issued")
        .expect("an audit record of the issuance");
    assert_eq!(audit["fields"]["grant_type"], "client_credentials");
    let all = bin.log.lock().expect("lock").join("\n");
    assert!(!all.contains(&access), "no token in the log");
    assert!(!all.contains(&secret), "no secret in the log");
}

/// An admin token made with the CLI, as its text.
fn admin_token(url: &str, name: &str) -> (i64, String) {
    let (code, out, err) = run(
        &[
            "admin-token",
            "create",
            "--name",
            name,
            "--json",
            "--database-url",
            url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    (
        v["id"].as_i64().expect("id"),
        v["admin_token"].as_str().expect("token").to_owned(),
    )
}

/// Every route of the OpenAPI document, with its parameters filled in.
fn documented_routes(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            let filled = path
                .replace("{client_id}", "nobody")
                .replace("{username}", "nobody")
                .replace("{grant_id}", "999999")
                .replace("{kid}", "nokey");
            out.push((method.to_ascii_uppercase(), filled));
        }
    }
    out
}

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = http.request(method.parse().expect("method"), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn the_admin_api_refuses_every_route_without_a_live_token() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (id, token) = admin_token(&server.database_url, "ops");
    let doc: Value = call(
        &http,
        "GET",
        &server.admin_url(paths::ADMIN_OPENAPI),
        Some(&token),
        None,
    )
    .await
    .json()
    .await
    .expect("the OpenAPI document");
    let routes = documented_routes(&doc);
    assert!(routes.len() >= 19, "{routes:?}");
    for (method, path) in &routes {
        let url = server.admin_url(path);
        for bad in [None, Some("tsad_not-a-real-token"), Some("Basic x")] {
            let r = call(&http, method, &url, bad, None).await;
            assert_eq!(r.status(), 401, "{method} {path} with {bad:?}");
            assert!(r.headers().contains_key("www-authenticate"));
        }
        // With the token, the route exists: whatever it answers, not 401 or 405.
        let r = call(&http, method, &url, Some(&token), None).await;
        assert!(
            ![401, 405].contains(&r.status().as_u16()),
            "{method} {path}: {}",
            r.status()
        );
    }
    // Revoked with the CLI: refused at once.
    let (code, _, err) = run(
        &[
            "admin-token",
            "revoke",
            &id.to_string(),
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    for (method, path) in &routes {
        let r = call(&http, method, &server.admin_url(path), Some(&token), None).await;
        assert_eq!(r.status(), 401, "{method} {path} with a revoked token");
    }
    let (code, out, _) = run(
        &[
            "admin-token",
            "list",
            "--json",
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(listed[0]["name"], "ops");
    assert!(listed[0]["revoked_at"].is_i64(), "{listed}");
    assert!(
        !out.contains(&token),
        "a token is shown once, at its creation"
    );
    let (code, _, err) = run(
        &[
            "admin-token",
            "revoke",
            &id.to_string(),
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_eq!(code, 1, "already revoked: {err}");
    let (code, _, err) = run(
        &[
            "admin-token",
            "create",
            "--name",
            " ",
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_eq!(code, 1, "a token needs a holder's name: {err}");
    // The admin API is not on the public listener.
    let r = http
        .get(server.url(paths::ADMIN_CLIENTS))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_admin_api_manages_clients_users_grants_and_keys() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (_, token) = admin_token(&server.database_url, "deploy-bot");
    let t = Some(token.as_str());
    let url = |p: &str| server.admin_url(p);

    // Users.
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_USERS),
        t,
        Some(json!({"username": "alice", "email": "alice@example.com", "password": "wonderland"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let alice: Value = r.json().await.expect("json");
    assert_eq!(alice["has_password"], true);
    assert!(alice.get("password").is_none() && alice.get("password_hash").is_none());
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_USERS),
        t,
        Some(json!({"username": "alice"})),
    )
    .await;
    assert_eq!(r.status(), 409);
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_USERS),
        t,
        Some(json!({"username": "bad name"})),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_USERS),
        t,
        Some(json!({"username": "x", "admin": true})),
    )
    .await;
    assert_eq!(r.status(), 400, "unknown fields are refused");
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_USERS),
        t,
        Some(json!({"username": "bob"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let bob_url = url(&paths::admin(paths::ADMIN_USER, "username", "bob"));
    let bob: Value = call(&http, "GET", &bob_url, t, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(bob["has_password"], false);
    let r = call(
        &http,
        "PUT",
        &url(&paths::admin(paths::ADMIN_USER_PASSWORD, "username", "bob")),
        t,
        Some(json!({"password": "builder"})),
    )
    .await;
    assert_eq!(r.status(), 204);
    let users: Value = call(&http, "GET", &url(paths::ADMIN_USERS), t, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(users.as_array().map(Vec::len), Some(2));

    // Clients: the registration rules apply.
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_CLIENTS),
        t,
        Some(json!({"client_type": "confidential", "grant_types": ["authorization-code"]})),
    )
    .await;
    assert_eq!(r.status(), 400, "a redirect URI is required");
    let body: Value = r.json().await.expect("json");
    assert!(
        body["error_description"]
            .as_str()
            .expect("why")
            .contains("redirect URI")
    );
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_CLIENTS),
        t,
        Some(json!({"client_type": "public", "grant_types": ["password"], "algorithm": "HS256"})),
    )
    .await;
    assert_eq!(r.status(), 400, "HS256 is refused, as on the command line");
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_CLIENTS),
        t,
        Some(json!({
            "client_type": "confidential",
            "grant_types": ["password", "client-credentials"],
            "name": "Billing",
            "client_id": "billing",
            "owner": "alice",
        })),
    )
    .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.expect("json");
    let secret = created["client_secret"]
        .as_str()
        .expect("shown once")
        .to_owned();
    assert_eq!(created["owner"], "alice");
    let billing = url(&paths::admin(paths::ADMIN_CLIENT, "client_id", "billing"));
    let shown: Value = call(&http, "GET", &billing, t, None)
        .await
        .json()
        .await
        .expect("json");
    assert!(shown.get("client_secret").is_none(), "never shown again");
    let r = call(
        &http,
        "PATCH",
        &billing,
        t,
        Some(json!({"name": "Billing 2", "allowed_scopes": "read"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await.expect("json");
    assert_eq!(changed["name"], "Billing 2");
    assert_eq!(changed["allowed_scopes"], "read");
    let r = call(
        &http,
        "PATCH",
        &billing,
        t,
        Some(json!({"grant_types": []})),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = call(
        &http,
        "GET",
        &url(&paths::admin(paths::ADMIN_CLIENT, "client_id", "nobody")),
        t,
        None,
    )
    .await;
    assert_eq!(r.status(), 404);

    // Grants: listed and revoked.
    let app = crate::common::TestClient {
        id: "billing".into(),
        secret: Some(secret),
    };
    let tokens = server.password_tokens(&app, "alice", "wonderland").await;
    let service = server.client_token(&app, None).await;
    let grants_url = url(&paths::admin(
        paths::ADMIN_CLIENT_GRANTS,
        "client_id",
        "billing",
    ));
    let grants: Value = call(&http, "GET", &grants_url, t, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(grants.as_array().map(Vec::len), Some(2));
    let alice_grants: Value = call(
        &http,
        "GET",
        &url(&paths::admin(paths::ADMIN_USER_GRANTS, "username", "alice")),
        t,
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let grant_id = alice_grants[0]["grant_id"].as_i64().expect("grant id");
    assert_eq!(alice_grants[0]["user"], "alice");
    let r = call(
        &http,
        "DELETE",
        &url(&paths::admin(paths::ADMIN_GRANT, "grant_id", grant_id)),
        t,
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    assert!(!server.is_active(&app, &tokens.access()).await);
    assert!(server.is_active(&app, &service).await);
    let r = call(
        &http,
        "DELETE",
        &url(&paths::admin(paths::ADMIN_GRANT, "grant_id", grant_id)),
        t,
        None,
    )
    .await;
    assert_eq!(r.status(), 404, "no live grant any more");
    let r = call(&http, "DELETE", &grants_url, t, None).await;
    let revoked: Value = r.json().await.expect("json");
    assert_eq!(revoked["revoked_grants"], 1);
    assert!(!server.is_active(&app, &service).await);

    // Keys.
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_KEYS_ROTATE),
        t,
        Some(json!({"algorithms": ["ES256"]})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.expect("json");
    assert_eq!(made[0]["algorithm"], "ES256");
    assert_eq!(made[0]["status"], "signing");
    let kid = made[0]["kid"].as_str().expect("kid").to_owned();
    let r = call(
        &http,
        "DELETE",
        &url(&paths::admin(paths::ADMIN_KEY, "kid", &kid)),
        t,
        None,
    )
    .await;
    assert_eq!(r.status(), 400, "the key that signs cannot be retired");
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_KEYS_ROTATE),
        t,
        Some(json!({"algorithms": ["ES256"]})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let r = call(
        &http,
        "DELETE",
        &url(&paths::admin(paths::ADMIN_KEY, "kid", &kid)),
        t,
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let keys: Value = call(&http, "GET", &url(paths::ADMIN_KEYS), t, None)
        .await
        .json()
        .await
        .expect("json");
    assert!(
        keys.as_array()
            .expect("keys")
            .iter()
            .all(|k| k["kid"] != kid.as_str())
    );
    let r = call(
        &http,
        "POST",
        &url(paths::ADMIN_KEYS_ROTATE),
        t,
        Some(json!({"algorithms": ["HS256"]})),
    )
    .await;
    assert_eq!(r.status(), 400);

    // Deletions.
    let r = call(&http, "DELETE", &billing, t, None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(call(&http, "GET", &billing, t, None).await.status(), 404);
    let r = call(&http, "DELETE", &bob_url, t, None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(call(&http, "GET", &bob_url, t, None).await.status(), 404);
    let r = call(&http, "PUT", &url(paths::ADMIN_CLIENTS), t, None).await;
    assert_eq!(r.status(), 405);
}

/// The admin API's actions are audited like the command line's, naming the token's holder.
#[tokio::test]
async fn the_admin_api_is_audited_and_off_unless_bound() {
    let (_db, url) = crate::common::fresh_db().await;
    let (_, token) = admin_token(&url, "terraform");
    let server = BinServer::start(&url);
    let off = reqwest::Client::new()
        .get(server.url(paths::ADMIN_CLIENTS))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(off.status(), 404, "off by default");
    drop(server);

    let server = BinServer::start_with_env(&url, &[("TESSERA_ADMIN_BIND", "127.0.0.1:0")]);
    let records = server
        .wait_for_record(|r| r["fields"]["message"] == "admin API listening")
        .await;
    let admin = records
        .iter()
        .find(|r| r["fields"]["message"] == "admin API listening")
        .and_then(|r| r["fields"]["address"].as_str())
        .expect("the admin address is logged")
        .to_owned();
    let r = reqwest::Client::new()
        .post(format!("http://{admin}{}", paths::ADMIN_CLIENTS))
        .bearer_auth(&token)
        .json(
            &json!({"client_type": "public", "grant_types": ["password"], "client_id": "cli-app"}),
        )
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 201);
    let records = server
        .wait_for_record(|r| r["fields"]["event"] == "application_created")
        .await;
    let audit = records
        .iter()
        .find(|r| r["fields"]["event"] == "application_created")
        .expect("an audit record");
    assert_eq!(audit["target"], "tessera::audit");
    assert_eq!(audit["fields"]["via"], "admin_api");
    assert_eq!(audit["fields"]["admin_token"], "terraform");
    assert_eq!(audit["fields"]["client_id"], "cli-app");
    let all = server.log.lock().expect("lock").join("\n");
    assert!(!all.contains(&token), "the admin token is never logged");
}

#[tokio::test]
async fn browsers_get_error_pages_and_api_clients_json() {
    let server = TestServer::start().await;
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in ["/", "/o/no-such-page/", "/o/token/"] {
        let r = server
            .http
            .get(server.url(path))
            .header("Accept", browser_accept)
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        assert!([404, 405].contains(&status), "{path}: {status}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/html"),
            "{path}"
        );
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        if status == 405 {
            assert!(r.headers().contains_key("allow"), "Allow is kept");
        }
        let page = r.text().await.expect("page");
        assert!(
            page.contains(&format!("href=\"{}\"", paths::APPLICATIONS)),
            "{path}: a way onward in {page}"
        );
        let r = server
            .http
            .get(server.url(path))
            .header("Accept", "application/json")
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status().as_u16(), status);
        let body: Value = r.json().await.expect("JSON for API clients");
        assert!(body["error"].is_string());
    }
    // A form sent without its token: the page says how to go on.
    let mut browser = crate::common::Browser::new(&server);
    let r = browser
        .post_form(paths::LOGIN, &[("username".into(), "x".into())])
        .await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.expect("page");
    assert!(page.contains("Form expired"), "{page}");
    assert!(
        page.contains(&format!("href=\"{}\"", paths::LOGIN)),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"{}\"", paths::APPLICATIONS)),
        "{page}"
    );
}

/// SIGTERM: the request in flight finishes and is answered, its revocation is committed,
/// then the store closes and the process exits 0; the revocation survives a restart.
#[tokio::test]
async fn sigterm_finishes_requests_in_flight_then_closes_the_store() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_db, url) = crate::common::fresh_db().await;
    let (client_id, secret) = create_app(&url, "confidential", "client-credentials");
    let secret = secret.expect("secret");
    let (code, out, err) = run(
        &[
            "createtoken",
            &client_id,
            "--count",
            "2",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let tokens: Vec<String> = out.lines().map(str::to_owned).collect();
    let mut server = BinServer::start(&url);

    // One revocation acknowledged before the signal.
    let http = reqwest::Client::new();
    let form = |t: &str| format!("token={t}&client_id={client_id}&client_secret={secret}");
    let r = http
        .post(server.url(paths::REVOKE))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&tokens[0]))
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 200);

    // Another in flight when the signal comes: its headers sent, half its body not yet.
    let body = form(&tokens[1]);
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&server.addr)
        .await
        .expect("connect");
    conn.write_all(
        format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
            paths::REVOKE,
            body.len()
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server.sigterm();
    server
        .wait_for_record(|r| {
            r["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("shutting down"))
        })
        .await;
    // New connections are refused while the one in flight is still served.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(&server.addr).await.is_err(),
        "no new connections once shutting down"
    );
    conn.write_all(rest.as_bytes())
        .await
        .expect("write the rest");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().expect("wait");
        (status, server)
    })
    .await
    .expect("join");
    let (status, server) = status;
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    let messages: Vec<String> = server
        .records()
        .iter()
        .filter_map(|r| r["fields"]["message"].as_str().map(str::to_owned))
        .collect();
    let shutting = messages.iter().position(|m| m.starts_with("shutting down"));
    let closed = messages.iter().position(|m| m.starts_with("store closed"));
    assert!(
        matches!((shutting, closed), (Some(a), Some(b)) if a < b),
        "{messages:?}"
    );

    let again = BinServer::start(&url);
    for t in &tokens {
        let v: Value = http
            .post(again.url(paths::INTROSPECT))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(t))
            .send()
            .await
            .expect("introspect")
            .json()
            .await
            .expect("json");
        assert_eq!(v, json!({"active": false}), "a revocation was lost");
    }
}
