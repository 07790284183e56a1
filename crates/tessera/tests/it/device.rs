//! The device authorization grant (RFC 8628) end to end: a TV-style application (the
//! `oauth2` crate's device support, or raw requests) polls the token endpoint while the user
//! answers on the verification page with a cookie-keeping HTTP browser.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};
use serde_json::Value;
use tessera_core::client::{ClientType, GrantType};
use tessera_core::token::TokenDigest;
use tessera_web::paths;
use tessera_web::ratelimit::RateLimitSettings;

use crate::common::{
    Browser, START, TestClient, TestServer, error_of, hidden_fields, location, unescape,
};

/// A public application registered for the device grant only, as a TV app would be.
pub async fn tv_app(server: &TestServer) -> TestClient {
    server
        .client_with(
            ClientType::Public,
            &[GrantType::DeviceCode],
            &[],
            &[],
            None,
            false,
        )
        .await
}

/// `POST /o/device-authorization/` as `app`; the JSON answer.
pub async fn start(server: &TestServer, app: &TestClient, scope: &str) -> Value {
    let r = server
        .post_as(paths::DEVICE_AUTHORIZATION, app, &format!("scope={scope}"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.expect("json")
}

/// One poll at the token endpoint.
pub async fn poll(server: &TestServer, app: &TestClient, device_code: &str) -> reqwest::Response {
    server
        .post_as(
            paths::TOKEN,
            app,
            &format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={device_code}"
            ),
        )
        .await
}

/// Enters `user_code` on the verification page as the signed-in `browser`: the answer.
pub async fn enter(browser: &mut Browser, user_code: &str) -> reqwest::Response {
    let form = browser.get(paths::DEVICE).await;
    assert_eq!(form.status(), 200, "the signed-in user gets the form");
    let page = form.text().await.expect("page");
    let mut fields = hidden_fields(&page);
    fields.push(("user_code".into(), user_code.into()));
    browser.post_form(paths::DEVICE, &fields).await
}

/// Enters `user_code` and presses `button` (`allow` or `deny`) on the consent page; the final
/// page's status and text.
pub async fn answer(browser: &mut Browser, user_code: &str, button: &str) -> (u16, String) {
    let consent = enter(browser, user_code).await;
    assert_eq!(consent.status(), 200, "the consent page");
    let page = consent.text().await.expect("consent page");
    assert!(page.contains("name=\"allow\""), "{page}");
    let mut fields = hidden_fields(&page);
    fields.push((button.into(), "x".into()));
    let r = browser.post_form(paths::DEVICE, &fields).await;
    let status = r.status().as_u16();
    (status, r.text().await.expect("page"))
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tv_app_polls_with_oauth2_until_the_user_approves() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = tv_app(&server).await;
    let oauth = BasicClient::new(ClientId::new(app.id.clone()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(server.url(paths::DEVICE_AUTHORIZATION)).expect("url"),
        )
        .set_token_uri(TokenUrl::new(server.url(paths::TOKEN)).expect("url"));
    let details: StandardDeviceAuthorizationResponse = oauth
        .exchange_device_code()
        .add_scope(Scope::new("read".into()))
        .request_async(&server.http)
        .await
        .expect("device authorization");
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(&user_code[4..5], "-", "shown in two groups: {user_code}");
    assert!(
        user_code
            .bytes()
            .all(|b| b == b'-' || b"BCDFGHJKLMNPQRSTVWXZ".contains(&b))
    );
    assert!(details.device_code().secret().starts_with("tsdc_"));
    assert_eq!(
        details.verification_uri().as_str(),
        server.url(paths::DEVICE)
    );
    assert_eq!(
        details
            .verification_uri_complete()
            .map(|u| u.secret().clone()),
        Some(server.url(&paths::device_with_code(&user_code)))
    );
    assert_eq!(details.expires_in(), Duration::from_secs(600));
    assert_eq!(details.interval(), Duration::from_secs(5));

    // The device polls, honouring the interval: each wait moves the server's clock by it.
    let device_code = details.device_code().secret().clone();
    let waits = Arc::new(AtomicUsize::new(0));
    let poller = {
        let (clock, waits, http) = (server.clock.clone(), waits.clone(), server.http.clone());
        let oauth = oauth.clone();
        tokio::spawn(async move {
            oauth
                .exchange_device_access_token(&details)
                .request_async(
                    &http,
                    |interval| {
                        let (clock, waits) = (clock.clone(), waits.clone());
                        async move {
                            clock.advance(interval.as_secs() as i64);
                            waits.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    },
                    None,
                )
                .await
        })
    };
    while waits.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Meanwhile the user signs in on a phone and approves.
    let mut phone = Browser::new(&server);
    phone.sign_in("alice", "pw").await;
    let (status, page) = answer(&mut phone, &user_code, "allow").await;
    assert_eq!(status, 200);
    assert!(page.contains("Device connected"), "{page}");

    let token = poller
        .await
        .expect("task")
        .expect("the device gets its tokens");
    assert!(waits.load(Ordering::SeqCst) >= 3, "it waited for the user");
    assert!(token.access_token().secret().starts_with("tsat_"));
    let refresh = token
        .refresh_token()
        .expect("a refresh token, as for the code flow");
    let introspector = server.confidential().await;
    let seen = server
        .introspect(&introspector, token.access_token().secret())
        .await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["username"], "alice");
    assert_eq!(seen["client_id"], app.id.as_str());
    assert_eq!(seen["scope"], "read");
    assert!(server.is_active(&introspector, refresh.secret()).await);
    let stored = server
        .store
        .find_device_code(&TokenDigest::of(&device_code))
        .await
        .expect("find")
        .expect("kept until it expires");
    assert_eq!(
        stored.code.interval, 5,
        "a client that honours the interval is never slowed"
    );
    assert!(stored.used_at.is_some());
}

#[tokio::test]
async fn polling_too_fast_slows_the_device_down_for_good() {
    let server = TestServer::start().await;
    let app = tv_app(&server).await;
    let d = start(&server, &app, "read").await;
    let code = d["device_code"].as_str().expect("device_code");
    let pending = (400, "authorization_pending".to_owned());
    let slow = (400, "slow_down".to_owned());
    assert_eq!(
        error_of(poll(&server, &app, code).await).await,
        pending,
        "the first poll may come at once"
    );
    let r = poll(&server, &app, code).await;
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "slow_down");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("10 seconds"),
        "{body}"
    );
    server.advance(5);
    assert_eq!(
        error_of(poll(&server, &app, code).await).await,
        slow,
        "the interval is now 10 seconds, and this second slow_down makes it 15"
    );
    server.advance(15);
    assert_eq!(error_of(poll(&server, &app, code).await).await, pending);
    let stored = server
        .store
        .find_device_code(&TokenDigest::of(code))
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(
        stored.code.interval, 15,
        "stored, so every node slows it down alike"
    );
}

#[tokio::test]
async fn a_denied_request_is_access_denied() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = tv_app(&server).await;
    let d = start(&server, &app, "read").await;
    let mut phone = Browser::new(&server);
    phone.sign_in("alice", "pw").await;
    let (status, page) = answer(&mut phone, d["user_code"].as_str().expect("code"), "deny").await;
    assert_eq!(status, 200);
    assert!(page.contains("Access denied"), "{page}");
    let code = d["device_code"].as_str().expect("device_code");
    for _ in 0..2 {
        assert_eq!(
            error_of(poll(&server, &app, code).await).await,
            (400, "access_denied".to_owned())
        );
        server.advance(5);
    }
    // The code cannot be approved afterwards.
    let again = enter(&mut phone, d["user_code"].as_str().expect("code")).await;
    assert_eq!(again.status(), 400);
    assert!(again.text().await.expect("page").contains("already used"));
}

#[tokio::test]
async fn an_unanswered_code_expires() {
    let server = TestServer::start_with(|mut s| {
        s.lifetimes.device_code = 300;
        s
    })
    .await;
    server.user("alice", "pw").await;
    let app = tv_app(&server).await;
    let d = start(&server, &app, "read").await;
    assert_eq!(d["expires_in"], 300, "device_code_expire_seconds");
    server.advance(300);
    assert_eq!(
        error_of(poll(&server, &app, d["device_code"].as_str().expect("code")).await).await,
        (400, "expired_token".to_owned())
    );
    let mut phone = Browser::new(&server);
    phone.sign_in("alice", "pw").await;
    let r = enter(&mut phone, d["user_code"].as_str().expect("code")).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.expect("page");
    assert!(page.contains("expired"), "{page}");
    assert!(!page.contains("name=\"allow\""), "nothing to approve");
}

#[tokio::test]
async fn an_approval_gives_one_token_response_and_a_code_works_once() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = tv_app(&server).await;
    let d = start(&server, &app, "read write").await;
    let user_code = d["user_code"]
        .as_str()
        .expect("code")
        .to_lowercase()
        .replace('-', "");
    let mut phone = Browser::new(&server);
    phone.sign_in("alice", "pw").await;
    let (status, _) = answer(&mut phone, &user_code, "allow").await;
    assert_eq!(status, 200, "typed in lower case without the dash");
    let code = d["device_code"].as_str().expect("device_code");
    let r = poll(&server, &app, code).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.expect("json");
    assert_eq!(tokens["scope"], "read write");
    assert!(tokens["refresh_token"].as_str().is_some());
    assert!(
        tokens.get("id_token").is_none(),
        "no openid scope, no ID token"
    );
    server.advance(5);
    assert_eq!(
        error_of(poll(&server, &app, code).await).await,
        (400, "invalid_grant".to_owned()),
        "the code is spent"
    );
    let introspector = server.confidential().await;
    assert!(
        server
            .is_active(&introspector, tokens["access_token"].as_str().expect("at"))
            .await,
        "a second poll revokes nothing"
    );
    let again = enter(&mut phone, &user_code).await;
    assert_eq!(again.status(), 400);
    assert!(again.text().await.expect("page").contains("already used"));

    // Neither code is stored in clear.
    let stored = crate::common::everything_stored(&server.database_url).await;
    assert!(!stored.contains(code));
    assert!(!stored.contains(&user_code.to_uppercase()));
}

#[tokio::test]
async fn with_openid_the_device_gets_an_id_token_of_the_approving_sign_in() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server
        .client_with(
            ClientType::Confidential,
            &[GrantType::DeviceCode],
            &[],
            &[],
            None,
            false,
        )
        .await;
    let mut phone = Browser::new(&server);
    phone.sign_in("alice", "pw").await;
    server.advance(100);
    let d = start(&server, &app, "openid profile").await;
    let (status, _) = answer(&mut phone, d["user_code"].as_str().expect("code"), "allow").await;
    assert_eq!(status, 200);
    let r = poll(&server, &app, d["device_code"].as_str().expect("code")).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.expect("json");
    let id = claims(tokens["id_token"].as_str().expect("an ID token"));
    let alice = server
        .store
        .user_by_username("alice")
        .await
        .expect("user")
        .expect("alice");
    assert_eq!(id["sub"], alice.id.to_string());
    assert_eq!(id["aud"], app.id.as_str());
    assert_eq!(id["iss"], server.issuer.as_str());
    assert_eq!(id["auth_time"], START, "when alice signed in on the phone");
    assert!(id.get("nonce").is_none());
    assert!(id["at_hash"].as_str().is_some());

    // A refresh keeps the same sign-in time.
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                tokens["refresh_token"].as_str().expect("rt")
            ),
        )
        .await;
    assert_eq!(r.status(), 200);
    let refreshed: Value = r.json().await.expect("json");
    assert_eq!(
        claims(refreshed["id_token"].as_str().expect("id"))["auth_time"],
        START
    );
}

#[tokio::test]
async fn consent_is_asked_every_time_even_when_skipped_or_remembered_elsewhere() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server
        .client_with(
            ClientType::Public,
            &[GrantType::DeviceCode],
            &[],
            &[],
            None,
            true,
        )
        .await;
    let mut phone = Browser::new(&server);
    phone.sign_in("alice", "pw").await;
    for round in 0..2 {
        let d = start(&server, &app, "read").await;
        let user_code = d["user_code"].as_str().expect("code");
        let r = enter(&mut phone, user_code).await;
        assert_eq!(r.status(), 200);
        let page = r.text().await.expect("page");
        assert!(
            page.contains("name=\"allow\"") && page.contains("name=\"deny\""),
            "round {round}: the question is asked, skip_authorization or not"
        );
        assert!(
            page.contains(user_code),
            "the code to compare with the device"
        );
        assert!(page.contains("Test app"));
        assert!(page.contains("Read your data"));
        let mut fields = hidden_fields(&page);
        fields.push(("allow".into(), "x".into()));
        let done = phone.post_form(paths::DEVICE, &fields).await;
        assert_eq!(done.status(), 200);
        assert_eq!(
            poll(&server, &app, d["device_code"].as_str().expect("code"))
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn revoking_the_grant_revokes_what_the_device_got() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = tv_app(&server).await;
    let d = start(&server, &app, "read").await;
    let mut phone = Browser::new(&server);
    phone.sign_in("alice", "pw").await;
    answer(&mut phone, d["user_code"].as_str().expect("code"), "allow").await;
    let tokens: Value = poll(&server, &app, d["device_code"].as_str().expect("code"))
        .await
        .json()
        .await
        .expect("json");
    let introspector = server.confidential().await;
    let at = tokens["access_token"].as_str().expect("at");
    assert!(server.is_active(&introspector, at).await);

    // Alice revokes the device on her "Authorized access" page.
    let page = phone
        .get(paths::AUTHORIZED_TOKENS)
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Test app"), "the device's grant is listed");
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a revoke form")
        .to_owned();
    let r = phone.post_form(&action, &hidden_fields(&page)[..1]).await;
    assert_eq!(r.status(), 303);
    assert!(!server.is_active(&introspector, at).await);
    assert!(
        !server
            .is_active(&introspector, tokens["refresh_token"].as_str().expect("rt"))
            .await
    );
}

#[tokio::test]
async fn wrong_user_codes_are_limited_per_session_and_per_address() {
    let server = TestServer::start_with(|mut s| {
        s.rate_limits = RateLimitSettings {
            window_seconds: 60,
            per_principal: 3,
            per_address: 4,
            per_principal_total: 50,
        };
        s
    })
    .await;
    server.user("alice", "pw").await;
    let app = tv_app(&server).await;
    let d = start(&server, &app, "read").await;
    let right = d["user_code"].as_str().expect("code").to_owned();
    let wrong = if right.starts_with('B') {
        "CCCC-CCCC"
    } else {
        "BBBB-BBBB"
    };

    let mut first = Browser::new(&server);
    first.sign_in("alice", "pw").await;
    for _ in 0..3 {
        let r = enter(&mut first, wrong).await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.expect("page").contains("not valid"));
    }
    let r = enter(&mut first, wrong).await;
    assert_eq!(
        r.status(),
        429,
        "the session's fourth attempt: held before any lookup"
    );
    assert!(r.headers().contains_key("retry-after"));
    let r = enter(&mut first, &right).await;
    assert_eq!(
        r.status(),
        429,
        "over the limit, the right code is refused like a wrong one, before any lookup"
    );

    // Another session from the same address: its own budget, but the address's is shared.
    let mut second = Browser::new(&server);
    second.sign_in("alice", "pw").await;
    assert_eq!(
        enter(&mut second, wrong).await.status(),
        400,
        "the address's fourth failure (the refused attempts above counted nothing)"
    );
    assert_eq!(
        enter(&mut second, wrong).await.status(),
        429,
        "the address is over its limit now"
    );
    assert_eq!(enter(&mut second, &right).await.status(), 429);

    // Once the window has passed, the right code leads to the question.
    server.advance(60);
    let r = enter(&mut second, &right).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("page").contains("name=\"allow\""));
}

#[tokio::test]
async fn the_device_authorization_endpoint_refuses_what_it_must() {
    let server = TestServer::start().await;
    let tv = tv_app(&server).await;
    let web = server.web_app(ClientType::Public).await;
    let confidential = server
        .client_with(
            ClientType::Confidential,
            &[GrantType::DeviceCode],
            &[],
            &[],
            None,
            false,
        )
        .await;
    let r = server
        .post_as(paths::DEVICE_AUTHORIZATION, &web, "scope=read")
        .await;
    assert_eq!(error_of(r).await, (400, "unauthorized_client".to_owned()));
    let r = server
        .post_as(paths::DEVICE_AUTHORIZATION, &tv, "scope=nuke")
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_scope".to_owned()));
    let r = server
        .post(
            paths::DEVICE_AUTHORIZATION,
            "client_id=nobody&scope=read",
            &[],
        )
        .await;
    assert_eq!(error_of(r).await, (401, "invalid_client".to_owned()));
    let wrong = TestClient {
        id: confidential.id.clone(),
        secret: Some("wrong".into()),
    };
    let r = server
        .post_as(paths::DEVICE_AUTHORIZATION, &wrong, "scope=read")
        .await;
    assert_eq!(error_of(r).await, (401, "invalid_client".to_owned()));
    let r = server
        .post(
            paths::DEVICE_AUTHORIZATION,
            "scope=read",
            &[("Authorization", &confidential.basic())],
        )
        .await;
    assert_eq!(r.status(), 200, "a confidential client with HTTP Basic");
    let d = start(&server, &tv, "").await;
    assert!(
        d["device_code"].as_str().is_some(),
        "no scope: the default scope"
    );
    let r = server
        .http
        .get(server.url(paths::DEVICE_AUTHORIZATION))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 405);

    // Polls that are not the device's.
    let code = d["device_code"].as_str().expect("code");
    assert_eq!(
        error_of(poll(&server, &confidential, code).await).await,
        (400, "invalid_grant".to_owned()),
        "another client's device code"
    );
    assert_eq!(
        error_of(poll(&server, &tv, "tsdc_made-up").await).await,
        (400, "invalid_grant".to_owned())
    );
    let r = server
        .post_as(
            paths::TOKEN,
            &tv,
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (400, "invalid_request".to_owned()),
        "no device_code"
    );
    let r = server
        .post_as(
            paths::TOKEN,
            &web,
            &format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={code}"),
        )
        .await;
    assert_eq!(error_of(r).await, (400, "unauthorized_client".to_owned()));
}

#[tokio::test]
async fn the_verification_page_needs_a_session_and_escapes_what_it_shows() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let mut phone = Browser::new(&server);
    let r = phone.get(&paths::device_with_code("WDJB-MJHT")).await;
    assert_eq!(r.status(), 302);
    let to = location(&r);
    assert!(to.starts_with(paths::LOGIN), "{to}");
    assert!(
        unescape(&to).contains("user_code%3DWDJB-MJHT"),
        "back to the code after signing in: {to}"
    );
    phone.sign_in("alice", "pw").await;
    let page = phone
        .get(&format!("{}?user_code=wdjbmjht", paths::DEVICE))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("value=\"WDJB-MJHT\""), "filled in, grouped");
    let page = phone
        .get(&format!("{}?user_code=%22%3E%3Cscript%3E", paths::DEVICE))
        .await
        .text()
        .await
        .expect("page");
    assert!(!page.contains("<script>"));
    assert!(page.contains("&quot;&gt;&lt;script&gt;"));
}
