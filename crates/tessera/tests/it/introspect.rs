//! Introspection (RFC 7662; docs/behaviour.md, "Introspection").

use serde_json::json;
use tessera_web::paths;

use crate::common::{START, TestServer, error_of};

#[tokio::test]
async fn active_tokens_carry_every_claim() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let rs = server.confidential().await;
    server.user("alice", "pw").await;
    let t = server.password_tokens(&app, "alice", "pw").await;

    // Any confidential client may introspect, also tokens issued to others (as in DOT).
    let v = server.introspect(&rs, &t.access()).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["scope"], "read write");
    assert_eq!(v["client_id"], app.id.as_str());
    assert_eq!(v["username"], "alice");
    assert!(v["sub"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["iat"], START);
    assert_eq!(v["exp"], START + 3600);
    assert_eq!(v["iss"], server.issuer.as_str());

    let v = server.introspect(&rs, &t.refresh()).await;
    assert_eq!(v["active"], true, "refresh tokens introspect too");
    assert_eq!(v["token_type"], "refresh_token");
    assert_eq!(v["exp"], START + 30 * 24 * 3600);

    // A client's own token: the client is the subject, there is no username.
    let own = server.client_token(&app, Some("read")).await;
    let v = server.introspect(&rs, &own).await;
    assert_eq!(v["sub"], app.id.as_str());
    assert!(v.get("username").is_none());
    assert_eq!(v["scope"], "read");
}

#[tokio::test]
async fn inactive_is_exactly_active_false() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let t = server.password_tokens(&app, "alice", "pw").await;
    let expiring = server.password_tokens(&app, "alice", "pw").await;
    server
        .post_as(paths::REVOKE, &app, &format!("token={}", t.access()))
        .await;
    for token in [t.access(), "unknown".to_owned(), "tsat_x".to_owned()] {
        let r = server
            .post_as(paths::INTROSPECT, &app, &format!("token={token}"))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(
            r.json::<serde_json::Value>().await.expect("json"),
            json!({"active": false})
        );
    }
    server.advance(3600);
    assert_eq!(
        server.introspect(&app, &expiring.access()).await,
        json!({"active": false})
    );
    assert_eq!(
        server.introspect(&app, &expiring.refresh()).await["active"],
        true
    );
}

#[tokio::test]
async fn bearer_tokens_need_the_introspection_scope() {
    let server = TestServer::start().await;
    let app = server.resource_server().await;
    let rs_token = server.client_token(&app, Some("introspection")).await;
    let plain = server.client_token(&app, Some("read")).await;

    let r = server
        .post(
            paths::INTROSPECT,
            &format!("token={plain}"),
            &[("Authorization", &format!("Bearer {rs_token}"))],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.expect("json")["active"],
        true
    );

    let r = server
        .post(
            paths::INTROSPECT,
            &format!("token={rs_token}"),
            &[("Authorization", &format!("Bearer {plain}"))],
        )
        .await;
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .starts_with("Bearer")
    );
    let (status, _) = error_of(r).await;
    assert_eq!(
        status, 401,
        "a bearer without the introspection scope learns nothing"
    );
}

#[tokio::test]
async fn everyone_else_gets_401() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let public = server.public(&[]).await;
    let token = server.client_token(&app, None).await;

    let r = server
        .post(paths::INTROSPECT, &format!("token={token}"), &[])
        .await;
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));
    let r = server
        .post_as(paths::INTROSPECT, &public, &format!("token={token}"))
        .await;
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "a public client id is no authorization"
    );
    let r = server
        .post(
            paths::INTROSPECT,
            &format!("token={token}&client_id={}&client_secret=bad", app.id),
            &[],
        )
        .await;
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));

    let r = server
        .post_as(paths::INTROSPECT, &app, "token_type_hint=access_token")
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_request".into()),
        "missing token"
    );

    let r = server
        .http
        .get(server.url(&format!("{}?token=x", paths::INTROSPECT)))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 405, "POST only");
}

#[tokio::test]
async fn only_an_operator_grants_the_introspection_scope() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let spa = server.public(&[]).await;
    let backend = server.confidential().await;
    for (who, client) in [("public", &spa), ("confidential by default", &backend)] {
        let r = server
            .post_as(
                paths::TOKEN,
                client,
                "grant_type=password&username=alice&password=pw&scope=read+introspection",
            )
            .await;
        assert_eq!(error_of(r).await, (400, "invalid_scope".into()), "{who}");
    }
    // Allowed scopes narrow the default and refuse the rest.
    server.set_scopes(&backend, Some("read")).await;
    let t = server.password_tokens(&backend, "alice", "pw").await;
    assert_eq!(t.0["scope"], "read");
    let r = server
        .post_as(
            paths::TOKEN,
            &backend,
            "grant_type=password&username=alice&password=pw&scope=write",
        )
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_scope".into()));
    // Even an operator cannot give a public client introspection.
    let (_db, url) = crate::common::fresh_db().await;
    let (code, _, err) = crate::common::run(
        &[
            "createapplication",
            "public",
            "password",
            "--allowed-scopes",
            "read introspection",
            "--database-url",
            &url,
        ],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("public client"), "{err}");
}

#[tokio::test]
async fn applications_users_register_introspect_only_their_own_tokens() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let operators = server.confidential().await;
    let theirs = server.client_token(&operators, None).await;
    // Registered on the pages by alice: it sees its own tokens only.
    let mut browser = crate::common::Browser::new(&server);
    browser.sign_in("alice", "pw").await;
    let form = browser
        .get(paths::APPLICATION_REGISTER)
        .await
        .text()
        .await
        .expect("form");
    let mut fields = crate::common::hidden_fields(&form);
    fields.extend([
        ("name".into(), "Alice's service".into()),
        ("client_type".into(), "confidential".into()),
        ("grant.client-credentials".into(), "on".into()),
    ]);
    let page = browser
        .post_form(paths::APPLICATION_REGISTER, &fields)
        .await
        .text()
        .await
        .expect("page");
    let field = |id: &str| {
        page.split(&format!("id=\"{id}\">"))
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("shown")
            .to_owned()
    };
    let own = crate::common::TestClient {
        id: field("client-id"),
        secret: Some(field("client-secret")),
    };
    let mine = server.client_token(&own, None).await;
    assert!(server.is_active(&own, &mine).await, "its own token");
    assert!(
        !server.is_active(&own, &theirs).await,
        "another application's token is unknown to it"
    );
    assert!(
        server.is_active(&operators, &mine).await,
        "an operator's client sees every token"
    );
    // The pages never offer introspection.
    let mut fields = crate::common::hidden_fields(&form);
    fields.extend([
        ("name".into(), "Snoop".into()),
        ("client_type".into(), "confidential".into()),
        ("grant.client-credentials".into(), "on".into()),
        ("allowed_scopes".into(), "read introspection".into()),
    ]);
    let r = browser
        .post_form(paths::APPLICATION_REGISTER, &fields)
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.expect("page").contains("Only an operator"));
}
