//! Tessera's HTTP surface on axum: thin handlers around `tessera-core` decisions.
//!
//! A handler extracts (a strict form, client credentials), asks the core what to do, asks the
//! store to do it, and answers. Every error leaves through [`error::ApiError`], which maps it
//! to the RFC's status, body and headers in one place.
//!
//! # Layout
//! - [`paths`]: every URL path, defined once for the router, the metadata and the tests.
//! - [`state`]: [`AppState`], settings, the injected clock and randomness.
//! - [`error`]: the one error type of this boundary.
//! - [`extract`]: the strict form-POST extractor.
//! - [`client_auth`]: client authentication with rate limiting and the Argon2 cache.
//! - [`ratelimit`]: failure counters per client, user and address.
//! - [`cors`]: CORS for browser clients' `allowed_origins`.
//! - [`handlers`]: token, revocation, introspection, metadata, health.
//! - [`janitor`]: background cleanup of expired and revoked rows.

pub mod client_auth;
pub mod cors;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod janitor;
pub mod paths;
pub mod ratelimit;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get};
use tower_http::catch_panic::CatchPanicLayer;

pub use state::{AppState, Clock, OsEntropy, Settings, SystemClock};

/// Registers `route` at `path` with and without a trailing slash (SPEC section 3: the
/// trailing slash is optional everywhere).
fn at_both(
    router: Router<AppState>,
    path: &str,
    route: MethodRouter<AppState>,
) -> Router<AppState> {
    let bare = path.trim_end_matches('/');
    router
        .route(bare, route.clone())
        .route(&format!("{bare}/"), route)
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    use handlers::{health, introspect, metadata, revoke, token};
    let mut r = Router::new();
    r = at_both(r, paths::TOKEN, cors::post_endpoint(token::token));
    r = at_both(r, paths::REVOKE, cors::post_endpoint(revoke::revoke));
    r = at_both(
        r,
        paths::INTROSPECT,
        handlers::post_only(introspect::introspect),
    );
    for path in paths::METADATA_ALIASES {
        r = at_both(r, path, handlers::get_only(metadata::authorization_server));
    }
    r = at_both(r, paths::HEALTH, get(health::health));
    r = at_both(r, paths::READY, get(health::ready));
    r.fallback(handlers::not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::custom(error::panic_response))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes. Tests call it with a
/// listener bound to port 0.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
