//! The authorization code flow (RFC 6749 section 4.1, RFC 7636) end to end: the `oauth2`
//! crate builds the authorization URL and exchanges the code; a cookie-keeping HTTP client
//! plays the browser through sign-in and consent.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use tessera_core::client::{ClientType, GrantType};
use tessera_web::paths;

use crate::common::{
    Browser, REDIRECT, TestClient, TestServer, error_of, hidden_fields, location, params_of,
};

type CodeClient = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn code_client(server: &TestServer, app: &TestClient) -> CodeClient {
    let mut c = BasicClient::new(ClientId::new(app.id.clone()))
        .set_auth_uri(AuthUrl::new(server.url(paths::AUTHORIZE)).expect("url"))
        .set_token_uri(TokenUrl::new(server.url(paths::TOKEN)).expect("url"))
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"));
    if let Some(s) = &app.secret {
        c = c.set_client_secret(ClientSecret::new(s.clone()));
    }
    c
}

/// Runs the flow up to the code: (code, state sent, PKCE verifier).
async fn get_code(
    server: &TestServer,
    app: &TestClient,
    browser: &mut Browser,
) -> (String, String, PkceCodeVerifier) {
    let client = code_client(server, app);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = browser
        .authorize(url.as_str(), "alice", "pw", "allow")
        .await;
    assert!(back.starts_with(&format!("{REDIRECT}?")), "{back}");
    let params = params_of(&back);
    assert_eq!(
        params.get("state"),
        Some(state.secret()),
        "state is preserved"
    );
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(server.issuer.as_str()),
        "RFC 9207"
    );
    (params["code"].clone(), state.secret().clone(), verifier)
}

#[tokio::test]
async fn confidential_and_public_clients_complete_the_code_flow_with_pkce() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let rs = server.confidential().await;
    for client_type in [ClientType::Confidential, ClientType::Public] {
        let app = server.web_app(client_type).await;
        let mut browser = Browser::new(&server);
        let (code, _, verifier) = get_code(&server, &app, &mut browser).await;
        assert!(code.starts_with("tsac_"));
        let token = code_client(&server, &app)
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&server.http)
            .await
            .expect("code exchange");
        let introspected = server.introspect(&rs, token.access_token().secret()).await;
        assert_eq!(introspected["active"], true);
        assert_eq!(introspected["username"], "alice");
        assert_eq!(introspected["client_id"], app.id.as_str());
        assert_eq!(introspected["scope"], "read");
        assert!(
            token.refresh_token().is_some(),
            "the code grant issues refresh tokens"
        );
    }
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_its_tokens() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server.web_app(ClientType::Confidential).await;
    let mut browser = Browser::new(&server);
    let (code, _, verifier) = get_code(&server, &app, &mut browser).await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
        tessera_core::form::encode(REDIRECT),
        verifier.secret()
    );
    let first = server.post_as(paths::TOKEN, &app, &body).await;
    assert_eq!(first.status(), 200);
    let tokens: serde_json::Value = first.json().await.expect("json");
    let replay = server.post_as(paths::TOKEN, &app, &body).await;
    assert_eq!(error_of(replay).await, (400, "invalid_grant".into()));
    for t in ["access_token", "refresh_token"] {
        assert!(
            !server
                .is_active(&app, tokens[t].as_str().expect("token"))
                .await,
            "{t} revoked by the replay"
        );
    }
}

#[tokio::test]
async fn code_exchange_errors() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server.web_app(ClientType::Confidential).await;
    let other = server.web_app(ClientType::Confidential).await;
    let mut browser = Browser::new(&server);
    let redirect = tessera_core::form::encode(REDIRECT);

    let (code, _, verifier) = get_code(&server, &app, &mut browser).await;
    let wrong = "x".repeat(43);
    let r = server
        .post_as(paths::TOKEN, &app, &format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={wrong}"))
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_grant".into()),
        "wrong verifier"
    );
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            &format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}"),
        )
        .await;
    assert_eq!(r.status(), 400, "missing verifier");
    let r = server
        .post_as(paths::TOKEN, &app, &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fother&code_verifier={}", verifier.secret()))
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_grant".into()),
        "redirect URI mismatch"
    );
    let r = server
        .post_as(paths::TOKEN, &other, &format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={}", verifier.secret()))
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_grant".into()),
        "another client's code"
    );
    let r = server
        .post_as(paths::TOKEN, &app, &format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={}", verifier.secret()))
        .await;
    assert_eq!(r.status(), 200, "the failed attempts did not burn the code");

    let (code, _, verifier) = get_code(&server, &app, &mut browser).await;
    server.advance(60);
    let r = server
        .post_as(paths::TOKEN, &app, &format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={}", verifier.secret()))
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_grant".into()),
        "codes live 60 seconds"
    );
}

#[tokio::test]
async fn denial_redirects_with_access_denied_and_state() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server.web_app(ClientType::Confidential).await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = code_client(&server, &app)
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new(&server);
    let back = browser.authorize(url.as_str(), "alice", "pw", "deny").await;
    let params = params_of(&back);
    assert!(back.starts_with(REDIRECT));
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert_eq!(params.get("state"), Some(state.secret()));
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn untrusted_redirect_uris_are_never_redirected_to() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server.web_app(ClientType::Confidential).await;
    let mut browser = Browser::new(&server);
    browser.sign_in("alice", "pw").await;
    for query in [
        format!(
            "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            app.id
        ),
        format!(
            "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F",
            app.id
        ),
        "response_type=code&client_id=unknown&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
            .to_owned(),
        "response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb".to_owned(),
        format!("response_type=code&client_id={0}&client_id={0}", app.id),
    ] {
        let r = browser.get(&paths::authorize_with(&query)).await;
        assert_eq!(r.status(), 400, "{query}");
        assert!(r.headers().get("location").is_none(), "{query}");
        assert!(
            r.text().await.expect("page").contains("<h1>"),
            "an explained error page"
        );
    }
}

#[tokio::test]
async fn errors_after_a_valid_redirect_uri_go_back_to_it() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let public = server.web_app(ClientType::Public).await;
    let mut browser = Browser::new(&server);
    browser.sign_in("alice", "pw").await;
    let cases = [
        (
            format!("response_type=code&client_id={}&state=s1", public.id),
            "invalid_request",
        ),
        (
            format!(
                "response_type=code&client_id={}&state=s1&code_challenge={}&code_challenge_method=plain",
                public.id,
                "a".repeat(43)
            ),
            "invalid_request",
        ),
        (
            format!("response_type=token&client_id={}&state=s1", public.id),
            "unauthorized_client",
        ),
        (
            format!("response_type=magic&client_id={}&state=s1", public.id),
            "unsupported_response_type",
        ),
        (
            format!("client_id={}&state=s1", public.id),
            "invalid_request",
        ),
        (
            format!(
                "response_type=code&client_id={}&state=s1&scope=nuke&code_challenge={}&code_challenge_method=S256",
                public.id,
                "a".repeat(43)
            ),
            "invalid_scope",
        ),
    ];
    for (query, error) in cases {
        let r = browser.get(&paths::authorize_with(&query)).await;
        assert_eq!(r.status(), 302, "{query}");
        let back = location(&r);
        assert!(back.starts_with(REDIRECT), "{back}");
        let params = params_of(&back);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{query}"
        );
        assert_eq!(params.get("state").map(String::as_str), Some("s1"));
    }
}

#[tokio::test]
async fn prompt_none_skip_authorization_and_implicit() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server.web_app(ClientType::Confidential).await;
    let query = format!(
        "response_type=code&client_id={}&state=q&prompt=none",
        app.id
    );
    let mut browser = Browser::new(&server);
    let r = browser.get(&paths::authorize_with(&query)).await;
    assert_eq!(
        params_of(&location(&r)).get("error").map(String::as_str),
        Some("login_required")
    );
    browser.sign_in("alice", "pw").await;
    let r = browser.get(&paths::authorize_with(&query)).await;
    assert_eq!(
        params_of(&location(&r)).get("error").map(String::as_str),
        Some("consent_required")
    );

    let trusted = server
        .client_with(
            ClientType::Confidential,
            &[GrantType::AuthorizationCode],
            &[REDIRECT],
            &[],
            None,
            true,
        )
        .await;
    let r = browser
        .get(&format!(
            "{}?response_type=code&client_id={}&state=t",
            paths::AUTHORIZE,
            trusted.id
        ))
        .await;
    assert_eq!(r.status(), 302, "skip_authorization skips consent");
    assert!(params_of(&location(&r)).contains_key("code"));
    let r = browser
        .get(&format!(
            "{}?response_type=code&client_id={}&state=t&prompt=consent",
            paths::AUTHORIZE,
            trusted.id
        ))
        .await;
    assert_eq!(
        r.status(),
        200,
        "prompt=consent shows the consent page anyway"
    );
    let r = browser
        .get(&format!(
            "{}?response_type=code&client_id={}&state=t&prompt=login",
            paths::AUTHORIZE,
            trusted.id
        ))
        .await;
    assert!(
        location(&r).starts_with(paths::LOGIN),
        "prompt=login asks to sign in again"
    );

    let implicit = server
        .client_with(
            ClientType::Public,
            &[GrantType::Implicit],
            &[REDIRECT],
            &[],
            None,
            false,
        )
        .await;
    let back = browser
        .authorize(
            &format!(
                "{}?response_type=token&client_id={}&state=i&scope=read",
                paths::AUTHORIZE,
                implicit.id
            ),
            "alice",
            "pw",
            "allow",
        )
        .await;
    assert!(
        back.starts_with(&format!("{REDIRECT}#access_token=")),
        "{back}"
    );
    let params = params_of(&back);
    assert_eq!(params.get("token_type").map(String::as_str), Some("Bearer"));
    assert_eq!(params.get("state").map(String::as_str), Some("i"));
    let rs = server.confidential().await;
    assert!(server.is_active(&rs, &params["access_token"]).await);
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_pages_are_protected() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server.web_app(ClientType::Confidential).await;
    let mut browser = Browser::new(&server);
    let r = browser.get(paths::LOGIN).await;
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("frame-ancestors 'none'")
    );
    let csrf_cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"));

    let r = browser
        .post_form(
            paths::LOGIN,
            &[
                ("username".into(), "alice".into()),
                ("password".into(), "pw".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 403, "a login without the CSRF token is refused");
    let r = browser.sign_in("alice", "pw").await;
    assert_eq!(r.status(), 303);
    let session_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("tessera_session="))
        .expect("a session cookie");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));

    let r = browser
        .get(&format!(
            "{}?response_type=code&client_id={}&state=x",
            paths::AUTHORIZE,
            app.id
        ))
        .await;
    let page = r.text().await.expect("consent");
    let fields: Vec<(String, String)> = hidden_fields(&page)
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    let mut forged = fields.clone();
    forged.push(("allow".into(), "x".into()));
    let r = browser.post_form(paths::AUTHORIZE, &forged).await;
    assert_eq!(
        r.status(),
        403,
        "a consent without the CSRF token is refused"
    );
    assert!(r.headers().get("location").is_none());
}

#[tokio::test]
async fn bad_logins_are_rate_limited() {
    let server = TestServer::start_with(|mut s| {
        s.rate_limits.per_principal = 3;
        s
    })
    .await;
    server.user("alice", "pw").await;
    let mut browser = Browser::new(&server);
    for _ in 0..3 {
        let r = browser.sign_in("alice", "wrong").await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.expect("page").contains("do not match"));
    }
    let r = browser.sign_in("alice", "wrong").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = browser.sign_in("alice", "pw").await;
    assert_eq!(
        r.status(),
        429,
        "over the limit the right password gets the same answer: nothing to tell them apart"
    );
    server.advance(60);
    let r = browser.sign_in("alice", "pw").await;
    assert_eq!(r.status(), 303, "the next window");
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let mut browser = Browser::new(&server);
    browser.sign_in("alice", "pw").await;
    assert_eq!(browser.get(paths::APPLICATIONS).await.status(), 200);
    let page = browser.get(paths::LOGOUT).await.text().await.expect("page");
    let r = browser
        .post_form(paths::LOGOUT, &hidden_fields(&page))
        .await;
    assert_eq!(r.status(), 303);
    let r = browser.get(paths::APPLICATIONS).await;
    assert_eq!(r.status(), 302);
    assert!(location(&r).starts_with(&format!("{}?next=", paths::LOGIN)));
}
