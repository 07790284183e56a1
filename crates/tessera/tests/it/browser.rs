//! Real-browser tests: headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/run`). Each page visited is saved as a screenshot under
//! `target/screenshots/`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    Scope, TokenResponse, TokenUrl,
};
use serde_json::json;
use tessera_core::client::{ClientType, GrantType};
use tessera_web::paths;

use crate::common::{TestServer, params_of};

struct Chrome {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn which(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .unwrap_or_else(|| {
            panic!(
                "none of {candidates:?} exists: install chromium and chromium-driver (.ci/run does)"
            )
        })
}

async fn chrome() -> Chrome {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let driver = Command::new(which(&[
        "/usr/bin/chromedriver",
        "/usr/lib/chromium/chromedriver",
    ]))
    .arg(format!("--port={port}"))
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start chromedriver");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().expect("profile dir");
    let caps = json!({
        "goog:chromeOptions": {
            "binary": which(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1000,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let caps = caps.as_object().expect("object").clone();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
    Chrome {
        client,
        driver,
        _profile: profile,
    }
}

async fn screenshot(c: &Client, name: &str) {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG image");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .expect(css)
        .send_keys(text)
        .await
        .expect("type");
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

async fn wait_for(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"));
}

/// A stand-in for the client application: it receives the browser after authorization.
async fn callback_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::get(|| async {
            // The relying party's own page, where the browser lands after authorizing.
            axum::response::Html(include_str!("client_app.html"))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/cb")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_consent_and_return_with_a_code() {
    let server = TestServer::start().await;
    server.user("alice", "wonderland").await;
    let callback = callback_server().await;
    let app = server
        .client_with(
            ClientType::Confidential,
            &[GrantType::AuthorizationCode],
            &[&callback],
            &[],
            None,
            false,
        )
        .await;
    let oauth = BasicClient::new(ClientId::new(app.id.clone()))
        .set_client_secret(ClientSecret::new(app.secret().to_owned()))
        .set_auth_uri(AuthUrl::new(server.url(paths::AUTHORIZE)).expect("url"))
        .set_token_uri(TokenUrl::new(server.url(paths::TOKEN)).expect("url"))
        .set_redirect_uri(RedirectUrl::new(callback.clone()).expect("url"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = oauth
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge)
        .url();

    let chrome = chrome().await;
    let c = &chrome.client;
    c.goto(url.as_str())
        .await
        .expect("open the authorization URL");
    wait_for(c, "#username").await;
    assert_eq!(c.title().await.expect("title"), "Sign in · Tessera");
    screenshot(c, "login").await;
    fill(c, "#username", "alice").await;
    fill(c, "#password", "wonderland").await;
    click(c, "button[type=submit]").await;

    wait_for(c, "button[name=allow]").await;
    let consent = c.source().await.expect("source");
    assert!(
        consent.contains("Test app"),
        "the consent page names the application"
    );
    assert!(consent.contains("Read your data") && consent.contains("Change your data"));
    screenshot(c, "consent").await;
    click(c, "button[name=allow]").await;

    wait_for(c, "#back").await;
    let landed = c.current_url().await.expect("url").to_string();
    assert!(landed.starts_with(&callback), "{landed}");
    let params = params_of(&landed);
    assert_eq!(params.get("state"), Some(state.secret()));
    screenshot(c, "redirected-with-code").await;

    let token = oauth
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&server.http)
        .await
        .expect("code exchange");
    assert!(server.is_active(&app, token.access_token().secret()).await);
    chrome.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_an_application_in_the_browser() {
    let server = TestServer::start().await;
    server.user("alice", "wonderland").await;
    let chrome = chrome().await;
    let c = &chrome.client;
    c.goto(&server.url(paths::APPLICATIONS))
        .await
        .expect("open");
    wait_for(c, "#username").await;
    fill(c, "#username", "alice").await;
    fill(c, "#password", "wonderland").await;
    click(c, "button[type=submit]").await;

    wait_for(c, "a.button").await;
    screenshot(c, "applications-empty").await;
    click(c, "a.button").await;
    wait_for(c, "#name").await;
    fill(c, "#name", "Billing dashboard").await;
    click(c, "#type-confidential").await;
    fill(c, "#redirect_uris", "https://billing.example/callback").await;
    fill(c, "#allowed_origins", "https://billing.example").await;
    screenshot(c, "application-register").await;
    click(c, "button[type=submit]").await;

    wait_for(c, "#client-secret").await;
    let secret = c
        .find(Locator::Css("#client-secret"))
        .await
        .expect("secret")
        .text()
        .await
        .expect("text");
    let client_id = c
        .find(Locator::Css("#client-id"))
        .await
        .expect("id")
        .text()
        .await
        .expect("text");
    assert!(secret.starts_with("tscs_"));
    screenshot(c, "application-registered").await;

    let stored = server
        .store
        .client_by_client_id(&client_id)
        .await
        .expect("store")
        .expect("registered");
    assert_eq!(stored.name, "Billing dashboard");
    assert_eq!(
        stored.allowed_origins,
        vec!["https://billing.example".to_owned()]
    );
    assert!(stored.has_grant_type(GrantType::AuthorizationCode));

    c.goto(&server.url(paths::APPLICATIONS))
        .await
        .expect("open");
    wait_for(c, "table").await;
    assert!(
        c.source()
            .await
            .expect("source")
            .contains("Billing dashboard")
    );
    screenshot(c, "applications-list").await;
    chrome.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_a_grant_in_the_browser() {
    let server = TestServer::start().await;
    server.user("alice", "wonderland").await;
    let app = server.confidential().await;
    let tokens = server.password_tokens(&app, "alice", "wonderland").await;
    assert!(server.is_active(&app, &tokens.access()).await);

    let chrome = chrome().await;
    let c = &chrome.client;
    c.goto(&server.url(paths::AUTHORIZED_TOKENS))
        .await
        .expect("open");
    wait_for(c, "#username").await;
    fill(c, "#username", "alice").await;
    fill(c, "#password", "wonderland").await;
    click(c, "button[type=submit]").await;

    wait_for(c, "button[name=revoke]").await;
    screenshot(c, "authorized-tokens").await;
    click(c, "button[name=revoke]").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//p[contains(., 'You have not given any application access.')]",
        ))
        .await
        .expect("the grant disappears from the list");
    screenshot(c, "authorized-tokens-revoked").await;
    assert!(!server.is_active(&app, &tokens.access()).await);
    assert!(!server.is_active(&app, &tokens.refresh()).await);
    chrome.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_openid_connect_and_sign_out_in_a_real_browser() {
    use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
    use openidconnect::{IssuerUrl, Nonce, OAuth2TokenResponse, TokenResponse};

    let server = TestServer::start().await;
    server.user("alice", "wonderland").await;
    let callback = callback_server().await;
    let secret = tessera_core::token::generate(
        tessera_core::token::TokenKind::ClientSecret,
        &*server.entropy,
    );
    server
        .store
        .insert_client(tessera_store::NewClient {
            client_id: "oidc-browser".into(),
            name: "Photo book".into(),
            client_type: ClientType::Confidential,
            grant_types: vec![GrantType::AuthorizationCode],
            secret: tessera_core::client::SecretHash::Sha256(secret.digest.0),
            redirect_uris: vec![callback.clone()],
            post_logout_redirect_uris: vec![callback.clone()],
            allowed_origins: vec![],
            user_id: None,
            skip_authorization: false,
            algorithm: Some("ES256".into()),
            access_token_format: Default::default(),
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: true,
            created_at: crate::common::START,
        })
        .await
        .expect("client");
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(server.issuer.clone()).expect("issuer"),
        &server.http,
    )
    .await
    .expect("discovery");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        openidconnect::ClientId::new("oidc-browser".into()),
        Some(openidconnect::ClientSecret::new(secret.text.clone())),
    )
    .set_redirect_uri(openidconnect::RedirectUrl::new(callback.clone()).expect("url"));
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            openidconnect::CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(openidconnect::Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let chrome = chrome().await;
    let c = &chrome.client;
    c.goto(url.as_str()).await.expect("open");
    wait_for(c, "#username").await;
    fill(c, "#username", "alice").await;
    fill(c, "#password", "wonderland").await;
    click(c, "button[type=submit]").await;
    wait_for(c, "button[name=allow]").await;
    let consent = c.source().await.expect("source");
    assert!(consent.contains("Photo book") && consent.contains("Know who you are"));
    screenshot(c, "oidc-consent").await;
    click(c, "button[name=allow]").await;
    wait_for(c, "#back").await;
    let landed = c.current_url().await.expect("url").to_string();
    let params = params_of(&landed);
    assert_eq!(params.get("state"), Some(state.secret()));

    let tokens = rp
        .exchange_code(openidconnect::AuthorizationCode::new(
            params["code"].clone(),
        ))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&server.http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("ID token");
    let verifier = rp.id_token_verifier().set_allowed_algs(vec![
        openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.issuer().as_str(), server.issuer);
    let app = crate::common::TestClient {
        id: "oidc-browser".into(),
        secret: Some(secret.text.clone()),
    };
    assert!(server.is_active(&app, tokens.access_token().secret()).await);

    // RP-initiated logout: back at the application with its state, the session over.
    let logout = format!(
        "{}?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        server.url(paths::END_SESSION),
        id_token,
        tessera_core::form::encode(&callback)
    );
    c.goto(&logout).await.expect("logout");
    wait_for(c, "#back").await;
    let landed = c.current_url().await.expect("url").to_string();
    assert_eq!(landed, format!("{callback}?state=bye"));
    screenshot(c, "oidc-signed-out").await;
    c.goto(url.as_str()).await.expect("open again");
    wait_for(c, "#username").await;
    assert_eq!(c.title().await.expect("title"), "Sign in · Tessera");
    chrome.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_a_device_in_a_real_browser() {
    use crate::device::{poll, start, tv_app};

    let server = TestServer::start().await;
    server.user("alice", "wonderland").await;
    let app = tv_app(&server).await;
    let d = start(&server, &app, "read").await;
    let device_code = d["device_code"].as_str().expect("device_code").to_owned();
    let user_code = d["user_code"].as_str().expect("user_code").to_owned();
    let pending = poll(&server, &app, &device_code).await;
    assert_eq!(pending.status(), 400, "waiting for the user");

    // The user scans the TV's QR code: verification_uri_complete, on a phone's browser.
    let chrome = chrome().await;
    let c = &chrome.client;
    c.goto(d["verification_uri_complete"].as_str().expect("uri"))
        .await
        .expect("open");
    wait_for(c, "#username").await;
    fill(c, "#username", "alice").await;
    fill(c, "#password", "wonderland").await;
    click(c, "button[type=submit]").await;
    wait_for(c, "#user_code").await;
    let filled = c
        .find(Locator::Css("#user_code"))
        .await
        .expect("field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        filled.as_deref(),
        Some(user_code.as_str()),
        "the code came with the link"
    );
    screenshot(c, "device-code").await;
    click(c, "button[type=submit]").await;
    wait_for(c, "button[name=allow]").await;
    let consent = c.source().await.expect("source");
    assert!(consent.contains("Test app") && consent.contains(&user_code));
    screenshot(c, "device-consent").await;
    click(c, "button[name=allow]").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//h1[contains(., 'Device connected')]"))
        .await
        .expect("the approval is confirmed");
    screenshot(c, "device-connected").await;

    server.advance(5);
    let r = poll(&server, &app, &device_code).await;
    assert_eq!(r.status(), 200);
    let tokens: serde_json::Value = r.json().await.expect("json");
    let introspector = server.confidential().await;
    assert!(
        server
            .is_active(&introspector, tokens["access_token"].as_str().expect("at"))
            .await
    );
    chrome.client.clone().close().await.expect("close");
}

/// Whether the page fits the viewport: no horizontal scrolling, and the element `css`
/// (a client id) entirely inside it. Returns (scrollWidth, innerWidth).
async fn fits(c: &Client, css: Option<&str>) -> (u64, u64) {
    let v = c
        .execute(
            "const el = arguments[0] ? document.querySelector(arguments[0]) : null; \
             return [document.documentElement.scrollWidth, window.innerWidth, \
                     el ? Math.ceil(el.getBoundingClientRect().right) : 0];",
            vec![json!(css)],
        )
        .await
        .expect("script");
    let n = |i: usize| v[i].as_u64().expect("a number");
    let (scroll, inner, right) = (n(0), n(1), n(2));
    assert!(
        scroll <= inner,
        "horizontal overflow: the page is {scroll} px wide in a {inner} px viewport"
    );
    assert!(
        right <= inner,
        "{css:?} ends at {right} px, past {inner} px"
    );
    (scroll, inner)
}

/// The pages a user sees, with a 40-character client id and a long name, laid out for a
/// phone (390 px) and a desktop (1200 px): nothing overflows, nothing is clipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone_and_a_desktop() {
    let server = TestServer::start().await;
    server.user("alice", "wonderland").await;
    let alice = server
        .store
        .user_by_username("alice")
        .await
        .expect("store")
        .expect("alice");
    let long_id = "Qm9vZ2llV29vZ2llQm9vZ2llV29vZ2llQm9vZ2ll";
    assert_eq!(long_id.len(), 40);
    let app = server
        .store
        .insert_client(tessera_store::NewClient {
            client_id: long_id.into(),
            name: "Quarterly-reconciliation-dashboard-for-the-finance-team".into(),
            client_type: ClientType::Confidential,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::ClientCredentials],
            secret: tessera_core::client::SecretHash::sha256_of("x"),
            redirect_uris: vec![
                "https://reconciliation.finance.example.com/oauth/callback/with/a/long/path".into(),
            ],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            user_id: Some(alice.id),
            skip_authorization: false,
            algorithm: None,
            access_token_format: Default::default(),
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: false,
            created_at: crate::common::START,
        })
        .await
        .expect("insert");

    let chrome = chrome().await;
    let c = &chrome.client;
    c.goto(&server.url(paths::APPLICATIONS))
        .await
        .expect("open");
    wait_for(c, "#username").await;
    fill(c, "#username", "alice").await;
    fill(c, "#password", "wonderland").await;
    click(c, "button[type=submit]").await;
    wait_for(c, "table.apps").await;

    for width in [390, 1200] {
        c.set_window_size(width, 900).await.expect("resize");
        let pages = [
            (
                paths::APPLICATIONS.to_owned(),
                Some("table.apps code"),
                "applications",
            ),
            (
                paths::application_detail(app.id),
                Some("#client-id"),
                "application",
            ),
            (
                paths::AUTHORIZED_TOKENS.to_owned(),
                None,
                "authorized-tokens",
            ),
            ("/no/such/page".to_owned(), None, "not-found"),
        ];
        for (path, element, name) in pages {
            c.goto(&server.url(&path)).await.expect("open");
            wait_for(c, "main").await;
            let (_, inner) = fits(c, element).await;
            assert!(
                inner <= u64::from(width) && inner + 40 >= u64::from(width),
                "the viewport is {inner} px for a {width} px window"
            );
            screenshot(c, &format!("{name}-{width}")).await;
        }
        // The not-found page leads on.
        c.goto(&server.url("/no/such/page")).await.expect("open");
        let page = c.source().await.expect("source");
        assert!(page.contains("Not found"), "{page}");
        assert!(page.contains(&format!("href=\"{}\"", paths::APPLICATIONS)));
    }
    chrome.client.clone().close().await.expect("close");
}
