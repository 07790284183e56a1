//! CORS for browser clients (docs/behaviour.md, "CORS"): the token and revocation endpoints
//! answer preflights for origins a registered public client lists in `allowed_origins`, and
//! add `Access-Control-Allow-Origin` to answers for a public client that lists the request's
//! Origin. Confidential clients keep their secret on a server, so a browser never calls for
//! them and they get no CORS (SPEC.md, "Browsers").
//! Every answer says `Vary: Origin`, since it depends on it.

use std::future::Future;

use axum::extract::State;
use axum::handler::Handler;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};

use crate::error::ApiError;
use crate::extract::OAuthPost;
use crate::state::AppState;

const ALLOWED_METHODS: &str = "POST, OPTIONS";

/// A POST endpoint that also answers CORS preflights, and 405 to other methods.
pub fn post_endpoint<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler)
        .options(preflight)
        .fallback(|| async { ApiError::method_not_allowed(ALLOWED_METHODS) })
}

fn allow_origin(response: &mut Response, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        response
            .headers_mut()
            .insert(ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
}

async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
    h.insert(VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return response;
    };
    match state.store.origin_allowed(origin).await {
        Ok(true) => {
            allow_origin(&mut response, origin);
            let h = response.headers_mut();
            h.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST"),
            );
            h.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Authorization, Content-Type"),
            );
            h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            response
        }
        Ok(false) => response,
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Runs an endpoint and adds the CORS headers its answer needs.
pub async fn decorate<F>(state: &AppState, post: &OAuthPost, run: F) -> Response
where
    F: Future<Output = Result<Response, ApiError>>,
{
    let mut response = run.await.unwrap_or_else(IntoResponse::into_response);
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Origin"));
    if let (Some(origin), Some(client_id)) = (&post.origin, post.claimed_client_id())
        && let Ok(Some(client)) = state.store.client_by_client_id(client_id).await
        && client.client_type == tessera_core::client::ClientType::Public
        && client.allows_origin(origin)
    {
        allow_origin(&mut response, origin);
    }
    response
}
