//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592) over HTTP:
//! off by default, open, or guarded by initial access tokens from the command line; every
//! refused field; a registered client signing a user in; a deleted client's tokens dead.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use serde_json::{Value, json};
use tessera_web::DynamicRegistration;
use tessera_web::paths;
use tessera_web::ratelimit::RateLimitSettings;

use crate::common::{Browser, REDIRECT, TestClient, TestServer, error_of, params_of};

/// A server with registration `mode`, and room for the many registrations of one test.
async fn server_with(mode: DynamicRegistration) -> TestServer {
    TestServer::start_with(|mut s| {
        s.dynamic_registration = mode;
        s.rate_limits.per_principal = 1000;
        s
    })
    .await
}

async fn register(server: &TestServer, body: &Value, bearer: Option<&str>) -> reqwest::Response {
    let mut req = server.http.post(server.url(paths::REGISTER)).json(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request")
}

async fn registered(server: &TestServer, body: &Value) -> Value {
    let r = register(server, body, None).await;
    assert_eq!(r.status(), 201);
    r.json().await.expect("json")
}

/// GET, PUT or DELETE on a registration client URI with a registration access token.
async fn manage(
    server: &TestServer,
    method: reqwest::Method,
    uri: &str,
    token: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = server.http.request(method, uri).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.expect("request")
}

async fn metadata(server: &TestServer) -> Value {
    server
        .http
        .get(server.url(paths::OPENID_CONFIGURATION))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

fn web_app_metadata() -> Value {
    json!({
        "client_name": "Photo book",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "read openid",
        "client_uri": "https://app.example/",
        "contacts": ["ops@app.example"]
    })
}

#[tokio::test]
async fn registration_is_off_unless_configured() {
    let server = TestServer::start().await;
    let r = register(&server, &web_app_metadata(), None).await;
    assert_eq!(r.status(), 404, "no endpoint at all");
    let r = server
        .http
        .get(server.url(&paths::register_client("x")))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
    assert!(
        metadata(&server)
            .await
            .get("registration_endpoint")
            .is_none()
    );

    for mode in [DynamicRegistration::Open, DynamicRegistration::Token] {
        let server = server_with(mode).await;
        for path in [
            paths::OPENID_CONFIGURATION,
            paths::AUTHORIZATION_SERVER_METADATA,
        ] {
            let m: Value = server
                .http
                .get(server.url(path))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            assert_eq!(
                m["registration_endpoint"],
                server.url(paths::REGISTER).as_str(),
                "{mode:?} {path}"
            );
        }
    }
}

#[tokio::test]
async fn open_registration_then_read_update_and_delete() {
    let server = server_with(DynamicRegistration::Open).await;
    let r = register(
        &server,
        &json!({
            "client_name": "Billing",
            "redirect_uris": ["https://billing.example/cb"],
            "post_logout_redirect_uris": ["https://billing.example/bye"],
            "id_token_signed_response_alg": "ES256",
            "tos_uri": "https://billing.example/tos",
            "contacts": ["ops@billing.example"]
        }),
        None,
    )
    .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let info: Value = r.json().await.expect("json");
    let client_id = info["client_id"].as_str().expect("client_id").to_owned();
    assert!(
        info["client_secret"]
            .as_str()
            .expect("a secret")
            .starts_with("tscs_")
    );
    assert_eq!(info["client_secret_expires_at"], 0);
    assert_eq!(info["client_id_issued_at"], crate::common::START);
    assert_eq!(
        info["token_endpoint_auth_method"], "client_secret_basic",
        "the default"
    );
    assert_eq!(
        info["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(info["response_types"], json!(["code"]));
    assert_eq!(info["client_name"], "Billing");
    assert_eq!(info["id_token_signed_response_alg"], "ES256");
    assert_eq!(info["tos_uri"], "https://billing.example/tos");
    assert_eq!(info["contacts"], json!(["ops@billing.example"]));
    assert_eq!(
        info["post_logout_redirect_uris"],
        json!(["https://billing.example/bye"])
    );
    let uri = info["registration_client_uri"]
        .as_str()
        .expect("uri")
        .to_owned();
    assert_eq!(uri, server.url(&paths::register_client(&client_id)));
    let first = info["registration_access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(first.starts_with("tsra_"));
    let stored = crate::common::everything_stored(&server.database_url).await;
    assert!(
        !stored.contains(&first),
        "the registration access token is kept as a digest"
    );
    assert!(!stored.contains(info["client_secret"].as_str().expect("secret")));

    // Read: the same metadata, no secret, and a new registration access token.
    let r = manage(&server, reqwest::Method::GET, &uri, &first, None).await;
    assert_eq!(r.status(), 200);
    let read: Value = r.json().await.expect("json");
    assert!(
        read.get("client_secret").is_none(),
        "only its digest is kept"
    );
    assert_eq!(read["client_name"], "Billing");
    assert_eq!(read["redirect_uris"], json!(["https://billing.example/cb"]));
    let second = read["registration_access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_ne!(second, first);
    let r = manage(&server, reqwest::Method::GET, &uri, &first, None).await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_token".to_owned()),
        "the old one is spent"
    );

    // Update: the whole metadata is replaced; what is left out is removed.
    let r = manage(
        &server,
        reqwest::Method::PUT,
        &uri,
        &second,
        Some(&json!({
            "client_id": client_id,
            "client_name": "Billing v2",
            "redirect_uris": ["https://billing.example/v2/cb"],
            "grant_types": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_post"
        })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.expect("json");
    assert_eq!(updated["client_name"], "Billing v2");
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(
        updated["grant_types"],
        json!(["authorization_code", "client_credentials", "refresh_token"])
    );
    assert!(updated.get("tos_uri").is_none() && updated.get("contacts").is_none());
    assert!(updated.get("id_token_signed_response_alg").is_none());
    let stored = server
        .store
        .client_by_client_id(&client_id)
        .await
        .expect("read")
        .expect("client");
    assert_eq!(
        stored.redirect_uris,
        vec!["https://billing.example/v2/cb".to_owned()]
    );
    assert_eq!(stored.user_id, None, "a registered client has no owner");
    let third = updated["registration_access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // The client's secret still works after the update: it never changes.
    let secret_client = TestClient {
        id: client_id.clone(),
        secret: info["client_secret"].as_str().map(str::to_owned),
    };
    let r = server
        .post_as(
            paths::TOKEN,
            &secret_client,
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status(), 200);

    let r = manage(&server, reqwest::Method::DELETE, &uri, &third, None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = manage(&server, reqwest::Method::GET, &uri, &third, None).await;
    assert_eq!(error_of(r).await, (401, "invalid_token".to_owned()));
    assert!(
        server
            .store
            .client_by_client_id(&client_id)
            .await
            .expect("read")
            .is_none(),
        "deleted"
    );
}

#[tokio::test]
async fn the_configuration_endpoint_answers_only_the_clients_own_token() {
    let server = server_with(DynamicRegistration::Open).await;
    let a = registered(&server, &web_app_metadata()).await;
    let b = registered(&server, &web_app_metadata()).await;
    let uri_a = a["registration_client_uri"].as_str().expect("uri");
    let token_a = a["registration_access_token"].as_str().expect("token");
    let token_b = b["registration_access_token"].as_str().expect("token");

    let r = server.http.get(uri_a).send().await.expect("request");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"tessera\"");
    let r = manage(&server, reqwest::Method::GET, uri_a, token_b, None).await;
    assert_eq!(r.status(), 401, "another client's token");
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"tessera\", error=\"invalid_token\""
    );
    let r = manage(
        &server,
        reqwest::Method::GET,
        &server.url(&paths::register_client("nobody")),
        token_a,
        None,
    )
    .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_token".to_owned()),
        "unknown client"
    );
    let operator_made = server.confidential().await;
    let r = manage(
        &server,
        reqwest::Method::GET,
        &server.url(&paths::register_client(&operator_made.id)),
        token_a,
        None,
    )
    .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_token".to_owned()),
        "clients made by an operator are not managed here"
    );
    let r = server
        .http
        .post(uri_a)
        .bearer_auth(token_a)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 405);

    // Updates must name the client, may not change its kind, nor set what the server sets.
    let client_id = a["client_id"].as_str().expect("id");
    let mut token = token_a.to_owned();
    for (body, expected) in [
        (
            json!({"client_id": "other", "redirect_uris": [REDIRECT]}),
            "invalid_request",
        ),
        (json!({"redirect_uris": [REDIRECT]}), "invalid_request"),
        (
            json!({"client_id": client_id, "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "client_secret": "guess"}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": client_id, "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": client_id, "redirect_uris": [REDIRECT], "registration_access_token": token_a}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_id": client_id, "redirect_uris": ["https://app.example/cb#x"], "token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
    ] {
        let r = manage(&server, reqwest::Method::PUT, uri_a, &token, Some(&body)).await;
        let status = r.status().as_u16();
        let answer: Value = r.json().await.expect("json");
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(expected)),
            "{body}"
        );
        // A refused update changes nothing, the token included.
        let r = manage(&server, reqwest::Method::GET, uri_a, &token, None).await;
        assert_eq!(r.status(), 200);
        let read: Value = r.json().await.expect("json");
        assert_eq!(read["client_name"], "Photo book");
        token = read["registration_access_token"]
            .as_str()
            .expect("token")
            .to_owned();
    }
}

#[tokio::test]
async fn a_registered_client_signs_a_user_in_with_pkce() {
    let server = server_with(DynamicRegistration::Open).await;
    server.user("alice", "pw").await;
    let info = registered(&server, &web_app_metadata()).await;
    assert!(
        info.get("client_secret").is_none(),
        "a public client gets no secret"
    );
    assert!(info.get("client_secret_expires_at").is_none());
    let client = BasicClient::new(ClientId::new(
        info["client_id"].as_str().expect("id").into(),
    ))
    .set_auth_uri(AuthUrl::new(server.url(paths::AUTHORIZE)).expect("url"))
    .set_token_uri(TokenUrl::new(server.url(paths::TOKEN)).expect("url"))
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new(&server);
    let back = browser
        .authorize(url.as_str(), "alice", "pw", "allow")
        .await;
    let params = params_of(&back);
    assert_eq!(params.get("state"), Some(state.secret()));
    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&server.http)
        .await
        .expect("code exchange");
    assert!(token.access_token().secret().starts_with("tsat_"));
    assert!(token.refresh_token().is_some());
}

#[tokio::test]
async fn token_guarded_registration_counts_clients_per_initial_access_token() {
    let server = server_with(DynamicRegistration::Token).await;
    let body = web_app_metadata();
    let r = register(&server, &body, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"tessera\"");
    let r = register(&server, &body, Some("tsia_made-up")).await;
    assert_eq!(error_of(r).await, (401, "invalid_token".to_owned()));

    let (code, out, err) = crate::common::run(
        &[
            "registration-token",
            "create",
            "--max-clients",
            "2",
            "--json",
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let created: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(created["max_clients"], 2);
    let token = created["initial_access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(token.starts_with("tsia_"));
    assert!(
        !crate::common::everything_stored(&server.database_url)
            .await
            .contains(&token),
        "stored as a digest"
    );

    for _ in 0..2 {
        assert_eq!(register(&server, &body, Some(&token)).await.status(), 201);
    }
    let r = register(&server, &body, Some(&token)).await;
    let status = r.status().as_u16();
    let refused: Value = r.json().await.expect("json");
    assert_eq!(
        (status, refused["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("maximum"),
        "{refused}"
    );

    let (code, out, _) = crate::common::run(
        &[
            "registration-token",
            "create",
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_eq!(code, 0);
    let unlimited = out.trim();
    assert!(
        unlimited.starts_with("tsia_") && !unlimited.contains(' '),
        "{out}"
    );
    for _ in 0..3 {
        assert_eq!(
            register(&server, &body, Some(unlimited)).await.status(),
            201
        );
    }
    let (code, _, err) = crate::common::run(
        &[
            "registration-token",
            "create",
            "--max-clients",
            "0",
            "--database-url",
            &server.database_url,
        ],
        None,
    );
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test]
async fn every_field_tessera_does_not_serve_is_refused_by_name() {
    let server = server_with(DynamicRegistration::Open).await;
    let base = |extra: Value| {
        let mut body = json!({"redirect_uris": [REDIRECT]});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    for (body, error, named) in [
        (
            base(json!({"jwks_uri": "https://app.example/jwks"})),
            "invalid_client_metadata",
            "jwks_uri",
        ),
        (
            base(json!({"jwks": {"keys": []}})),
            "invalid_client_metadata",
            "jwks",
        ),
        (
            base(json!({"software_id": "4NRB1"})),
            "invalid_client_metadata",
            "software_id",
        ),
        (
            base(json!({"software_version": "2"})),
            "invalid_client_metadata",
            "software_version",
        ),
        (
            base(json!({"application_type": "web"})),
            "invalid_client_metadata",
            "application_type",
        ),
        (
            base(json!({"client_id": "mine"})),
            "invalid_client_metadata",
            "client_id",
        ),
        (
            base(json!({"client_secret": "mine"})),
            "invalid_client_metadata",
            "client_secret",
        ),
        (
            base(json!({"client_id_issued_at": 1})),
            "invalid_client_metadata",
            "client_id_issued_at",
        ),
        (
            base(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata",
            "private_key_jwt",
        ),
        (
            base(json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]})),
            "invalid_client_metadata",
            "jwt-bearer",
        ),
        (
            base(json!({"grant_types": ["authorization_code"], "response_types": ["token"]})),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            base(json!({"scope": "read admin"})),
            "invalid_client_metadata",
            "scope",
        ),
        (
            base(json!({"client_uri": "javascript:alert(1)"})),
            "invalid_client_metadata",
            "client_uri",
        ),
        (
            base(json!({"logo_uri": "https://trusted.example@evil.example/logo.png"})),
            "invalid_client_metadata",
            "logo_uri",
        ),
        (
            base(json!({"policy_uri": 7})),
            "invalid_client_metadata",
            "policy_uri",
        ),
        (
            base(json!({"contacts": ["two words"]})),
            "invalid_client_metadata",
            "contacts",
        ),
        (
            base(json!({"id_token_signed_response_alg": "HS256"})),
            "invalid_client_metadata",
            "HS256",
        ),
        (
            base(json!({"id_token_signed_response_alg": "none"})),
            "invalid_client_metadata",
            "id_token_signed_response_alg",
        ),
        (
            base(json!({"client_name": "x".repeat(256)})),
            "invalid_client_metadata",
            "client_name",
        ),
        (
            base(json!({"software_statement": "eyJhbGciOiJSUzI1NiJ9.e30.x"})),
            "unapproved_software_statement",
            "Software statements",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#fragment"]}),
            "invalid_redirect_uri",
            "fragment",
        ),
        (
            json!({"redirect_uris": ["/relative"]}),
            "invalid_redirect_uri",
            "absolute",
        ),
        (
            json!({"client_name": "No redirect"}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            base(json!({"post_logout_redirect_uris": ["not a uri"]})),
            "invalid_redirect_uri",
            "redirect URI",
        ),
    ] {
        let r = register(&server, &body, None).await;
        let status = r.status().as_u16();
        let answer: Value = r.json().await.expect("json");
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(error)),
            "{body}: {answer}"
        );
        let description = answer["error_description"].as_str().unwrap_or("");
        assert!(description.contains(named), "{body}: {description}");
        assert!(
            !description.contains('"') && !description.contains('\\'),
            "{description}"
        );
    }
    let bodies: [(&str, &str); 3] = [
        (
            "text/plain",
            r#"{"redirect_uris":["https://app.example/cb"]}"#,
        ),
        (
            "application/json",
            r#"{"client_name":"a","client_name":"b"}"#,
        ),
        ("application/json", "not json"),
    ];
    for (content_type, body) in bodies {
        let r = server
            .http
            .post(server.url(paths::REGISTER))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let (status, error) = error_of(r).await;
        assert_eq!(status, 400, "{content_type} {body}");
        assert!(
            error == "invalid_request" || error == "invalid_client_metadata",
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_deleted_clients_tokens_are_inactive_everywhere() {
    let server = server_with(DynamicRegistration::Open).await;
    server.user("alice", "pw").await;
    let info = registered(
        &server,
        &json!({"grant_types": ["password", "client_credentials"], "client_name": "Script", "scope": "read openid"}),
    )
    .await;
    assert_eq!(info["scope"], "openid read");
    let app = TestClient {
        id: info["client_id"].as_str().expect("id").into(),
        secret: info["client_secret"].as_str().map(str::to_owned),
    };
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=pw&scope=write",
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_scope".to_owned()),
        "the registered scope is what the client may be granted"
    );
    let tokens = server.password_tokens(&app, "alice", "pw").await;
    assert_eq!(
        tokens.0["scope"], "read",
        "the default scope, within the registered one"
    );
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=pw&scope=openid",
        )
        .await;
    let openid: Value = r.json().await.expect("json");
    let openid_at = openid["access_token"].as_str().expect("at").to_owned();
    let service = server.client_token(&app, None).await;
    let resource_server = server.confidential().await;
    for t in [
        tokens.access(),
        tokens.refresh(),
        service.clone(),
        openid_at.clone(),
    ] {
        assert!(server.is_active(&resource_server, &t).await);
    }

    let r = manage(
        &server,
        reqwest::Method::DELETE,
        info["registration_client_uri"].as_str().expect("uri"),
        info["registration_access_token"].as_str().expect("token"),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    for t in [
        tokens.access(),
        tokens.refresh(),
        service,
        openid_at.clone(),
    ] {
        assert!(
            !server.is_active(&resource_server, &t).await,
            "introspection"
        );
    }
    let r = server
        .http
        .get(server.url(paths::USERINFO))
        .bearer_auth(&openid_at)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401, "userinfo");
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                tokens.refresh()
            ),
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".to_owned()),
        "refresh"
    );
}

#[tokio::test]
async fn registration_is_rate_limited_per_address() {
    let server = TestServer::start_with(|mut s| {
        s.dynamic_registration = DynamicRegistration::Open;
        s.rate_limits = RateLimitSettings {
            window_seconds: 60,
            per_principal: 3,
            per_address: 100,
            per_principal_total: 50,
        };
        s
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            register(&server, &web_app_metadata(), None).await.status(),
            201
        );
    }
    let r = register(&server, &web_app_metadata(), None).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = register(&server, &json!({"jwks": {}}), None).await;
    assert_eq!(
        r.status(),
        429,
        "refused attempts count too, and are refused first"
    );
    server.advance(60);
    assert_eq!(
        register(&server, &web_app_metadata(), None).await.status(),
        201
    );
}
