//! What a security review found and what now holds: local redirects only, safe redirect URIs,
//! cookies a sibling site cannot plant or read, CSRF tokens bound to the session, guessing that
//! stops, bounded slow clients, logs that cannot be forged (docs/behaviour.md, "Security").

use tessera_web::paths;

use crate::common::{Browser, TestServer, hidden_fields, location, run};

#[tokio::test]
async fn after_sign_in_only_local_paths_are_followed() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    for next in [
        "/%09/evil.example",
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/%2F%2Fevil.example",
    ] {
        let mut browser = Browser::new(&server);
        let page = browser.get(paths::LOGIN).await.text().await.expect("page");
        let mut fields = hidden_fields(&page);
        fields.retain(|(k, _)| k != "next");
        fields.extend([
            ("next".into(), next.into()),
            ("username".into(), "alice".into()),
            ("password".into(), "pw".into()),
        ]);
        let r = browser.post_form(paths::LOGIN, &fields).await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), paths::APPLICATIONS, "{next:?}");
    }
}

#[tokio::test]
async fn registration_refuses_redirect_uris_that_leave_the_web_or_disguise_their_host() {
    let (_db, url) = crate::common::fresh_db().await;
    for uri in [
        "javascript://app.example/%0Aalert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "http://app.example/cb",
        "https://trusted.example@evil.example/cb",
        "myapp://cb",
    ] {
        let (code, out, err) = run(
            &[
                "createapplication",
                "public",
                "authorization-code",
                "--redirect-uris",
                uri,
                "--database-url",
                &url,
            ],
            None,
        );
        assert_ne!(code, 0, "{uri} accepted: {out}");
        assert!(err.contains("invalid redirect URI"), "{uri}: {err}");
    }
    for uri in [
        "https://app.example/cb",
        "http://127.0.0.1:8080/cb",
        "com.example.app:/oauth2redirect",
    ] {
        let (code, _, err) = run(
            &[
                "createapplication",
                "public",
                "authorization-code",
                "--redirect-uris",
                uri,
                "--post-logout-redirect-uris",
                uri,
                "--database-url",
                &url,
            ],
            None,
        );
        assert_eq!(code, 0, "{uri}: {err}");
    }
}

#[tokio::test]
async fn https_issuers_get_host_prefixed_secure_cookies() {
    let server = TestServer::start_with(|mut s| {
        s.issuer = "https://id.example/o".into();
        s
    })
    .await;
    server.user("alice", "pw").await;
    let mut browser = Browser::new(&server);
    let r = browser.get(paths::LOGIN).await;
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert!(!set.is_empty());
    for cookie in &set {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(
            cookie.contains("; Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain="), "{cookie}");
    }
    let page = r.text().await.expect("page");
    let mut fields = hidden_fields(&page);
    fields.extend([
        ("username".into(), "alice".into()),
        ("password".into(), "pw".into()),
    ]);
    let r = browser.post_form(paths::LOGIN, &fields).await;
    assert_eq!(r.status(), 303);
    assert!(
        browser.cookies.contains_key("__Host-tessera_session"),
        "{:?}",
        browser.cookies.keys()
    );
    // A cookie without the prefix (planted over http or by a sibling host) is not a session.
    let mut planted = Browser::new(&server);
    let session = browser.cookies["__Host-tessera_session"].clone();
    planted.cookies.insert("tessera_session".into(), session);
    let r = planted.get(paths::APPLICATIONS).await;
    assert!(location(&r).starts_with(paths::LOGIN));
}

#[tokio::test]
async fn csrf_tokens_are_bound_to_the_session() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let mut browser = Browser::new(&server);
    browser.sign_in("alice", "pw").await;
    let page = browser
        .get(paths::APPLICATION_REGISTER)
        .await
        .text()
        .await
        .expect("form");
    let token = hidden_fields(&page)
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v)
        .expect("csrf field");
    assert_ne!(
        Some(&token),
        browser.cookies.get("tessera_csrf"),
        "signed in, the token comes from the session, not from a cookie"
    );
    // An attacker who can plant a CSRF cookie (a sibling subdomain) and send the same value
    // in the form is refused while the victim is signed in.
    browser
        .cookies
        .insert("tessera_csrf".into(), "A".repeat(32));
    let fields = vec![
        ("csrf_token".to_owned(), "A".repeat(32)),
        ("name".to_owned(), "Planted".to_owned()),
        ("client_type".to_owned(), "public".to_owned()),
        ("grant.password".to_owned(), "on".to_owned()),
    ];
    let r = browser
        .post_form(paths::APPLICATION_REGISTER, &fields)
        .await;
    assert_eq!(r.status(), 403);
    // The page's own token works.
    let mut fields = fields;
    fields[0].1 = token;
    let r = browser
        .post_form(paths::APPLICATION_REGISTER, &fields)
        .await;
    assert_eq!(r.status(), 201);
}

/// `tessera serve` with text logs, its stderr collected line by line.
struct TextLogServer {
    server: crate::common::BinServer,
}

impl TextLogServer {
    fn start(database_url: &str) -> Self {
        let mut command = crate::common::bin();
        command
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .env("TESSERA_LOG_FORMAT", "text");
        let server = crate::common::BinServer::launch(command)
            .unwrap_or_else(|log| panic!("the server did not say where it listens: {log:?}"));
        Self { server }
    }

    /// Every line logged so far, once the server had a moment to write them.
    async fn log(&self) -> Vec<String> {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        self.server.log.lock().expect("lock").clone()
    }
}

#[tokio::test]
async fn logs_cannot_be_forged_and_never_hold_what_was_typed_as_a_password() {
    let (_db, url) = crate::common::fresh_db().await;
    crate::common::create_app(&url, "confidential", "password");
    let node = TextLogServer::start(&url);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let forged = "admin\n2026-01-01T00:00:00.000000Z  INFO tessera::audit: event=\"revocation\" client_id=admin outcome=\"revoked\"";
    let r = http
        .post(node.server.url(paths::TOKEN))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret=wrong",
            tessera_core::form::encode(forged)
        ))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 401);

    // A password typed into the username field of the sign-in page.
    let page = http
        .get(node.server.url(paths::LOGIN))
        .send()
        .await
        .expect("login page");
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("csrf cookie")
        .to_owned();
    let token = cookie.split('=').nth(1).expect("value").to_owned();
    let r = http
        .post(node.server.url(paths::LOGIN))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", &cookie)
        .body(format!(
            "csrf_token={token}&username=Correct-Horse-Battery-9&password=x"
        ))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);

    let log = node.log().await;
    assert!(
        log.iter().any(|l| l.contains("client_authentication")),
        "the failure is logged: {log:?}"
    );
    for line in &log {
        assert!(
            line.chars().next().is_some_and(|c| c.is_ascii_digit()),
            "every line starts with a timestamp: {line:?}"
        );
        assert!(
            !line.starts_with("2026-01-01T00:00:00.000000Z"),
            "the forged record stayed inside the real one: {line:?}"
        );
        assert!(!line.contains("Correct-Horse-Battery-9"), "{line}");
    }
    assert!(log.iter().any(|l| l.contains("username_fingerprint=")));
}

#[tokio::test]
async fn database_passwords_are_never_printed() {
    if crate::BACKEND != crate::common::Backend::Postgres {
        return;
    }
    let schema = tessera_store_postgres::testing::TestSchema::create().await;
    // Trust authentication ignores the password, so the URL works and carries one.
    let url = schema.url.replacen(
        "postgres://postgres@",
        "postgres://postgres:S3cretPassw0rd@",
        1,
    );
    assert!(url.contains("S3cretPassw0rd"), "{url}");
    let (code, out, err) = run(&["migrate", "--database-url", &url], None);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("S3cretPassw0rd") && !err.contains("S3cretPassw0rd"));
    assert!(out.contains("***"), "{out}");
    let node = TextLogServer::start(&url);
    let log = node.log().await;
    assert!(log.iter().any(|l| l.contains("listening")));
    assert!(!log.iter().any(|l| l.contains("S3cretPassw0rd")), "{log:?}");
    // A refused connection's error names the place, not the password.
    let bad = url.replace("127.0.0.1:5432", "127.0.0.1:1");
    let (code, out, err) = run(&["migrate", "--database-url", &bad], None);
    assert_ne!(code, 0);
    assert!(
        !out.contains("S3cretPassw0rd") && !err.contains("S3cretPassw0rd"),
        "{err}"
    );
}

/// Reads until the server closes the connection or `within` passes; returns whether it closed.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off_and_connections_are_capped() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start_with(|mut s| {
        s.limits = tessera_web::ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            body_read_timeout: Duration::from_secs(1),
            max_connections: 3,
        };
        s
    })
    .await;

    // Headers that never end.
    let mut slow = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    slow.write_all(b"POST /o/token/ HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    assert!(
        closed_within(&mut slow, Duration::from_secs(4)).await,
        "slow headers"
    );

    // A body that never arrives: the request is answered (408 or an error), not held.
    let mut slow_body = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    slow_body
        .write_all(
            b"POST /o/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
        )
        .await
        .expect("write");
    assert!(
        closed_within(&mut slow_body, Duration::from_secs(5)).await,
        "slow body"
    );

    // An idle keep-alive connection is closed too.
    let mut idle = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    assert!(
        closed_within(&mut idle, Duration::from_secs(4)).await,
        "idle"
    );

    // At the cap, a further connection waits until one of them ends.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        held.push(s);
    }
    let started = std::time::Instant::now();
    let r = server
        .http
        .get(server.url(paths::HEALTH))
        .send()
        .await
        .expect("served once a slot frees");
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "it waited for a slot: {:?}",
        started.elapsed()
    );
}

/// A server behind a trusted proxy on 127.0.0.1, so a test can speak from many addresses.
async fn behind_a_proxy(
    configure: impl FnOnce(tessera_web::Settings) -> tessera_web::Settings,
) -> TestServer {
    TestServer::start_with(|mut s| {
        s.trusted_proxies = vec![tessera_web::address::Network::parse("127.0.0.1").expect("net")];
        s.rate_limits.per_principal = 3;
        s.rate_limits.per_principal_total = 5;
        configure(s)
    })
    .await
}

async fn password_grant_from(
    server: &TestServer,
    app: &crate::common::TestClient,
    address: &str,
    password: &str,
) -> u16 {
    password_grant_as(server, app, "alice", address, password).await
}

async fn password_grant_as(
    server: &TestServer,
    app: &crate::common::TestClient,
    username: &str,
    address: &str,
    password: &str,
) -> u16 {
    server
        .post(
            paths::TOKEN,
            &format!(
                "grant_type=password&username={username}&password={password}&client_id={}&client_secret={}",
                app.id,
                app.secret()
            ),
            &[("X-Forwarded-For", address)],
        )
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn guessing_from_many_addresses_is_held_but_not_the_users_own_browser() {
    let server = behind_a_proxy(|s| s).await;
    server.user("alice", "pw").await;
    let app = server.confidential().await;

    // Alice signed in on her browser yesterday: it is a known device.
    let mut hers = Browser::new(&server);
    let r = hers.sign_in("alice", "pw").await;
    assert_eq!(r.status(), 303);
    assert!(hers.cookies.contains_key("tessera_device"));

    // An attacker guesses from five addresses, under each address's own limit.
    for n in 1..=5 {
        assert_eq!(
            password_grant_from(&server, &app, &format!("203.0.113.{n}"), "guess").await,
            400
        );
    }
    // Alice's name is now held everywhere, right password or not...
    assert_eq!(
        password_grant_from(&server, &app, "198.51.100.7", "pw").await,
        429
    );
    let mut stranger = Browser::new(&server);
    assert_eq!(stranger.sign_in("alice", "pw").await.status(), 429);
    // ...but not on her own browser.
    let mut page = hers.get(paths::LOGIN).await.text().await.expect("page");
    page = page.replace("\n", "");
    let mut fields = hidden_fields(&page);
    fields.extend([
        ("username".into(), "alice".into()),
        ("password".into(), "pw".into()),
    ]);
    let r = hers.post_form(paths::LOGIN, &fields).await;
    assert_eq!(r.status(), 303, "the known device signs in");

    // A forged device cookie is no device cookie.
    let mut forger = Browser::new(&server);
    forger
        .cookies
        .insert("tessera_device".into(), "AAAA".into());
    assert_eq!(forger.sign_in("alice", "pw").await.status(), 429);

    // X-Forwarded-For from an untrusted peer counts for nothing: this server trusts no proxy.
    let plain = TestServer::start_with(|mut s| {
        s.rate_limits.per_principal = 2;
        s
    })
    .await;
    plain.user("alice", "pw").await;
    let app = plain.confidential().await;
    for n in 1..=2 {
        password_grant_from(&plain, &app, &format!("203.0.113.{n}"), "guess").await;
    }
    assert_eq!(
        password_grant_from(&plain, &app, "203.0.113.99", "pw").await,
        429,
        "a client cannot choose its address"
    );
}

#[tokio::test]
async fn nodes_sharing_redis_count_together() {
    let redis = "redis://127.0.0.1:6379";
    let a = behind_a_proxy(|mut s| {
        s.redis_url = Some(redis.into());
        s
    })
    .await;
    let b = a
        .second_node_with(|mut s| {
            s.trusted_proxies =
                vec![tessera_web::address::Network::parse("127.0.0.1").expect("net")];
            s.rate_limits.per_principal = 3;
            s.rate_limits.per_principal_total = 5;
            s.redis_url = Some(redis.into());
            s
        })
        .await;
    // Both nodes' clocks read the same window.
    for _ in 0..100 {
        if a.limiter.shared() && b.limiter.shared() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        a.limiter.shared() && b.limiter.shared(),
        "Redis at {redis} answers"
    );
    // Redis outlives the test: a name of this run only, so no earlier run's count is seen.
    let name = format!(
        "alice{}",
        tessera_core::entropy::alphanumeric(&*a.entropy, 12)
    );
    a.user(&name, "pw").await;
    let app = a.confidential().await;
    // Three failures from one address, split between the nodes.
    for node in [&a, &b, &a] {
        assert_eq!(
            password_grant_as(node, &app, &name, "203.0.113.8", "guess").await,
            400
        );
    }
    assert_eq!(
        password_grant_as(&b, &app, &name, "203.0.113.8", "pw").await,
        429,
        "the other node counted them too"
    );
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_counting_on_each_node() {
    let server = behind_a_proxy(|mut s| {
        // Nothing listens on port 1.
        s.redis_url = Some("redis://127.0.0.1:1".into());
        s
    })
    .await;
    server.user("alice", "pw").await;
    let app = server.confidential().await;
    assert_eq!(
        password_grant_from(&server, &app, "203.0.113.9", "pw").await,
        200,
        "nobody is refused"
    );
    for _ in 0..3 {
        password_grant_from(&server, &app, "203.0.113.9", "guess").await;
    }
    assert_eq!(
        password_grant_from(&server, &app, "203.0.113.9", "pw").await,
        429,
        "and guessing is still limited"
    );
}
