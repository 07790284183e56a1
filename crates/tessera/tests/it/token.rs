//! The token endpoint, driven by the `oauth2` crate and by raw requests.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, RefreshToken, ResourceOwnerPassword, ResourceOwnerUsername,
    Scope, TokenResponse, TokenUrl,
};
use tessera_web::paths;

use crate::common::{TestServer, error_of};

fn oauth_client(
    server: &TestServer,
    id: &str,
    secret: Option<&str>,
) -> BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    let mut c = BasicClient::new(ClientId::new(id.to_owned()))
        .set_token_uri(TokenUrl::new(server.url(paths::TOKEN)).expect("url"));
    if let Some(s) = secret {
        c = c.set_client_secret(ClientSecret::new(s.to_owned()));
    }
    c
}

#[tokio::test]
async fn client_credentials_with_basic_and_with_body_credentials() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let client = oauth_client(&server, &app.id, app.secret.as_deref());
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&server.http)
        .await
        .expect("client credentials with Basic");
    assert!(token.access_token().secret().starts_with("tsat_"));
    assert!(
        token.refresh_token().is_none(),
        "RFC 6749 4.4.3: no refresh token"
    );
    assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(3600));
    let scopes: Vec<String> = token
        .scopes()
        .expect("scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, vec!["read"]);

    let post = client
        .set_auth_type(AuthType::RequestBody)
        .exchange_client_credentials()
        .request_async(&server.http)
        .await
        .expect("client credentials with body credentials");
    let scopes: Vec<String> = post
        .scopes()
        .expect("scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, vec!["read", "write"], "the default scope");
    assert_ne!(post.access_token().secret(), token.access_token().secret());
}

#[tokio::test]
async fn token_responses_are_not_cacheable() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let r = server
        .post_as(paths::TOKEN, &app, "grant_type=client_credentials")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(r.headers()["content-type"], "application/json");
    let r = server
        .post_as(paths::TOKEN, &app, "grant_type=nonsense")
        .await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(error_of(r).await, (400, "unsupported_grant_type".into()));
}

#[tokio::test]
async fn password_grant_then_refresh_rotates_and_revokes_the_previous_access_token() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "wonderland").await;
    let client = oauth_client(&server, &app.id, app.secret.as_deref());
    let first = client
        .exchange_password(
            &ResourceOwnerUsername::new("alice".into()),
            &ResourceOwnerPassword::new("wonderland".into()),
        )
        .request_async(&server.http)
        .await
        .expect("password grant");
    let rt1 = first.refresh_token().expect("refresh token").clone();
    assert!(rt1.secret().starts_with("tsrt_"));

    let second = client
        .exchange_refresh_token(&rt1)
        .request_async(&server.http)
        .await
        .expect("refresh");
    let rt2 = second
        .refresh_token()
        .expect("rotated refresh token")
        .clone();
    assert_ne!(rt2.secret(), rt1.secret(), "refresh tokens rotate");
    assert!(
        !server.is_active(&app, first.access_token().secret()).await,
        "a refresh revokes the grant's previous access token"
    );
    assert!(server.is_active(&app, second.access_token().secret()).await);

    // Narrowing the scope on refresh is allowed; widening is not.
    let narrow = client
        .exchange_refresh_token(&rt2)
        .add_scope(Scope::new("read".into()))
        .request_async(&server.http)
        .await
        .expect("narrower refresh");
    let scopes: Vec<String> = narrow
        .scopes()
        .expect("scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, vec!["read"]);
    let rt3 = narrow.refresh_token().expect("rt3").secret().clone();
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            &format!("grant_type=refresh_token&refresh_token={rt3}&scope=read+write+introspection"),
        )
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_scope".into()));
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_the_whole_grant() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    let first = server.password_tokens(&app, "alice", "pw").await;
    let client = oauth_client(&server, &app.id, app.secret.as_deref());
    let second = client
        .exchange_refresh_token(&RefreshToken::new(first.refresh()))
        .request_async(&server.http)
        .await
        .expect("refresh");

    // The attacker (or a confused client) presents the used refresh token again.
    let replay = server
        .post_as(
            paths::TOKEN,
            &app,
            &format!("grant_type=refresh_token&refresh_token={}", first.refresh()),
        )
        .await;
    assert_eq!(error_of(replay).await, (400, "invalid_grant".into()));
    let rt2 = second.refresh_token().expect("rt2").secret().clone();
    assert!(!server.is_active(&app, second.access_token().secret()).await);
    assert!(!server.is_active(&app, &rt2).await);
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            &format!("grant_type=refresh_token&refresh_token={rt2}"),
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_grant".into()),
        "the whole grant is gone"
    );
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client_and_expire() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    let other = server.confidential().await;
    server.user("alice", "pw").await;
    let tokens = server.password_tokens(&app, "alice", "pw").await;
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        tokens.refresh()
    );
    let r = server.post_as(paths::TOKEN, &other, &body).await;
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
    assert!(
        server.is_active(&app, &tokens.refresh()).await,
        "another client's attempt burns nothing"
    );

    server.advance(30 * 24 * 3600);
    let r = server.post_as(paths::TOKEN, &app, &body).await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_grant".into()),
        "30 days later"
    );
}

#[tokio::test]
async fn password_grant_errors() {
    let server = TestServer::start().await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    for body in [
        "grant_type=password&username=alice&password=wrong",
        "grant_type=password&username=nobody&password=pw",
    ] {
        let r = server.post_as(paths::TOKEN, &app, body).await;
        assert_eq!(error_of(r).await, (400, "invalid_grant".into()), "{body}");
    }
    let r = server
        .post_as(paths::TOKEN, &app, "grant_type=password&username=alice")
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_request".into()));
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=pw&scope=nuke",
        )
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_scope".into()));
}

#[tokio::test]
async fn grant_types_are_checked_against_the_registration() {
    let server = TestServer::start().await;
    let public = server.public(&[]).await;
    server.user("alice", "pw").await;
    // A public client may use the password grant with its id alone...
    let tokens = server.password_tokens(&public, "alice", "pw").await;
    assert!(tokens.access().starts_with("tsat_"));
    // ...but never client credentials (RFC 6749 section 4.4).
    let r = server
        .post_as(paths::TOKEN, &public, "grant_type=client_credentials")
        .await;
    assert_eq!(error_of(r).await, (400, "unauthorized_client".into()));
    let r = server
        .post_as(
            paths::TOKEN,
            &public,
            "grant_type=authorization_code&code=x",
        )
        .await;
    assert_eq!(error_of(r).await, (400, "unauthorized_client".into()));
    let r = server.post_as(paths::TOKEN, &public, "scope=read").await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_request".into()),
        "no grant_type"
    );
}

#[tokio::test]
async fn client_authentication_failures() {
    let server = TestServer::start().await;
    let app = server.confidential().await;

    let r = server
        .post(
            paths::TOKEN,
            "grant_type=client_credentials",
            &[(
                "Authorization",
                &format!("Basic {}", base64_of(&format!("{}:wrong", app.id))),
            )],
        )
        .await;
    assert_eq!(r.headers()["www-authenticate"], r#"Basic realm="tessera""#);
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));

    let r = server
        .post(
            paths::TOKEN,
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret=wrong",
                app.id
            ),
            &[],
        )
        .await;
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));

    let r = server
        .post(
            paths::TOKEN,
            &format!("grant_type=client_credentials&client_id={}", app.id),
            &[],
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "confidential without secret"
    );

    let r = server
        .post(
            paths::TOKEN,
            "grant_type=client_credentials&client_id=nobody&client_secret=x",
            &[],
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "unknown client"
    );

    let r = server
        .post(paths::TOKEN, "grant_type=client_credentials", &[])
        .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "no credentials"
    );

    // Two methods in one request.
    let r = server
        .post(
            paths::TOKEN,
            &format!(
                "grant_type=client_credentials&client_secret={}",
                app.secret()
            ),
            &[("Authorization", &app.basic())],
        )
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_request".into()));
    // Basic plus the same client_id in the body is one method (many libraries send both).
    let r = server
        .post(
            paths::TOKEN,
            &format!("grant_type=client_credentials&client_id={}", app.id),
            &[("Authorization", &app.basic())],
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn operator_chosen_secrets_are_verified_with_argon2() {
    let server = TestServer::start().await;
    let app = server
        .confidential_with_secret("correct horse battery")
        .await;
    for _ in 0..2 {
        // The second request is answered from the verified-secret cache.
        let r = server
            .post(
                paths::TOKEN,
                "grant_type=client_credentials",
                &[("Authorization", &app.basic())],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let mut wrong = app.clone();
    wrong.secret = Some("correct horse battery!".into());
    let r = server
        .post(
            paths::TOKEN,
            "grant_type=client_credentials",
            &[("Authorization", &wrong.basic())],
        )
        .await;
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));
}

#[tokio::test]
async fn over_the_limit_every_authentication_waits_right_or_wrong() {
    let server = TestServer::start_with(|mut s| {
        s.rate_limits.per_principal = 3;
        s
    })
    .await;
    let app = server.confidential().await;
    let bad = format!(
        "grant_type=client_credentials&client_id={}&client_secret=guess",
        app.id
    );
    for _ in 0..3 {
        let r = server.post(paths::TOKEN, &bad, &[]).await;
        assert_eq!(r.status(), 401);
    }
    let r = server.post(paths::TOKEN, &bad, &[]).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    let r = server
        .post_as(paths::TOKEN, &app, "grant_type=client_credentials")
        .await;
    assert_eq!(
        r.status(),
        429,
        "the right secret is not checked either: guessing learns nothing"
    );
    server.advance(retry as i64);
    let r = server
        .post_as(paths::TOKEN, &app, "grant_type=client_credentials")
        .await;
    assert_eq!(r.status(), 200, "after the window");
}

#[tokio::test]
async fn login_failures_are_rate_limited_per_username() {
    let server = TestServer::start_with(|mut s| {
        s.rate_limits.per_principal = 2;
        s
    })
    .await;
    let app = server.confidential().await;
    server.user("alice", "pw").await;
    for _ in 0..2 {
        let r = server
            .post_as(
                paths::TOKEN,
                &app,
                "grant_type=password&username=alice&password=bad",
            )
            .await;
        assert_eq!(r.status(), 400);
    }
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=bad",
        )
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=pw",
        )
        .await;
    assert_eq!(r.status(), 429, "the right password waits too");
    server.advance(60);
    let ok = server.password_tokens(&app, "alice", "pw").await;
    assert!(ok.access().starts_with("tsat_"));
}

pub fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
