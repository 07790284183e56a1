//! Revocation (RFC 7009; docs/behaviour.md, "Revocation"), starting with the requests of
//! RFC 7009 section 2.1 and the README's walkthrough verbatim.

use oauth2::basic::BasicClient;
use oauth2::{
    AccessToken, ClientId, ClientSecret, RefreshToken, RevocationUrl, StandardRevocableToken,
    TokenUrl,
};
use tessera_core::client::{ClientType, GrantType};
use tessera_web::paths;

use crate::common::{TestServer, error_of};
use crate::token::base64_of;

#[tokio::test]
async fn seed_public_client_revokes_with_its_id_alone() {
    let server = TestServer::start().await;
    let spa = server.public(&[]).await;
    let introspector = server.confidential().await;
    server.user("alice", "pw").await;
    let tokens = server.password_tokens(&spa, "alice", "pw").await;

    let r = server
        .post(
            paths::REVOKE,
            &format!("token={}&client_id={}", tokens.access(), spa.id),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        r.text().await.expect("body"),
        "",
        "success has an empty body"
    );
    assert!(!server.is_active(&introspector, &tokens.access()).await);
    assert!(
        !server.is_active(&introspector, &tokens.refresh()).await,
        "revoking the access token revokes its grant's refresh token"
    );
}

#[tokio::test]
async fn seed_confidential_client_with_secret_in_the_body_and_with_basic() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let a = server.password_tokens(&app, "alice", "pw").await;
    let b = server.password_tokens(&app, "alice", "pw").await;

    let r = server
        .post(
            paths::REVOKE,
            &format!(
                "token={}&client_id={}&client_secret={}",
                a.access(),
                app.id,
                app.secret()
            ),
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(!server.is_active(&app, &a.access()).await);
    assert!(
        server.is_active(&app, &b.access()).await,
        "another grant is untouched"
    );

    let r = server
        .post(
            paths::REVOKE,
            &format!("token={}", b.refresh()),
            &[("Authorization", &app.basic())],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(!server.is_active(&app, &b.access()).await);
    assert!(!server.is_active(&app, &b.refresh()).await);
}

#[tokio::test]
async fn the_tutorials_curl_line_works_with_values_pasted_as_they_are() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let token = server.client_token(&app, None).await;
    let url = server.url(paths::REVOKE);
    let data = format!(
        "token={token}&client_id={}&client_secret={}",
        app.id,
        app.secret()
    );
    let out = tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--write-out",
            "%{http_code}",
            "--data",
            &data,
            &url,
        ])
        .output()
        .await
        .expect("curl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    assert!(!server.is_active(&app, &token).await);
}

/// The `oauth2` crate insists on an https revocation URL (RFC 7009 section 2). The test
/// server speaks plain HTTP on loopback, as it would behind a TLS-terminating proxy: this
/// HTTP client plays that proxy.
async fn behind_tls_proxy(
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string().replacen("https:", "http:", 1);
    let response = reqwest::Client::new()
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = oauth2::http::Response::builder().status(response.status());
    for (k, v) in response.headers() {
        out = out.header(k, v);
    }
    let body = response.bytes().await?.to_vec();
    Ok(out.body(body).expect("valid response"))
}

#[tokio::test]
async fn the_oauth2_crate_revokes_and_the_tokens_die_everywhere() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let tokens = server.password_tokens(&app, "alice", "pw").await;
    let client = BasicClient::new(ClientId::new(app.id.clone()))
        .set_client_secret(ClientSecret::new(app.secret().to_owned()))
        .set_token_uri(TokenUrl::new(server.url(paths::TOKEN)).expect("url"))
        .set_revocation_url(
            RevocationUrl::new(server.url(paths::REVOKE).replacen("http:", "https:", 1))
                .expect("url"),
        );
    client
        .revoke_token(StandardRevocableToken::RefreshToken(RefreshToken::new(
            tokens.refresh(),
        )))
        .expect("revocation configured")
        .request_async(&behind_tls_proxy)
        .await
        .expect("revoked");
    assert_eq!(
        server.introspect(&app, &tokens.access()).await,
        serde_json::json!({"active": false})
    );
    let refresh = client
        .exchange_refresh_token(&RefreshToken::new(tokens.refresh()))
        .request_async(&server.http)
        .await;
    let err = format!("{:?}", refresh.expect_err("refresh after revocation fails"));
    assert!(err.contains("invalid_grant"), "{err}");

    // Revoking an access token with the crate works the same way.
    let other = server.password_tokens(&app, "alice", "pw").await;
    client
        .revoke_token(StandardRevocableToken::AccessToken(AccessToken::new(
            other.access(),
        )))
        .expect("configured")
        .request_async(&behind_tls_proxy)
        .await
        .expect("revoked");
    assert!(!server.is_active(&app, &other.refresh()).await);
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_every_access_token_of_the_grant() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let first = server.password_tokens(&app, "alice", "pw").await;
    // A refresh gives a new pair; the first access token would be revoked by rotation anyway,
    // so check the one issued before a later refresh too.
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            &format!("grant_type=refresh_token&refresh_token={}", first.refresh()),
        )
        .await;
    let second: serde_json::Value = r.json().await.expect("json");
    let second_at = second["access_token"].as_str().expect("at").to_owned();
    let second_rt = second["refresh_token"].as_str().expect("rt").to_owned();
    assert!(server.is_active(&app, &second_at).await);

    // Revoke the *old*, already rotated refresh token: the owner ends the whole grant.
    let r = server
        .post_as(
            paths::REVOKE,
            &app,
            &format!("token={}&token_type_hint=refresh_token", first.refresh()),
        )
        .await;
    assert_eq!(r.status(), 200);
    for t in [&first.access(), &first.refresh(), &second_at, &second_rt] {
        assert!(!server.is_active(&app, t).await);
    }
}

#[tokio::test]
async fn hints_only_order_the_search() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    for hint in ["refresh_token", "access_token", "bogus_hint"] {
        let t = server.password_tokens(&app, "alice", "pw").await;
        let r = server
            .post_as(
                paths::REVOKE,
                &app,
                &format!("token={}&token_type_hint={hint}", t.access()),
            )
            .await;
        assert_eq!(r.status(), 200, "hint {hint}");
        assert!(!server.is_active(&app, &t.access()).await, "hint {hint}");
    }
}

#[tokio::test]
async fn unknown_malformed_and_repeated_revocations_are_200() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let token = server.client_token(&app, None).await;
    for t in [
        "tsat_unknownunknownunknownunknownunknownunknownunkn",
        "not-a-token",
        "eyJhbGciOiJSUzI1NiJ9.e30.sig",
        &token,
        &token,
    ] {
        let r = server
            .post_as(paths::REVOKE, &app, &format!("token={t}"))
            .await;
        assert_eq!(r.status(), 200, "{t}");
    }
    assert!(!server.is_active(&app, &token).await);
    // An expired token is 200 too.
    let expiring = server.client_token(&app, None).await;
    server.advance(3600);
    let r = server
        .post_as(paths::REVOKE, &app, &format!("token={expiring}"))
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn another_clients_token_is_left_untouched() {
    let server = TestServer::start().await;
    let owner = server.confidential().await;
    let intruder = server.confidential().await;
    server.user("alice", "pw").await;
    let t = server.password_tokens(&owner, "alice", "pw").await;
    for token in [t.access(), t.refresh()] {
        let r = server
            .post_as(paths::REVOKE, &intruder, &format!("token={token}"))
            .await;
        assert_eq!(r.status(), 200);
    }
    assert!(server.is_active(&owner, &t.access()).await);
    assert!(server.is_active(&owner, &t.refresh()).await);
}

#[tokio::test]
async fn client_authentication_comes_first() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let token = server.client_token(&app, None).await;

    let r = server
        .post(
            paths::REVOKE,
            &format!("token={token}"),
            &[(
                "Authorization",
                &format!("Basic {}", base64_of(&format!("{}:bad", app.id))),
            )],
        )
        .await;
    assert_eq!(r.headers()["www-authenticate"], r#"Basic realm="tessera""#);
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));
    let r = server
        .post(
            paths::REVOKE,
            &format!("token={token}&client_id={}", app.id),
            &[],
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "confidential client without secret"
    );
    let r = server
        .post(paths::REVOKE, &format!("token={token}"), &[])
        .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "no client at all"
    );
    let r = server.post(paths::REVOKE, "", &[]).await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "not even a token: auth first"
    );
    assert!(server.is_active(&app, &token).await, "nothing was revoked");

    let r = server
        .post_as(paths::REVOKE, &app, "token_type_hint=access_token")
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_request".into()),
        "missing token"
    );
}

#[tokio::test]
async fn only_post_is_allowed() {
    let server = TestServer::start().await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = server
            .http
            .request(method.clone(), server.url(paths::REVOKE))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 405, "{method}");
        assert_eq!(r.headers()["allow"], "POST, OPTIONS");
    }
    let r = server
        .http
        .get(server.url(paths::without_trailing_slash(paths::REVOKE)))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 405, "without the trailing slash too");
}

#[tokio::test]
async fn a_hundred_concurrent_revocations_of_one_token() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let t = server.password_tokens(&app, "alice", "pw").await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let http = server.http.clone();
        let url = server.url(paths::REVOKE);
        let token = if i % 2 == 0 { t.access() } else { t.refresh() };
        let body = format!(
            "token={token}&client_id={}&client_secret={}",
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
    for task in tasks {
        assert_eq!(task.await.expect("task"), 200);
    }
    assert!(!server.is_active(&app, &t.access()).await);
    assert!(!server.is_active(&app, &t.refresh()).await);
}

#[tokio::test]
async fn cors_for_a_browser_clients_allowed_origin() {
    let server = TestServer::start().await;
    let spa = server.public(&["https://spa.example"]).await;
    server.user("alice", "pw").await;

    for path in [paths::REVOKE, paths::TOKEN] {
        let r = server
            .http
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("Origin", "https://spa.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
            .await
            .expect("preflight");
        assert!(r.status().is_success(), "{path}");
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://spa.example"
        );
        assert!(
            r.headers()["access-control-allow-methods"]
                .to_str()
                .expect("ascii")
                .contains("POST")
        );
        assert!(
            r.headers()["access-control-allow-headers"]
                .to_str()
                .expect("ascii")
                .to_lowercase()
                .contains("content-type")
        );
        assert_eq!(r.headers()["vary"], "Origin");

        let r = server
            .http
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("Origin", "https://evil.example")
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .expect("preflight");
        assert!(
            !r.headers().contains_key("access-control-allow-origin"),
            "{path}"
        );
    }

    let t = server.password_tokens(&spa, "alice", "pw").await;
    let r = server
        .post(
            paths::REVOKE,
            &format!("token={}&client_id={}", t.access(), spa.id),
            &[("Origin", "https://spa.example")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
    assert_eq!(r.headers()["vary"], "Origin");

    let r = server
        .post(
            paths::REVOKE,
            &format!("token={}&client_id={}", t.access(), spa.id),
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(!r.headers().contains_key("access-control-allow-origin"));

    // A confidential client's secret lives on a server: no CORS for it, whatever it lists.
    let backend = server
        .client_with(
            ClientType::Confidential,
            &[GrantType::ClientCredentials],
            &[],
            &["https://backend.example"],
            None,
            false,
        )
        .await;
    let r = server
        .post(
            paths::TOKEN,
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                backend.id,
                backend.secret()
            ),
            &[("Origin", "https://backend.example")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}
