//! Several stateless nodes on one PostgreSQL database, and a database that goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tessera_web::paths;

use crate::common::{TestServer, error_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_node_holds_at_once_on_the_other() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let app = a.confidential().await;
    a.user("alice", "pw").await;
    let t = a.password_tokens(&app, "alice", "pw").await;
    assert!(
        b.is_active(&app, &t.access()).await,
        "node B sees node A's token"
    );

    let r = b
        .post_as(paths::REVOKE, &app, &format!("token={}", t.access()))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        !a.is_active(&app, &t.access()).await,
        "node A sees node B's revocation"
    );
    let r = a
        .post_as(
            paths::TOKEN,
            &app,
            &format!("grant_type=refresh_token&refresh_token={}", t.refresh()),
        )
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_interleaved_revocations_and_introspections_see_no_stale_answer() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let app = a.confidential().await;
    let mut tokens = Vec::new();
    for _ in 0..1000 {
        tokens.push(a.client_token(&app, None).await);
    }
    for (i, token) in tokens.iter().enumerate() {
        let (revoker, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let r = revoker
            .post_as(paths::REVOKE, &app, &format!("token={token}"))
            .await;
        assert_eq!(r.status(), 200);
        assert!(
            !reader.is_active(&app, token).await,
            "pair {i}: a stale active answer"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_across_nodes_have_one_winner() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let app = a.confidential().await;
    a.user("alice", "pw").await;
    let t = a.password_tokens(&app, "alice", "pw").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let url = if i % 2 == 0 {
            a.url(paths::TOKEN)
        } else {
            b.url(paths::TOKEN)
        };
        let http = a.http.clone();
        let body = format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
            t.refresh(),
            app.id,
            app.secret()
        );
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let status = task.await.expect("task");
        assert!(status == 200 || status == 400, "{status}");
        ok += usize::from(status == 200);
    }
    assert_eq!(ok, 1, "exactly one refresh wins");
}

/// A TCP proxy to PostgreSQL that the test can cut and restore.
struct Switch {
    port: u16,
    up: Arc<AtomicBool>,
}

async fn proxy_to_postgres() -> Switch {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let up = Arc::new(AtomicBool::new(false));
    let flag = up.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            if !flag.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let flag = flag.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                else {
                    return;
                };
                // Copy until either side closes or the switch is cut.
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = async { while flag.load(Ordering::SeqCst) { tokio::time::sleep(Duration::from_millis(20)).await } } => {}
                }
            });
        }
    });
    Switch { port, up }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_while_the_database_is_down_and_recovers_by_itself() {
    let schema = tessera_store_postgres::testing::TestSchema::create().await;
    let switch = proxy_to_postgres().await;
    let url = schema
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", switch.port));
    assert_ne!(url, schema.url, "the URL goes through the proxy");

    let (code, _, err) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || crate::common::run(&["migrate", "--database-url", &url], None)
    })
    .await
    .expect("join");
    assert_ne!(code, 0, "migrate needs the database");
    assert!(
        err.contains("unavailable") || err.contains("error"),
        "{err}"
    );

    // The node starts while the database is unreachable.
    let node = tokio::task::spawn_blocking({
        let url = url.clone();
        move || crate::common::BinServer::start(&url)
    })
    .await
    .expect("join");
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let r = http
        .get(node.url(paths::READY))
        .send()
        .await
        .expect("ready");
    assert_eq!(r.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "no request hangs past the timeout"
    );
    assert_eq!(
        http.get(node.url(paths::HEALTH))
            .send()
            .await
            .expect("health")
            .status(),
        200
    );
    let r = http
        .post(node.url(paths::TOKEN))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=x&client_secret=y")
        .send()
        .await
        .expect("token");
    assert_eq!(error_of(r).await, (503, "temporarily_unavailable".into()));

    // The database comes back: the node recovers without a restart.
    switch.up.store(true, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = http
            .get(node.url(paths::READY))
            .send()
            .await
            .expect("ready");
        if r.status() == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the node never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // And when it goes away again, the answer is 503, then 200 once more.
    switch.up.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = http
        .get(node.url(paths::READY))
        .send()
        .await
        .expect("ready");
    assert_eq!(r.status(), 503);
    switch.up.store(true, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while http
        .get(node.url(paths::READY))
        .send()
        .await
        .expect("ready")
        .status()
        != 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the node never recovered the second time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(node);
}

/// POSTs a form and reads the JSON answer.
fn post_form(
    http: &reqwest::Client,
    url: String,
    body: String,
) -> impl std::future::Future<Output = serde_json::Value> + use<> {
    let request = http
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send();
    async move { request.await.expect("request").json().await.expect("json") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_from_sqlite_to_postgres_keeps_every_token_and_revocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite_file = dir.path().join("old.db");
    let sqlite_url = format!("sqlite://{}", sqlite_file.display());
    let (client_id, secret) =
        crate::common::create_app(&sqlite_url, "confidential", "client-credentials,password");
    let secret = secret.expect("secret");
    let (code, out, err) = crate::common::run(
        &[
            "createtoken",
            &client_id,
            "--count",
            "3",
            "--database-url",
            &sqlite_url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let tokens: Vec<String> = out.lines().map(str::to_owned).collect();
    let (code, _, _) = crate::common::run(
        &[
            "createuser",
            "alice",
            "--password-stdin",
            "--database-url",
            &sqlite_url,
        ],
        Some("pw\n"),
    );
    assert_eq!(code, 0);
    // Revoke the first token while still on SQLite.
    let old = crate::common::BinServer::start(&sqlite_url);
    let http = reqwest::Client::new();
    let form = |token: &str| format!("token={token}&client_id={client_id}&client_secret={secret}");
    let r = http
        .post(old.url(paths::REVOKE))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&tokens[0]))
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 200);
    let kid_of_id_token = |url: String| {
        let body = format!(
            "grant_type=password&username=alice&password=pw&scope=openid&client_id={client_id}&client_secret={secret}"
        );
        let answer = post_form(&http, url, body);
        async move {
            let v = answer.await;
            let id_token = v["id_token"].as_str().expect("id_token");
            tessera_jose::jws::decode(id_token)
                .expect("jws")
                .header
                .kid
                .expect("kid")
        }
    };
    let kid_before = kid_of_id_token(old.url(paths::TOKEN)).await;
    // A device waiting for its user, and an initial access token: both tables move too.
    let (tv, _) = crate::common::create_app(
        &sqlite_url,
        "public",
        "urn:ietf:params:oauth:grant-type:device_code",
    );
    let device = post_form(
        &http,
        old.url(paths::DEVICE_AUTHORIZATION),
        format!("client_id={tv}&scope=read"),
    )
    .await;
    let device_code = device["device_code"]
        .as_str()
        .expect("device_code")
        .to_owned();
    let (code, _, err) = crate::common::run(
        &[
            "registration-token",
            "create",
            "--database-url",
            &sqlite_url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    drop(old);

    let schema = tessera_store_postgres::testing::TestSchema::create().await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/sqlite-to-postgres.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(&sqlite_file)
        .arg(&schema.url)
        .env("TESSERA_BIN", env!("CARGO_BIN_EXE_tessera"))
        .output()
        .expect("run the migration script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("access_tokens"));

    let node = crate::common::BinServer::start(&schema.url);
    let introspect = |token: String| {
        let answer = post_form(&http, node.url(paths::INTROSPECT), form(&token));
        async move { answer.await["active"] == true }
    };
    assert!(
        !introspect(tokens[0].clone()).await,
        "a revocation survives the move"
    );
    assert!(
        introspect(tokens[1].clone()).await,
        "a live token survives the move"
    );
    // Users, passwords, and new rows (the id sequences moved past the copied ids) work.
    let r = http
        .post(node.url(paths::TOKEN))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=password&username=alice&password=pw&client_id={client_id}&client_secret={secret}"))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    assert_eq!(
        kid_of_id_token(node.url(paths::TOKEN)).await,
        kid_before,
        "the signing keys moved, still sealed, and still sign"
    );
    let (_, second) = crate::common::create_app(&schema.url, "public", "password");
    assert!(second.is_none());
    let poll = post_form(
        &http,
        node.url(paths::TOKEN),
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={device_code}&client_id={tv}"
        ),
    )
    .await;
    assert_eq!(
        poll["error"], "authorization_pending",
        "the waiting device is still known after the move"
    );
    let (code, _, err) = crate::common::run(
        &[
            "registration-token",
            "create",
            "--database-url",
            &schema.url,
        ],
        None,
    );
    assert_eq!(
        code, 0,
        "{err}: the id sequence moved past the copied tokens"
    );
    drop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_polling_two_nodes_at_once_gets_one_token_response() {
    use crate::device::{answer, start, tv_app};
    let a = TestServer::start().await;
    let b = a.second_node().await;
    a.user("alice", "pw").await;
    let app = tv_app(&a).await;
    let d = start(&a, &app, "read").await;
    let mut phone = crate::common::Browser::new(&b);
    phone.sign_in("alice", "pw").await;
    let (status, _) = answer(&mut phone, d["user_code"].as_str().expect("code"), "allow").await;
    assert_eq!(status, 200, "approved through node B");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let url = if i % 2 == 0 {
            a.url(paths::TOKEN)
        } else {
            b.url(paths::TOKEN)
        };
        let http = a.http.clone();
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={}&client_id={}",
            d["device_code"].as_str().expect("code"),
            app.id
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.expect("json");
            (status, body["error"].as_str().unwrap_or("").to_owned())
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task") {
            (200, _) => ok += 1,
            (400, e) => assert_eq!(e, "invalid_grant"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one token response per approval");
}
