//! OpenID Connect end to end, with the `openidconnect` crate as the relying party: discovery,
//! JWKS, ID tokens for every signing algorithm, userinfo, refresh, the implicit and hybrid
//! flows, `prompt`/`max_age`/`login_hint`/`id_token_hint`, remembered consent, JWT access
//! tokens, RP-initiated logout, and key rotation across nodes (docs/behaviour.md, "OpenID
//! Connect").

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, AuthorizationCodeHash, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, RedirectUrl, RefreshToken, Scope,
    TokenResponse,
};
use serde_json::Value;
use tessera_core::client::{AccessTokenFormat, GrantType};
use tessera_jose::VerifyingKey;
use tessera_jose::jws;
use tessera_web::paths;

use crate::common::{
    Browser, POST_LOGOUT, REDIRECT, TestClient, TestServer, error_of, hidden_fields, location,
    params_of,
};

type Rp = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The relying party, configured by discovery alone.
async fn relying_party(server: &TestServer, app: &TestClient) -> Rp {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(server.issuer.clone()).expect("issuer"),
        &server.http,
    )
    .await
    .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.id.clone()),
        app.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"))
}

fn alg_of(name: &str) -> CoreJwsSigningAlgorithm {
    match name {
        "ES256" => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        "EdDSA" => CoreJwsSigningAlgorithm::EdDsa,
        _ => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    }
}

async fn json(r: reqwest::Response) -> Value {
    r.json().await.expect("json")
}

async fn get_json(server: &TestServer, path: &str) -> (u16, Value) {
    let r = server.http.get(server.url(path)).send().await.expect("get");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The header and claims of a compact JWS, unverified.
fn parts(token: &str) -> (Value, Value) {
    let t = jws::decode(token).expect("a JWS");
    let header = serde_json::json!({"alg": t.header.alg, "typ": t.header.typ, "kid": t.header.kid});
    (header, t.claims)
}

/// Verifies a token against the server's JWKS, as a resource server would offline.
async fn verifies_with_jwks(server: &TestServer, token: &str) -> bool {
    let (_, jwks) = get_json(server, paths::JWKS).await;
    let t = jws::decode(token).expect("a JWS");
    let kid = t.header.kid.clone().expect("kid");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["kid"] == kid.as_str())
        .any(|k| {
            VerifyingKey::from_jwk(k)
                .map(|key| t.verify(&key).is_ok())
                .unwrap_or(false)
        })
}

#[tokio::test]
async fn discovery_documents_are_served_only_where_their_issuer_says() {
    let server = TestServer::start().await;
    let (status, oidc) = get_json(&server, paths::OPENID_CONFIGURATION).await;
    assert_eq!(status, 200);
    let (status, oauth) = get_json(&server, paths::AUTHORIZATION_SERVER_METADATA).await;
    assert_eq!(status, 200);
    assert_eq!(oidc, oauth, "the two documents say the same thing");
    assert_eq!(oidc["issuer"], server.issuer.as_str());
    for (key, path) in [
        ("authorization_endpoint", paths::AUTHORIZE),
        ("token_endpoint", paths::TOKEN),
        ("userinfo_endpoint", paths::USERINFO),
        ("revocation_endpoint", paths::REVOKE),
        ("introspection_endpoint", paths::INTROSPECT),
        ("end_session_endpoint", paths::END_SESSION),
        ("jwks_uri", paths::JWKS),
    ] {
        assert_eq!(oidc[key], server.url(path).as_str(), "{key}");
    }
    let list = |k: &str| -> Vec<String> {
        oidc[k]
            .as_array()
            .unwrap_or_else(|| panic!("{k}"))
            .iter()
            .map(|v| v.as_str().expect("text").to_owned())
            .collect()
    };
    assert_eq!(list("subject_types_supported"), ["public"]);
    assert_eq!(
        list("id_token_signing_alg_values_supported"),
        ["RS256", "ES256", "EdDSA"]
    );
    for rt in [
        "code",
        "id_token",
        "id_token token",
        "code id_token",
        "code id_token token",
    ] {
        assert!(
            list("response_types_supported").contains(&rt.to_owned()),
            "{rt}"
        );
    }
    for claim in [
        "sub",
        "iss",
        "auth_time",
        "nonce",
        "email",
        "preferred_username",
    ] {
        assert!(
            list("claims_supported").contains(&claim.to_owned()),
            "{claim}"
        );
    }
    assert!(list("scopes_supported").contains(&"openid".to_owned()));
    assert_eq!(list("code_challenge_methods_supported"), ["S256"]);
    assert_eq!(oidc["authorization_response_iss_parameter_supported"], true);

    // RFC 8414 section 3.3: nowhere else, or a client would read another issuer's document.
    for wrong in [
        "/.well-known/oauth-authorization-server",
        "/o/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        assert_eq!(get_json(&server, wrong).await.0, 404, "{wrong}");
    }

    let r = server
        .http
        .get(server.url(paths::JWKS))
        .send()
        .await
        .expect("jwks");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let jwks = json(r).await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(
        !keys.is_empty(),
        "the first key exists before the first sign-in"
    );
    for k in keys {
        assert!(k["kid"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(k["use"], "sig");
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "public parts only"
        );
    }
}

/// A code-flow application; `logout_revokes_grants` as given.
async fn code_app(server: &TestServer, logout_revokes_grants: bool) -> TestClient {
    server
        .oidc_app(
            &[GrantType::AuthorizationCode],
            None,
            AccessTokenFormat::Opaque,
            logout_revokes_grants,
        )
        .await
}

/// A server with the user alice (password `pw`) and a code-flow application.
async fn alice_and_code_app() -> (TestServer, TestClient) {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = code_app(&server, false).await;
    (server, app)
}

/// Signs `username` in and approves; returns the redirect back.
async fn authorize(browser: &mut Browser, url: &str, username: &str) -> String {
    browser.authorize(url, username, "pw", "allow").await
}

#[tokio::test]
async fn code_flow_id_tokens_for_every_algorithm_with_userinfo_and_refresh() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    for alg in ["RS256", "ES256", "EdDSA"] {
        let app = server
            .oidc_app(
                &[GrantType::AuthorizationCode],
                Some(alg),
                AccessTokenFormat::Opaque,
                false,
            )
            .await;
        let rp = relying_party(&server, &app).await;
        let (url, state, nonce) = rp
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .url();
        let mut browser = Browser::new(&server);
        let back = authorize(&mut browser, url.as_str(), "alice").await;
        let params = params_of(&back);
        assert_eq!(params.get("state"), Some(state.secret()));
        let tokens = rp
            .exchange_code(AuthorizationCode::new(params["code"].clone()))
            .expect("token endpoint")
            .request_async(&server.http)
            .await
            .expect("code exchange");
        let id_token = tokens.id_token().expect("an ID token with openid");
        let verifier = rp.id_token_verifier().set_allowed_algs(vec![alg_of(alg)]);
        let claims = id_token.claims(&verifier, &nonce).expect("valid ID token");
        assert_eq!(claims.issuer().as_str(), server.issuer);
        assert_eq!(claims.audiences()[0].as_str(), app.id);
        let expected = claims.access_token_hash().expect("at_hash");
        let actual = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().expect("alg"),
            id_token.signing_key(&verifier).expect("key"),
        )
        .expect("hash");
        assert_eq!(&actual, expected, "{alg}: at_hash");
        let (header, raw) = parts(&id_token.to_string());
        assert_eq!(header["alg"], alg);
        assert_eq!(raw["azp"], app.id.as_str());
        assert_eq!(raw["auth_time"], crate::common::START, "the sign-in time");
        assert!(
            raw.get("email").is_none(),
            "claims come from userinfo in this flow"
        );

        let info: CoreUserInfoClaims = rp
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .expect("userinfo endpoint")
            .request_async(&server.http)
            .await
            .expect("userinfo");
        assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
        assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

        // A refresh of an openid grant returns a fresh ID token (DOT answers 500 here).
        server.advance(60);
        let refreshed = rp
            .exchange_refresh_token(&RefreshToken::new(
                tokens
                    .refresh_token()
                    .expect("refresh token")
                    .secret()
                    .clone(),
            ))
            .expect("token endpoint")
            .request_async(&server.http)
            .await
            .expect("refresh");
        let again = refreshed.id_token().expect("a fresh ID token");
        let claims2 = again
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .expect("valid refreshed ID token");
        assert_eq!(claims2.subject(), claims.subject());
        assert_eq!(claims2.auth_time(), claims.auth_time(), "same sign-in");
        assert!(claims2.issue_time() > claims.issue_time());
        server.advance(-60);
    }
}

#[tokio::test]
async fn implicit_and_hybrid_flows_for_applications_registered_for_them() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let implicit = server
        .oidc_app(
            &[GrantType::Implicit],
            Some("ES256"),
            AccessTokenFormat::Opaque,
            false,
        )
        .await;
    let rp = relying_party(&server, &implicit).await;
    let (url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::Implicit(true),
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .url();
    let mut browser = Browser::new(&server);
    let back = authorize(&mut browser, url.as_str(), "alice").await;
    assert!(
        back.starts_with(&format!("{REDIRECT}#")),
        "fragment: {back}"
    );
    let params = params_of(&back);
    let id_token: openidconnect::core::CoreIdToken =
        params["id_token"].parse().expect("an ID token");
    let verifier = rp
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("valid, nonce echoed");
    let at = AccessToken::new(params["access_token"].clone());
    let actual = AccessTokenHash::from_token(
        &at,
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(Some(&actual), claims.access_token_hash(), "at_hash");
    assert!(server.is_active(&implicit, at.secret()).await);

    // `id_token` alone: no access token to call userinfo with, so the claims come inside.
    let url = format!(
        "{}?response_type=id_token&client_id={}&scope=openid+email&nonce=n1&redirect_uri={}",
        paths::AUTHORIZE,
        implicit.id,
        tessera_core::form::encode(REDIRECT)
    );
    let back = browser.get(&url).await;
    let params = params_of(&location(&back));
    let (_, raw) = parts(&params["id_token"]);
    assert_eq!(raw["nonce"], "n1");
    assert_eq!(raw["email"], "alice@example.com");
    assert!(!params.contains_key("access_token"));

    // Without a nonce, the implicit and hybrid flows are refused (in the fragment).
    let url = format!(
        "{}?response_type=id_token&client_id={}&scope=openid&redirect_uri={}&state=s",
        paths::AUTHORIZE,
        implicit.id,
        tessera_core::form::encode(REDIRECT)
    );
    let back = location(&browser.get(&url).await);
    assert!(
        back.starts_with(&format!("{REDIRECT}#error=invalid_request")),
        "{back}"
    );

    // Hybrid: a code and an ID token that carries the code's hash.
    let hybrid = server
        .oidc_app(
            &[GrantType::OpenidHybrid],
            None,
            AccessTokenFormat::Opaque,
            false,
        )
        .await;
    let rp = relying_party(&server, &hybrid).await;
    let (url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::Hybrid(vec![CoreResponseType::Code, CoreResponseType::IdToken]),
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let back = authorize(&mut browser, url.as_str(), "alice").await;
    let params = params_of(&back);
    let id_token: openidconnect::core::CoreIdToken =
        params["id_token"].parse().expect("an ID token");
    let verifier = rp.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("valid");
    let code = AuthorizationCode::new(params["code"].clone());
    let c_hash = AuthorizationCodeHash::from_code(
        &code,
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(Some(&c_hash), claims.code_hash(), "c_hash");
    let tokens = rp
        .exchange_code(code)
        .expect("token endpoint")
        .request_async(&server.http)
        .await
        .expect("the hybrid code is redeemed at the token endpoint");
    let later = tokens.id_token().expect("ID token");
    let later_claims = later.claims(&verifier, &nonce).expect("same nonce");
    assert_eq!(later_claims.subject(), claims.subject());

    // A code-flow application may not ask for tokens at the authorization endpoint.
    let code_only = code_app(&server, false).await;
    let url = format!(
        "{}?response_type=code+id_token&client_id={}&scope=openid&nonce=n&redirect_uri={}",
        paths::AUTHORIZE,
        code_only.id,
        tessera_core::form::encode(REDIRECT)
    );
    let back = location(&browser.get(&url).await);
    assert!(back.contains("error=unauthorized_client"), "{back}");
}

fn authorize_url(app: &TestClient, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id={}&scope=openid&redirect_uri={}&state=s{extra}",
        paths::AUTHORIZE,
        app.id,
        tessera_core::form::encode(REDIRECT)
    )
}

/// Exchanges the code of a redirect for tokens.
async fn exchange(server: &TestServer, app: &TestClient, back: &str) -> Value {
    let code = params_of(back)["code"].clone();
    let r = server
        .post(
            paths::TOKEN,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                tessera_core::form::encode(REDIRECT)
            ),
            &[("Authorization", &app.basic())],
        )
        .await;
    assert_eq!(r.status(), 200);
    json(r).await
}

#[tokio::test]
async fn prompt_max_age_login_hint_and_id_token_hint() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    server.user("bob", "pw").await;
    let app = code_app(&server, false).await;
    let mut browser = Browser::new(&server);

    // prompt=none without a session: login_required, back at the client.
    let back = location(&browser.get(&authorize_url(&app, "&prompt=none")).await);
    assert!(
        back.contains("error=login_required") && back.contains("state=s"),
        "{back}"
    );

    // login_hint fills the username in.
    let r = browser.get(&authorize_url(&app, "&login_hint=alice")).await;
    let login = location(&r);
    assert!(login.starts_with(paths::LOGIN), "{login}");
    let page = browser.get(&login).await.text().await.expect("page");
    assert!(
        page.contains(r#"name="username" value="alice""#),
        "prefilled"
    );

    let back = authorize(&mut browser, &authorize_url(&app, ""), "alice").await;
    let tokens = exchange(&server, &app, &back).await;
    let hint = tokens["id_token"].as_str().expect("id_token").to_owned();

    // Signed in and approved: prompt=none answers at once, with the right hint too.
    let r = browser
        .get(&authorize_url(
            &app,
            &format!("&prompt=none&id_token_hint={hint}"),
        ))
        .await;
    assert!(params_of(&location(&r)).contains_key("code"));

    // A hint naming someone else: that user is not signed in here.
    let bob_browser_back = {
        let mut b = Browser::new(&server);
        let back = authorize(&mut b, &authorize_url(&app, ""), "bob").await;
        exchange(&server, &app, &back).await
    };
    let bobs_hint = bob_browser_back["id_token"].as_str().expect("id_token");
    let r = browser
        .get(&authorize_url(
            &app,
            &format!("&prompt=none&id_token_hint={bobs_hint}"),
        ))
        .await;
    assert!(location(&r).contains("error=login_required"));

    // max_age: a sign-in older than it asks again; prompt=none then says login_required.
    server.advance(120);
    let r = browser.get(&authorize_url(&app, "&max_age=60")).await;
    assert!(location(&r).starts_with(paths::LOGIN), "too old a sign-in");
    let r = browser.get(&authorize_url(&app, "&max_age=600")).await;
    assert!(
        params_of(&location(&r)).contains_key("code"),
        "recent enough"
    );
    let r = browser
        .get(&authorize_url(&app, "&max_age=60&prompt=none"))
        .await;
    assert!(location(&r).contains("error=login_required"));
    // prompt=login asks even with a fresh session, and the new ID token says so.
    let back = authorize(&mut browser, &authorize_url(&app, "&prompt=login"), "alice").await;
    let (_, claims) = parts(
        exchange(&server, &app, &back).await["id_token"]
            .as_str()
            .expect("t"),
    );
    assert_eq!(claims["auth_time"], crate::common::START + 120);
}

#[tokio::test]
async fn consent_is_remembered_per_application_until_revoked() {
    let (server, app) = alice_and_code_app().await;
    let mut browser = Browser::new(&server);
    let with_email = authorize_url(&app, "").replace("scope=openid", "scope=openid+email");
    authorize(&mut browser, &with_email, "alice").await;

    // The same or fewer scopes: no page.
    let r = browser.get(&authorize_url(&app, "")).await;
    assert_eq!(r.status(), 302, "remembered");
    assert!(params_of(&location(&r)).contains_key("code"));
    // prompt=consent always asks; a wider scope asks again.
    let r = browser.get(&authorize_url(&app, "&prompt=consent")).await;
    assert_eq!(r.status(), 200, "prompt=consent shows the page");
    let wider = authorize_url(&app, "").replace("scope=openid", "scope=openid+profile");
    let r = browser.get(&wider).await;
    assert_eq!(r.status(), 200, "a new scope asks again");
    let page = r.text().await.expect("page");
    let mut fields = hidden_fields(&page);
    fields.push(("allow".into(), "x".into()));
    let r = browser.post_form(paths::AUTHORIZE, &fields).await;
    assert_eq!(r.status(), 302);
    let r = browser.get(&wider).await;
    assert_eq!(r.status(), 302, "the wider approval is remembered too");

    // The user's page lists it; revoking it there forgets it.
    let page = browser
        .get(paths::AUTHORIZED_TOKENS)
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Remembered approvals") && page.contains("OIDC app"));
    let client = server
        .store
        .client_by_client_id(&app.id)
        .await
        .expect("store")
        .expect("client");
    let mut fields = hidden_fields(&page);
    fields.retain(|(k, _)| k == "csrf_token");
    fields.truncate(1);
    let r = browser
        .post_form(&paths::consent_delete(client.id), &fields)
        .await;
    assert_eq!(r.status(), 303);
    let r = browser.get(&authorize_url(&app, "")).await;
    assert_eq!(r.status(), 200, "forgotten: the page again");
}

#[tokio::test]
async fn id_tokens_are_never_access_tokens_and_revocation_reaches_jwt_access_tokens() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    let app = server
        .oidc_app(
            &[GrantType::AuthorizationCode, GrantType::Password],
            Some("EdDSA"),
            AccessTokenFormat::Jwt,
            false,
        )
        .await;
    let r = server
        .post_as(
            paths::TOKEN,
            &app,
            "grant_type=password&username=alice&password=pw&scope=openid+email",
        )
        .await;
    assert_eq!(r.status(), 200);
    let tokens = json(r).await;
    let at = tokens["access_token"].as_str().expect("at").to_owned();
    let id_token = tokens["id_token"].as_str().expect("id token").to_owned();
    assert_eq!(
        tokens["expires_in"], 300,
        "JWT access tokens live short by default"
    );

    // RFC 9068: typ at+jwt, the issuer's key, the claims a resource server checks.
    let (header, claims) = parts(&at);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(claims["iss"], server.issuer.as_str());
    assert_eq!(claims["client_id"], app.id.as_str());
    assert_eq!(claims["scope"], "email openid");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 32));
    assert_eq!(
        claims["exp"].as_i64(),
        claims["iat"].as_i64().map(|i| i + 300)
    );
    assert!(verifies_with_jwks(&server, &at).await, "valid offline");
    assert!(verifies_with_jwks(&server, &id_token).await);

    let userinfo = |token: String| {
        let req = server
            .http
            .get(server.url(paths::USERINFO))
            .header("Authorization", format!("Bearer {token}"));
        async move { req.send().await.expect("userinfo").status().as_u16() }
    };
    assert_eq!(userinfo(at.clone()).await, 200);
    assert!(server.is_active(&app, &at).await);
    let introspected = server.introspect(&app, &at).await;
    assert_eq!(introspected["client_id"], app.id.as_str());

    // An ID token is never an access token: not before revocation, not after.
    assert_eq!(userinfo(id_token.clone()).await, 401);
    assert!(!server.is_active(&app, &id_token).await);
    // A forged JWT (valid shape, our kid, wrong signature) is unknown.
    let mut forged = at.clone();
    forged.pop();
    forged.push(if at.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(userinfo(forged.clone()).await, 401);

    let r = server
        .post_as(paths::REVOKE, &app, &format!("token={at}"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(userinfo(at.clone()).await, 401, "revoked at once");
    assert!(!server.is_active(&app, &at).await);
    assert_eq!(userinfo(id_token).await, 401);

    // The store keeps the digest of the jti, never the JWT.
    let stored = crate::common::everything_stored(&server.database_url).await;
    assert!(!stored.contains(&at));
    assert!(!stored.contains(claims["jti"].as_str().expect("jti")));
}

/// Signs alice in through `app` and returns (browser, tokens).
async fn signed_in(server: &TestServer, app: &TestClient) -> (Browser, Value) {
    let mut browser = Browser::new(server);
    let back = authorize(&mut browser, &authorize_url(app, ""), "alice").await;
    let tokens = exchange(server, app, &back).await;
    (browser, tokens)
}

fn logout_url(query: &str) -> String {
    format!("{}?{query}", paths::END_SESSION)
}

#[tokio::test]
async fn rp_initiated_logout() {
    let (server, app) = alice_and_code_app().await;
    let back_to = tessera_core::form::encode(POST_LOGOUT);

    // With a valid hint for the signed-in user: signed out at once, back with state.
    let (mut browser, tokens) = signed_in(&server, &app).await;
    let hint = tokens["id_token"].as_str().expect("id_token").to_owned();
    let r = browser
        .get(&logout_url(&format!(
            "id_token_hint={hint}&post_logout_redirect_uri={back_to}&state=bye"
        )))
        .await;
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), format!("{POST_LOGOUT}?state=bye"));
    let r = browser.get(&authorize_url(&app, "")).await;
    assert!(location(&r).starts_with(paths::LOGIN), "the session ended");
    assert!(
        server
            .is_active(&app, tokens["access_token"].as_str().expect("at"))
            .await,
        "this application did not ask for its grants to go"
    );

    // Only registered post-logout URIs, exactly; nothing is redirected otherwise.
    let (mut browser, tokens) = signed_in(&server, &app).await;
    let hint = tokens["id_token"].as_str().expect("id_token").to_owned();
    for uri in ["https://evil.example/", "https://app.example/signed-out/x"] {
        let r = browser
            .get(&logout_url(&format!(
                "id_token_hint={hint}&post_logout_redirect_uri={}",
                tessera_core::form::encode(uri)
            )))
            .await;
        assert_eq!(r.status(), 400, "{uri}");
        assert!(r.headers().get("location").is_none());
    }
    let r = browser
        .get(&logout_url(&format!("post_logout_redirect_uri={back_to}")))
        .await;
    assert_eq!(
        r.status(),
        400,
        "no client named: the URI cannot be checked"
    );

    // Without a hint: the user confirms first.
    let r = browser
        .get(&logout_url(&format!(
            "client_id={}&post_logout_redirect_uri={back_to}&state=s2",
            app.id
        )))
        .await;
    assert_eq!(r.status(), 200, "a confirmation page");
    let page = r.text().await.expect("page");
    assert!(page.contains("OIDC app"), "names the application");
    let r = browser.get(&authorize_url(&app, "")).await;
    assert_eq!(r.status(), 302, "still signed in until confirmed");
    let r = browser
        .post_form(paths::END_SESSION, &hidden_fields(&page))
        .await;
    assert_eq!(location(&r), format!("{POST_LOGOUT}?state=s2"));
    let r = browser.get(&authorize_url(&app, "")).await;
    assert!(location(&r).starts_with(paths::LOGIN));

    // The confirmation cannot be forged from another site (no CSRF cookie).
    let mut other = Browser::new(&server);
    let mut forged = hidden_fields(&page);
    forged.retain(|(k, _)| k != "csrf_token");
    let r = other.post_form(paths::END_SESSION, &forged).await;
    assert_eq!(r.status(), 403);

    // An application that asks for it loses the user's grants at logout.
    let strict = code_app(&server, true).await;
    let (mut browser, tokens) = signed_in(&server, &strict).await;
    let at = tokens["access_token"].as_str().expect("at").to_owned();
    assert!(server.is_active(&strict, &at).await);
    let hint = tokens["id_token"].as_str().expect("id_token");
    let r = browser
        .get(&logout_url(&format!(
            "id_token_hint={hint}&post_logout_redirect_uri={back_to}"
        )))
        .await;
    assert_eq!(location(&r), POST_LOGOUT);
    assert!(!server.is_active(&strict, &at).await, "revoked at logout");

    // Nobody signed in: nothing to confirm, straight back.
    let r = browser
        .get(&logout_url(&format!(
            "client_id={}&post_logout_redirect_uri={back_to}&state=s3",
            strict.id
        )))
        .await;
    assert_eq!(location(&r), format!("{POST_LOGOUT}?state=s3"));
    // A client_id that is not the hint's audience is refused (section 2).
    let r = browser
        .get(&logout_url(&format!(
            "id_token_hint={hint}&client_id={}&post_logout_redirect_uri={back_to}",
            app.id
        )))
        .await;
    assert_eq!(r.status(), 400);
}

/// An ID token from the password grant (the user signs in at this instant).
async fn password_id_token(server: &TestServer, app: &TestClient) -> String {
    let r = server
        .post_as(
            paths::TOKEN,
            app,
            "grant_type=password&username=alice&password=pw&scope=openid",
        )
        .await;
    assert_eq!(r.status(), 200);
    json(r).await["id_token"]
        .as_str()
        .expect("id_token")
        .to_owned()
}

#[tokio::test]
async fn key_rotation_across_two_nodes() {
    let a = TestServer::start().await;
    let b = a.second_node().await;
    // The CLI reads the system clock: the nodes share it here.
    let now = tessera_core::clock::Clock::now(&tessera_core::clock::SystemClock);
    a.clock.set(now);
    b.clock.set(now);
    a.user("alice", "pw").await;
    let app = a
        .oidc_app(
            &[GrantType::Password],
            None,
            AccessTokenFormat::Opaque,
            false,
        )
        .await;
    let before = password_id_token(&a, &app).await;
    let old_kid = parts(&before).0["kid"].as_str().expect("kid").to_owned();
    assert_eq!(
        parts(&password_id_token(&b, &app).await).0["kid"],
        old_kid.as_str(),
        "one key for both"
    );

    let (code, out, err) =
        crate::common::run(&["keys", "rotate", "--database-url", &a.database_url], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("RS256 now signs with"), "{out}");
    // Each node reads the keys again within a few seconds.
    a.advance(tessera_web::keyring::REFRESH_SECONDS + 1);
    b.advance(tessera_web::keyring::REFRESH_SECONDS + 1);
    for node in [&a, &b] {
        let after = password_id_token(node, &app).await;
        let kid = parts(&after).0["kid"].as_str().expect("kid").to_owned();
        assert_ne!(kid, old_kid, "new tokens carry the new kid");
        assert!(verifies_with_jwks(node, &after).await);
        assert!(
            verifies_with_jwks(node, &before).await,
            "a token signed before rotation still verifies through either node's JWKS"
        );
    }
    let (code, out, _) = crate::common::run(
        &["keys", "list", "--json", "--database-url", &a.database_url],
        None,
    );
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(out.trim()).expect("json");
    let statuses: Vec<(String, String)> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter(|k| k["algorithm"] == "RS256")
        .map(|k| {
            (
                k["kid"].as_str().expect("kid").to_owned(),
                k["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(old_kid.clone(), "published".into())),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|(_, s)| s == "signing").count(),
        1,
        "one RS256 key signs"
    );

    let (code, _, err) = crate::common::run(
        &[
            "keys",
            "retire",
            &old_kid,
            "--database-url",
            &a.database_url,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    for node in [&a, &b] {
        let (_, jwks) = get_json(node, paths::JWKS).await;
        assert!(
            !jwks["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .any(|k| k["kid"] == old_kid.as_str()),
            "a retired key disappears"
        );
        assert!(!verifies_with_jwks(node, &before).await);
    }
    // The signing key cannot be retired before it is rotated out.
    let signing = statuses
        .iter()
        .find(|(_, s)| s == "signing")
        .map(|(k, _)| k.clone())
        .expect("signing key");
    let (code, _, err) = crate::common::run(
        &[
            "keys",
            "retire",
            &signing,
            "--database-url",
            &a.database_url,
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("rotate"), "{err}");
}

#[tokio::test]
async fn errors_of_the_oidc_endpoints_are_the_rfcs() {
    let server = TestServer::start().await;
    let app = code_app(&server, false).await;
    let mut browser = Browser::new(&server);
    for (extra, error) in [
        ("&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "&request_uri=https%3A%2F%2Fapp.example%2Fr",
            "request_uri_not_supported",
        ),
        ("&max_age=soon", "invalid_request"),
        ("&response_mode=form_post", "invalid_request"),
    ] {
        let r = browser.get(&authorize_url(&app, extra)).await;
        let back = location(&r);
        assert!(back.contains(&format!("error={error}")), "{extra}: {back}");
    }
    // response_mode=fragment moves the code into the fragment.
    let r = browser
        .get(&authorize_url(&app, "&response_mode=fragment&prompt=none"))
        .await;
    let back = location(&r);
    assert!(
        back.starts_with(&format!("{REDIRECT}#error=login_required")),
        "{back}"
    );
    // A JWKS is read-only.
    let r = server
        .http
        .post(server.url(paths::JWKS))
        .send()
        .await
        .expect("post");
    assert_eq!(error_of(r).await.0, 405);
}
