//! Discovery: RFC 8414 authorization server metadata, OpenID Connect Discovery 1.0 and the
//! JWKS. Both documents list exactly what this server serves, say the same thing, and are each
//! served only at the URL their `issuer` implies (RFC 8414 section 3.3).

use axum::extract::State;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_core::authorize::ResponseType;
use tessera_core::registration::SIGNING_ALGORITHMS;
use tessera_core::token_request::DEVICE_CODE_GRANT_TYPE;

use crate::error::{ApiError, json_response};
use crate::paths;
use crate::state::{AppState, DynamicRegistration};

const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// The claims userinfo and ID tokens may carry.
const CLAIMS: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "preferred_username",
    "name",
    "email",
];

/// The document both discovery URLs serve.
fn document(state: &AppState) -> Value {
    let issuer = &state.settings.issuer;
    let scopes: Vec<&str> = state.settings.scopes.supported.iter().collect();
    let mut pkce_methods = vec!["S256"];
    if state.settings.pkce.allow_plain {
        pkce_methods.push("plain");
    }
    let response_types: Vec<&str> = ResponseType::ALL.iter().map(|r| r.as_str()).collect();
    let mut claims = CLAIMS.to_vec();
    claims.push("email_verified");
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": paths::endpoint(issuer, paths::AUTHORIZE),
        "token_endpoint": paths::endpoint(issuer, paths::TOKEN),
        "revocation_endpoint": paths::endpoint(issuer, paths::REVOKE),
        "introspection_endpoint": paths::endpoint(issuer, paths::INTROSPECT),
        "userinfo_endpoint": paths::endpoint(issuer, paths::USERINFO),
        "end_session_endpoint": paths::endpoint(issuer, paths::END_SESSION),
        "jwks_uri": paths::endpoint(issuer, paths::JWKS),
        "device_authorization_endpoint": paths::endpoint(issuer, paths::DEVICE_AUTHORIZATION),
        "grant_types_supported": ["authorization_code", "implicit", "password", "client_credentials", "refresh_token", DEVICE_CODE_GRANT_TYPE],
        "response_types_supported": response_types,
        "response_modes_supported": ["query", "fragment"],
        "code_challenge_methods_supported": pkce_methods,
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": SIGNING_ALGORITHMS,
        "claims_supported": claims,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    // Named only when clients may register (RFC 8414 section 2, RFC 7591 section 3).
    if state.settings.dynamic_registration != DynamicRegistration::Off {
        document["registration_endpoint"] = paths::endpoint(issuer, paths::REGISTER).into();
    }
    document
}

/// A public, cacheable JSON document: any origin may read it (browser clients discover too).
fn public_json(body: &Value, max_age: &'static str) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(b) => b,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let mut response = json_response(StatusCode::OK, bytes);
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(max_age));
    headers.remove(axum::http::header::PRAGMA);
    response
}

/// RFC 8414 and OpenID Connect Discovery: one document at both URLs.
pub async fn configuration(State(state): State<AppState>) -> Response {
    public_json(&document(&state), "public, max-age=3600")
}

/// The JWKS (RFC 7517): short caching, so a rotation is seen within a minute by relying
/// parties that cache, and at once by those that fetch on an unknown `kid`.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.keys.jwks(state.now()).await {
        Ok(body) => public_json(&body, "public, max-age=60"),
        Err(e) => ApiError::from(e).into_response(),
    }
}
