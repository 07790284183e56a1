//! Every path the server answers, defined once: the router, the metadata document, redirects,
//! page links and the tests all take them from here, so a path cannot drift between them.
//!
//! Each path is written with its trailing slash; the router also answers it without
//! (docs/behaviour.md, "Requests"). A path with a parameter has a `*_ROUTE` pattern for the
//! router and a function that fills it in, so the URL a page links to is the one routed.

use std::fmt::Display;

// The API: JSON answers for clients.
pub const TOKEN: &str = "/o/token/";
pub const REVOKE: &str = "/o/revoke_token/";
pub const INTROSPECT: &str = "/o/introspect/";
pub const USERINFO: &str = "/o/userinfo/";
/// RFC 8628 section 3.1: where a device asks for a device code and a user code.
pub const DEVICE_AUTHORIZATION: &str = "/o/device-authorization/";
/// RFC 7591: dynamic client registration (routed only when it is on).
pub const REGISTER: &str = "/o/register/";
/// RFC 7592: a dynamically registered client's configuration endpoint.
pub const REGISTER_CLIENT_ROUTE: &str = "/o/register/{id}/";
/// The JWKS: the public signing keys (a file, so without a trailing slash, routed as written).
pub const JWKS: &str = "/o/.well-known/jwks.json";

// Pages: HTML for people.
pub const AUTHORIZE: &str = "/o/authorize/";
/// RFC 8628 section 3.3: where a user enters a device's user code (the `verification_uri`).
pub const DEVICE: &str = "/o/device/";
pub const LOGIN: &str = "/accounts/login/";
pub const LOGOUT: &str = "/accounts/logout/";
pub const APPLICATIONS: &str = "/o/applications/";
pub const APPLICATION_REGISTER: &str = "/o/applications/register/";
pub const APPLICATION_DETAIL_ROUTE: &str = "/o/applications/{id}/";
pub const APPLICATION_UPDATE_ROUTE: &str = "/o/applications/{id}/update/";
pub const APPLICATION_DELETE_ROUTE: &str = "/o/applications/{id}/delete/";
pub const AUTHORIZED_TOKENS: &str = "/o/authorized_tokens/";
pub const AUTHORIZED_TOKEN_DELETE_ROUTE: &str = "/o/authorized_tokens/{id}/delete/";
/// Forgetting the remembered approval of the application whose store key is `{id}`.
pub const CONSENT_DELETE_ROUTE: &str = "/o/authorized_tokens/consents/{id}/delete/";
/// OpenID Connect RP-initiated logout (the `end_session_endpoint`).
pub const END_SESSION: &str = "/o/logout/";
/// A file, so it is the one path without a trailing slash, and it is routed only as written.
pub const STYLESHEET: &str = "/static/tessera.css";

// Discovery and health.
/// RFC 8414 section 3: the metadata of the default issuer, whose path is `/o`.
pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server/o";
/// OpenID Connect Discovery section 4: the configuration of the default issuer.
pub const OPENID_CONFIGURATION: &str = "/o/.well-known/openid-configuration";
pub const HEALTH: &str = "/health";
pub const READY: &str = "/ready";

// The admin API (its own listener, `admin_bind`): JSON resources, no trailing slashes.
/// The OpenAPI document of the admin API.
pub const ADMIN_OPENAPI: &str = "/admin/openapi.json";
pub const ADMIN_CLIENTS: &str = "/admin/clients";
pub const ADMIN_CLIENT: &str = "/admin/clients/{client_id}";
pub const ADMIN_CLIENT_GRANTS: &str = "/admin/clients/{client_id}/grants";
pub const ADMIN_USERS: &str = "/admin/users";
pub const ADMIN_USER: &str = "/admin/users/{username}";
pub const ADMIN_USER_PASSWORD: &str = "/admin/users/{username}/password";
pub const ADMIN_USER_GRANTS: &str = "/admin/users/{username}/grants";
pub const ADMIN_GRANT: &str = "/admin/grants/{grant_id}";
pub const ADMIN_KEYS: &str = "/admin/keys";
pub const ADMIN_KEYS_ROTATE: &str = "/admin/keys/rotate";
pub const ADMIN_KEY: &str = "/admin/keys/{kid}";

/// Prometheus metrics: on the main listener, or on `metrics_bind`'s.
pub const METRICS: &str = "/metrics";

/// An admin API path with its `{name}` parameter filled in (percent-encoded).
pub fn admin(route: &str, name: &str, value: impl Display) -> String {
    route.replace(
        &format!("{{{name}}}"),
        &tessera_core::form::encode(&value.to_string()),
    )
}

/// Fills the `{id}` of a `*_ROUTE` pattern, so a link cannot disagree with the router.
fn fill(route: &str, id: impl Display) -> String {
    route.replace("{id}", &id.to_string())
}

pub fn application_detail(id: impl Display) -> String {
    fill(APPLICATION_DETAIL_ROUTE, id)
}

pub fn application_update(id: impl Display) -> String {
    fill(APPLICATION_UPDATE_ROUTE, id)
}

pub fn application_delete(id: impl Display) -> String {
    fill(APPLICATION_DELETE_ROUTE, id)
}

pub fn authorized_token_delete(id: impl Display) -> String {
    fill(AUTHORIZED_TOKEN_DELETE_ROUTE, id)
}

pub fn consent_delete(client_id: impl Display) -> String {
    fill(CONSENT_DELETE_ROUTE, client_id)
}

/// A registered client's configuration endpoint path (`registration_client_uri`).
pub fn register_client(client_id: impl Display) -> String {
    fill(REGISTER_CLIENT_ROUTE, client_id)
}

/// The verification page with a user code filled in (`verification_uri_complete`).
pub fn device_with_code(user_code: &str) -> String {
    format!(
        "{DEVICE}?user_code={}",
        tessera_core::form::encode(user_code)
    )
}

/// The path of an issuer URL (`/o` for `https://id.example/o/`), empty when it has none.
fn issuer_path(issuer: &str) -> &str {
    let issuer = issuer.trim_end_matches('/');
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

/// Where RFC 8414 section 3.1 puts an issuer's metadata: the well-known prefix, then the
/// issuer's path. Served there only, so a client never reads another issuer's document.
pub fn authorization_server_metadata(issuer: &str) -> String {
    format!(
        "/.well-known/oauth-authorization-server{}",
        issuer_path(issuer)
    )
}

/// Where OpenID Connect Discovery section 4.1 puts it: the issuer, then the well-known path.
pub fn openid_configuration(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer_path(issuer))
}

/// `path` as also routed: without its trailing slash.
pub fn without_trailing_slash(path: &str) -> &str {
    path.trim_end_matches('/')
}

/// The sign-in page, returning to the local path `next` afterwards.
pub fn login_then(next: &str) -> String {
    format!("{LOGIN}?next={}", tessera_core::form::encode(next))
}

/// The sign-in page with its username field filled in (OIDC `login_hint`).
pub fn login_then_as(next: &str, username: Option<&str>) -> String {
    match username {
        Some(u) if !u.is_empty() => format!(
            "{}&username={}",
            login_then(next),
            tessera_core::form::encode(u)
        ),
        _ => login_then(next),
    }
}

/// The authorization endpoint with an already encoded `query`.
pub fn authorize_with(query: &str) -> String {
    format!("{AUTHORIZE}?{query}")
}

/// The base URL the endpoints hang from: the issuer without its `/o` path.
pub fn base_of_issuer(issuer: &str) -> &str {
    let issuer = issuer.trim_end_matches('/');
    issuer.strip_suffix("/o").unwrap_or(issuer)
}

/// The absolute URL of `path` for this issuer.
pub fn endpoint(issuer: &str, path: &str) -> String {
    format!("{}{}", base_of_issuer(issuer), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_issuer() {
        assert_eq!(
            endpoint("http://127.0.0.1:8000/o", TOKEN),
            "http://127.0.0.1:8000/o/token/"
        );
        assert_eq!(
            endpoint("https://auth.example.com/o/", REVOKE),
            "https://auth.example.com/o/revoke_token/"
        );
        assert_eq!(
            endpoint("https://auth.example.com", INTROSPECT),
            "https://auth.example.com/o/introspect/"
        );
    }

    #[test]
    fn discovery_documents_live_where_their_issuer_says() {
        for issuer in ["http://127.0.0.1:8000/o", "https://id.example/o/"] {
            assert_eq!(
                authorization_server_metadata(issuer),
                AUTHORIZATION_SERVER_METADATA
            );
            assert_eq!(openid_configuration(issuer), OPENID_CONFIGURATION);
        }
        assert_eq!(
            authorization_server_metadata("https://id.example"),
            "/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            openid_configuration("https://id.example/"),
            "/.well-known/openid-configuration"
        );
        assert_eq!(
            openid_configuration("https://id.example/tenant/a"),
            "/tenant/a/.well-known/openid-configuration"
        );
    }

    #[test]
    fn links_fill_the_routes() {
        assert_eq!(application_detail(7), "/o/applications/7/");
        assert_eq!(application_update(7), "/o/applications/7/update/");
        assert_eq!(application_delete("x"), "/o/applications/x/delete/");
        assert_eq!(authorized_token_delete(3), "/o/authorized_tokens/3/delete/");
        assert_eq!(register_client("abc"), "/o/register/abc/");
        assert_eq!(
            device_with_code("WDJB-MJHT"),
            "/o/device/?user_code=WDJB-MJHT"
        );
        assert_eq!(
            login_then("/o/applications/1/"),
            "/accounts/login/?next=%2Fo%2Fapplications%2F1%2F"
        );
    }
}
