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
//! - [`handlers`]: token, revocation, introspection, userinfo, metadata, health; and the pages:
//!   authorization (sign-in and consent), accounts, applications, authorized tokens.
//! - [`html`]: page layout, escaping, the stylesheet, security headers.
//! - [`session`]: browser sessions and CSRF protection.

pub mod client_auth;
pub mod cors;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod html;
pub mod paths;
pub mod ratelimit;
pub mod session;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get};
use tower_http::catch_panic::CatchPanicLayer;

pub use state::{AppState, Settings};

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
    use handlers::{
        account, applications, authorize, authorized_tokens, health, introspect, metadata, revoke,
        token, userinfo,
    };
    let page = |get_handler: MethodRouter<AppState>| {
        get_handler.fallback(|| async { error::ApiError::method_not_allowed("GET, HEAD, POST") })
    };
    let mut r = Router::new();
    r = at_both(
        r,
        paths::AUTHORIZE,
        page(get(authorize::authorize_get).post(authorize::authorize_post)),
    );
    r = at_both(
        r,
        paths::LOGIN,
        page(get(account::login_form).post(account::login)),
    );
    r = at_both(
        r,
        paths::LOGOUT,
        page(get(account::logout_form).post(account::logout)),
    );
    r = at_both(
        r,
        paths::APPLICATIONS,
        handlers::get_only(applications::list),
    );
    r = at_both(
        r,
        paths::APPLICATION_REGISTER,
        page(get(applications::register_form).post(applications::register)),
    );
    r = at_both(
        r,
        "/o/applications/{id}/",
        handlers::get_only(applications::detail),
    );
    r = at_both(
        r,
        "/o/applications/{id}/update/",
        page(get(applications::update_form).post(applications::update)),
    );
    r = at_both(
        r,
        "/o/applications/{id}/delete/",
        page(get(applications::delete_form).post(applications::delete)),
    );
    r = at_both(
        r,
        paths::AUTHORIZED_TOKENS,
        handlers::get_only(authorized_tokens::list),
    );
    r = at_both(
        r,
        "/o/authorized_tokens/{id}/delete/",
        page(get(authorized_tokens::delete_form).post(authorized_tokens::delete)),
    );
    r = r.route(html::STYLESHEET_PATH, get(html::stylesheet));

    r = at_both(r, paths::TOKEN, cors::post_endpoint(token::token));
    r = at_both(r, paths::REVOKE, cors::post_endpoint(revoke::revoke));
    r = at_both(
        r,
        paths::INTROSPECT,
        handlers::post_only(introspect::introspect),
    );
    r = at_both(
        r,
        paths::USERINFO,
        get(userinfo::userinfo)
            .post(userinfo::userinfo)
            .fallback(|| async { error::ApiError::method_not_allowed("GET, HEAD, POST") }),
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
