//! Endpoint handlers, one module per endpoint.

pub mod account;
pub mod applications;
pub mod authorize;
pub mod authorized_tokens;
pub mod device;
pub mod end_session;
pub mod health;
pub mod introspect;
pub mod metadata;
pub mod registration;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::handler::Handler;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};

use crate::error::ApiError;
use crate::state::AppState;

/// A POST-only endpoint: other methods get 405 with `Allow: POST`.
pub fn post_only<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler).fallback(|| async { ApiError::method_not_allowed("POST") })
}

/// A GET-only endpoint (HEAD included): other methods get 405.
pub fn get_only<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    get(handler).fallback(|| async { ApiError::method_not_allowed("GET, HEAD") })
}

/// A page or endpoint that answers GET (and HEAD) and POST: other methods get 405.
pub fn get_post<G, TG, P, TP>(get_handler: G, post_handler: P) -> MethodRouter<AppState>
where
    G: Handler<TG, AppState>,
    P: Handler<TP, AppState>,
    TG: 'static,
    TP: 'static,
{
    get(get_handler)
        .post(post_handler)
        .fallback(|| async { ApiError::method_not_allowed("GET, HEAD, POST") })
}

pub async fn not_found() -> ApiError {
    ApiError::invalid_request("There is no such endpoint.").with_status(StatusCode::NOT_FOUND)
}
