//! RFC 8414 authorization server metadata, listing only what this server serves.

use axum::extract::State;
use axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::error::json;
use crate::paths;
use crate::state::AppState;

const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

pub async fn authorization_server(State(state): State<AppState>) -> Response {
    let issuer = &state.settings.issuer;
    let scopes: Vec<&str> = state.settings.scopes.supported.iter().collect();
    let mut pkce_methods = vec!["S256"];
    if state.settings.pkce.allow_plain {
        pkce_methods.push("plain");
    }
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": paths::endpoint(issuer, paths::AUTHORIZE),
        "token_endpoint": paths::endpoint(issuer, paths::TOKEN),
        "revocation_endpoint": paths::endpoint(issuer, paths::REVOKE),
        "introspection_endpoint": paths::endpoint(issuer, paths::INTROSPECT),
        "userinfo_endpoint": paths::endpoint(issuer, paths::USERINFO),
        "grant_types_supported": ["authorization_code", "implicit", "password", "client_credentials", "refresh_token"],
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment"],
        "code_challenge_methods_supported": pkce_methods,
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    let mut response = json(StatusCode::OK, &body);
    response
        .headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}
