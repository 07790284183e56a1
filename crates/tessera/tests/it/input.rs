//! Malformed requests get the RFC's error answer, never a 500, and change nothing.

use tessera_web::paths;

use crate::common::{TestServer, error_of};

#[tokio::test]
async fn malformed_bodies_are_invalid_request() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let creds = format!("client_id={}&client_secret={}", app.id, app.secret());
    for path in [paths::TOKEN, paths::REVOKE, paths::INTROSPECT] {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "duplicate",
                format!("grant_type=client_credentials&token=a&token=a&{creds}").into_bytes(),
            ),
            (
                "duplicate credentials",
                format!("grant_type=client_credentials&token=a&{creds}&{creds}").into_bytes(),
            ),
            (
                "bad utf-8",
                [
                    format!("token=%ff%fe&grant_type=client_credentials&{creds}").as_bytes(),
                    b"",
                ]
                .concat(),
            ),
            (
                "raw bad utf-8",
                [b"token=\xff\xfe&".as_slice(), creds.as_bytes()].concat(),
            ),
            (
                "nul",
                format!("token=a%00b&grant_type=client_credentials&{creds}").into_bytes(),
            ),
            ("bad escape", format!("token=%zz&{creds}").into_bytes()),
        ];
        for (name, body) in cases {
            let r = server
                .http
                .post(server.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request");
            assert_eq!(
                error_of(r).await,
                (400, "invalid_request".into()),
                "{path} {name}"
            );
        }
    }
}

#[tokio::test]
async fn wrong_content_types_and_query_strings_are_refused() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        app.id,
        app.secret()
    );
    for content_type in [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut req = server
            .http
            .post(server.url(paths::TOKEN))
            .body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let r = req.send().await.expect("request");
        assert_eq!(
            error_of(r).await,
            (400, "invalid_request".into()),
            "{content_type:?}"
        );
    }
    let r = server
        .http
        .post(server.url(paths::TOKEN))
        .header("Content-Type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    let r = server
        .http
        .post(server.url(&format!("{}?grant_type=client_credentials", paths::TOKEN)))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id={}&client_secret={}",
            app.id,
            app.secret()
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(
        error_of(r).await,
        (400, "invalid_request".into()),
        "query parameters"
    );
    let r = server
        .http
        .post(server.url(paths::TOKEN))
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200, "a UTF-8 charset parameter is fine");
}

#[tokio::test]
async fn huge_bodies_get_413() {
    let server = TestServer::start().await;
    let body = format!("token={}", "a".repeat(1024 * 1024));
    for path in [paths::TOKEN, paths::REVOKE, paths::INTROSPECT] {
        let r = server.post(path, &body, &[]).await;
        assert_eq!(error_of(r).await, (413, "invalid_request".into()), "{path}");
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid_client() {
    let server = TestServer::start().await;
    for header in [
        "Basic",
        "Basic !!!!",
        "Basic YWJj",
        "Digest x",
        "Basic Og==",
        "Bearer",
    ] {
        for path in [paths::TOKEN, paths::REVOKE] {
            let r = server
                .post(
                    path,
                    "grant_type=client_credentials&token=x",
                    &[("Authorization", header)],
                )
                .await;
            let (status, code) = error_of(r).await;
            assert_eq!(
                (status, code.as_str()),
                (401, "invalid_client"),
                "{path} {header}"
            );
        }
    }
}

#[tokio::test]
async fn nothing_malformed_gives_a_server_error() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let creds = format!("client_id={}&client_secret={}", app.id, app.secret());
    let bodies = [
        String::new(),
        "=".into(),
        "&&&".into(),
        "grant_type".into(),
        format!(
            "grant_type=refresh_token&refresh_token=tsrt_{}&{creds}",
            "A".repeat(49)
        ),
        format!("grant_type=refresh_token&refresh_token=%F0%9F%92%A9&{creds}"),
        format!("grant_type=password&username=%F0%9F%92%A9&password=x&{creds}"),
        format!("grant_type=client_credentials&scope=%22bad%5C&{creds}"),
        format!(
            "grant_type=client_credentials&scope={}&{creds}",
            "x".repeat(5000)
        ),
        format!("token={}&{creds}", "x".repeat(60_000)),
        format!("client_id={}&{creds}", "\u{7f}"),
    ];
    for path in [paths::TOKEN, paths::REVOKE, paths::INTROSPECT] {
        for body in &bodies {
            let r = server.post(path, body, &[]).await;
            assert!(
                r.status().as_u16() < 500,
                "{path} {body:.60} gave {}",
                r.status()
            );
            assert_eq!(r.headers()["cache-control"], "no-store");
        }
    }
    let r = server
        .http
        .get(server.url("/o/nothing-here"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
}
