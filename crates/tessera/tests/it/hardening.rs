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
