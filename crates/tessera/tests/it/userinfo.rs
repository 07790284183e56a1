//! OpenID Connect userinfo with bearer access tokens; revocation is seen at once
//! (docs/behaviour.md, "Userinfo").

use tessera_web::paths;

use crate::common::{TestServer, error_of};

async fn userinfo(server: &TestServer, authorization: Option<&str>) -> reqwest::Response {
    let mut req = server.http.get(server.url(paths::USERINFO));
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    req.send().await.expect("userinfo")
}

#[tokio::test]
async fn userinfo_answers_for_active_openid_tokens_only() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=pw&scope=openid+profile+email",
        )
        .await;
    let tokens: serde_json::Value = r.json().await.expect("json");
    let at = tokens["access_token"].as_str().expect("at").to_owned();

    let r = userinfo(&server, Some(&format!("Bearer {at}"))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let claims: serde_json::Value = r.json().await.expect("json");
    assert!(claims["sub"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    let introspected = server.introspect(&app, &at).await;
    assert_eq!(claims["sub"], introspected["sub"], "one subject everywhere");

    // POST works too (OIDC Core 5.3.1).
    let r = server
        .http
        .post(server.url(paths::USERINFO))
        .header("Authorization", format!("Bearer {at}"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);

    // Revoked: 401 at once.
    let r = server
        .post_as(paths::REVOKE, &app, &format!("token={at}"))
        .await;
    assert_eq!(r.status(), 200);
    let r = userinfo(&server, Some(&format!("Bearer {at}"))).await;
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"Bearer realm="tessera", error="invalid_token""#
    );
    assert_eq!(error_of(r).await, (401, "invalid_token".into()));
}

#[tokio::test]
async fn userinfo_refusals() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let plain = server.password_tokens(&app, "alice", "pw").await;

    let r = userinfo(&server, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], r#"Bearer realm="tessera""#);
    let r = userinfo(&server, Some(&format!("Bearer {}", plain.access()))).await;
    assert_eq!(
        error_of(r).await,
        (403, "insufficient_scope".into()),
        "no openid scope"
    );
    let r = userinfo(&server, Some(&format!("Bearer {}", plain.refresh()))).await;
    assert_eq!(r.status(), 401, "a refresh token is not an access token");
    let id_token_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
    let r = userinfo(&server, Some(&format!("Bearer {id_token_like}"))).await;
    assert_eq!(r.status(), 401, "ID tokens are never access tokens");
    let r = userinfo(&server, Some(&app.basic())).await;
    assert_eq!(r.status(), 401);
    let r = server
        .http
        .delete(server.url(paths::USERINFO))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 405);
}
