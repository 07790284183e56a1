//! Tessera's HTTP surface on axum: thin handlers around `tessera-core` decisions.
//!
//! A handler extracts (a strict form, client credentials), asks the core what to do, asks the
//! store to do it, and answers. Every error leaves through [`error::ApiError`], which maps it
//! to the RFC's status, body and headers in one place.
//!
//! # Layout
//! - [`paths`]: every URL path, defined once for the router, the metadata, redirects, page
//!   links and the tests.
//! - [`state`]: [`AppState`], settings, the injected clock and randomness.
//! - [`error`]: the one error type of this boundary.
//! - [`extract`]: the strict form-POST extractor.
//! - [`client_auth`]: client authentication with rate limiting and the Argon2 cache.
//! - [`ratelimit`]: the limits that stop guessing (memory or Redis), known-device cookies.
//! - [`address`]: the client's address, through trusted reverse proxies.
//! - [`imported`]: tokens imported from django-oauth-toolkit, which carry no prefix.
//! - [`cors`]: CORS for browser clients' `allowed_origins`.
//! - [`handlers`]: token, revocation, introspection, userinfo, metadata, health, device
//!   authorization and dynamic client registration; and the pages: authorization (sign-in and
//!   consent), the device verification page, accounts, applications, authorized tokens, each
//!   with the typed context of its templates.
//! - [`html`]: rendering the askama templates of `templates/` (one layout, `base.html`, that
//!   every page extends), their escaper, error pages, the stylesheet, security headers.
//! - [`session`]: browser sessions and CSRF protection.
//! - [`keyring`]: the signing keys as this node sees them (store, key-encryption key, cache).
//! - [`signing`]: ID tokens and RFC 9068 JWT access tokens, and finding a JWT's stored row.
//! - [`operator`]: what an operator may do (applications, users, grants, keys), shared by the
//!   command line and the admin API, with the audit records of each action.
//! - [`admin`]: the admin API on its own listener, its routes and their OpenAPI document.
//! - [`metrics`]: the Prometheus recorder and `/metrics`.
//! - [`request_log`]: one log record per request, request ids, the request metrics.

pub mod address;
pub mod admin;
pub mod client_auth;
pub mod cors;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod html;
pub mod imported;
pub mod keyring;
pub mod metrics;
pub mod operator;
pub mod paths;
pub mod ratelimit;
pub mod request_log;
pub mod session;
pub mod signing;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::routing::{MethodRouter, get};
use tower_http::catch_panic::CatchPanicLayer;

pub use state::{AppState, ConnectionLimits, DynamicRegistration, Settings};

/// Registers `route` at `path` with and without its trailing slash (docs/behaviour.md,
/// "Requests"), so both spellings share one method router and so one 405 + `Allow`.
fn at_both(
    router: Router<AppState>,
    path: &str,
    route: MethodRouter<AppState>,
) -> Router<AppState> {
    let bare = paths::without_trailing_slash(path);
    router
        .route(bare, route.clone())
        .route(&format!("{bare}/"), route)
}

/// The API for clients: JSON answers; the token and revocation endpoints answer CORS (their
/// handlers decide per client, so CORS is not a layer). The registration endpoints exist only
/// when dynamic registration is on: otherwise they are 404 like any unknown path.
fn api_routes(registration: DynamicRegistration) -> Router<AppState> {
    use handlers::{device, introspect, registration, revoke, token, userinfo};
    let mut r = Router::new();
    r = at_both(
        r,
        paths::DEVICE_AUTHORIZATION,
        handlers::post_only(device::device_authorization),
    );
    if registration != DynamicRegistration::Off {
        r = at_both(
            r,
            paths::REGISTER,
            handlers::post_only(registration::register),
        );
        r = at_both(
            r,
            paths::REGISTER_CLIENT_ROUTE,
            axum::routing::get(registration::read)
                .put(registration::update)
                .delete(registration::delete)
                .fallback(|| async {
                    error::ApiError::method_not_allowed("GET, HEAD, PUT, DELETE")
                }),
        );
    }
    r = at_both(r, paths::TOKEN, cors::post_endpoint(token::token));
    r = at_both(r, paths::REVOKE, cors::post_endpoint(revoke::revoke));
    r = at_both(
        r,
        paths::INTROSPECT,
        handlers::post_only(introspect::introspect),
    );
    at_both(
        r,
        paths::USERINFO,
        handlers::get_post(userinfo::userinfo, userinfo::userinfo),
    )
}

/// The pages for people: HTML, and every answer (page, redirect, error, 405) carries the
/// security headers, added here once rather than by each handler.
fn page_routes() -> Router<AppState> {
    use handlers::{account, applications, authorize, authorized_tokens, device, end_session};
    let mut r = Router::new();
    r = at_both(
        r,
        paths::AUTHORIZE,
        handlers::get_post(authorize::authorize_get, authorize::authorize_post),
    );
    r = at_both(
        r,
        paths::DEVICE,
        handlers::get_post(device::device_get, device::device_post),
    );
    r = at_both(
        r,
        paths::LOGIN,
        handlers::get_post(account::login_form, account::login),
    );
    r = at_both(
        r,
        paths::LOGOUT,
        handlers::get_post(account::logout_form, account::logout),
    );
    r = at_both(
        r,
        paths::APPLICATIONS,
        handlers::get_only(applications::list),
    );
    r = at_both(
        r,
        paths::APPLICATION_REGISTER,
        handlers::get_post(applications::register_form, applications::register),
    );
    r = at_both(
        r,
        paths::APPLICATION_DETAIL_ROUTE,
        handlers::get_only(applications::detail),
    );
    r = at_both(
        r,
        paths::APPLICATION_UPDATE_ROUTE,
        handlers::get_post(applications::update_form, applications::update),
    );
    r = at_both(
        r,
        paths::APPLICATION_DELETE_ROUTE,
        handlers::get_post(applications::delete_form, applications::delete),
    );
    r = at_both(
        r,
        paths::AUTHORIZED_TOKENS,
        handlers::get_only(authorized_tokens::list),
    );
    r = at_both(
        r,
        paths::AUTHORIZED_TOKEN_DELETE_ROUTE,
        handlers::get_post(authorized_tokens::delete_form, authorized_tokens::delete),
    );
    r = at_both(
        r,
        paths::CONSENT_DELETE_ROUTE,
        handlers::post_only(authorized_tokens::forget),
    );
    r = at_both(
        r,
        paths::END_SESSION,
        handlers::get_post(end_session::end_session_get, end_session::end_session_post),
    );
    r.route(paths::STYLESHEET, get(html::stylesheet))
        .layer(map_response(html::security_headers))
}

/// Discovery, health and (unless it has a listener of its own) metrics: what clients and
/// orchestrators read before anything else. Each discovery document is routed only where the
/// configured issuer puts it.
fn discovery_routes(issuer: &str, metrics: bool) -> Router<AppState> {
    use handlers::{health, metadata};
    let mut r = Router::new();
    for path in [
        paths::authorization_server_metadata(issuer),
        paths::openid_configuration(issuer),
    ] {
        r = at_both(r, &path, handlers::get_only(metadata::configuration));
    }
    r = r.route(paths::JWKS, handlers::get_only(metadata::jwks));
    r = at_both(r, paths::HEALTH, get(health::health));
    if metrics {
        r = r.route(paths::METRICS, handlers::get_only(metrics::endpoint));
    }
    at_both(r, paths::READY, get(health::ready))
}

/// The whole application. Around every route: the request log (one record and the metrics
/// per request; inside the panic catcher's answer, so a panic is logged as its 500), and for
/// browsers, error pages instead of JSON errors.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api_routes(state.settings.dynamic_registration))
        .merge(page_routes())
        .merge(discovery_routes(
            &state.settings.issuer,
            state.settings.metrics_on_main_listener,
        ))
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(from_fn_with_state(state.clone(), request_log::layer))
        .layer(from_fn(html::errors_as_pages))
        .with_state(state)
}

/// `/metrics` alone, for a listener of its own (`metrics_bind`).
pub fn metrics_router() -> Router {
    Router::new()
        .route(paths::METRICS, get(metrics::endpoint))
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found\n") })
}

/// Serves `/metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, metrics_router(), limits, shutdown).await
}

/// Serves the admin API on `listener` until `shutdown` completes.
pub async fn serve_admin(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.settings.limits;
    serve_router(listener, admin::router(state), limits, shutdown).await
}

/// Serves the application on `listener` until `shutdown` completes, then lets the requests in
/// flight finish. Tests call it with a listener bound to port 0.
///
/// Each connection is bounded: its headers must arrive within the header timeout (which
/// also closes a keep-alive connection idle that long), its bodies within the body timeout,
/// and at most `max_connections` are served at once, so slow or idle clients cost a bounded
/// amount (docs/behaviour.md, "Security").
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.settings.limits;
    serve_router(listener, router(state), limits, shutdown).await
}

/// The serve loop of every listener: bounded connections, then a graceful end.
async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util_server::rt::{TokioIo, TokioTimer};
    use hyper_util_server::service::TowerToHyperService;
    use tower::ServiceExt;

    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_read_timeout,
    ));
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util_server::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Take a permit before accepting: at the cap, new connections wait in the kernel.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset, too many files):
                // the listener itself is fine; wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut req: axum::extract::Request| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo::<SocketAddr>(peer));
                req
            });
        let service = TowerToHyperService::new(service.map_request(
            |req: hyper::Request<hyper::body::Incoming>| req.map(axum::body::Body::new),
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are one client's (a reset, a timeout): nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
