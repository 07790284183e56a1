//! One log record per request (target `tessera::request`, apart from the audit records of
//! `tessera::audit`) and the request metrics, from one middleware around every route.
//!
//! The record names the method, the matched route (never the path or the query, which may
//! carry a user code or a `state`), the status, the duration, the request id and, when a
//! client authenticated, its client id. The request id is the caller's `X-Request-Id` when it
//! is a sane one (1 to 64 of `A-Z a-z 0-9 - _ .`), else a new one; it is answered in
//! `X-Request-Id` either way, so a client's report and the log line meet.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tessera_core::entropy::alphanumeric;

use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// The client that authenticated on this request, noted by client authentication for the
/// request's log record.
#[derive(Debug, Clone, Default)]
pub struct ClientNote(Arc<OnceLock<String>>);

impl ClientNote {
    pub fn set(&self, client_id: &str) {
        let _ = self.0.set(client_id.to_owned());
    }

    fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// A request id a caller sent that is safe to log and to answer back as it is.
fn sane_request_id(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let ok = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(text)
}

/// The route as a metric label and log field: the router's pattern without its trailing
/// slash (both spellings are one route), so unknown paths never make new label values.
fn route_label(matched: Option<&MatchedPath>) -> String {
    match matched {
        Some(p) => {
            let path = p.as_str();
            let trimmed = path.trim_end_matches('/');
            if trimmed.is_empty() { "/" } else { trimmed }.to_owned()
        }
        None => "unmatched".to_owned(),
    }
}

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = route_label(req.extensions().get::<MatchedPath>());
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(sane_request_id)
        .map_or_else(|| alphanumeric(&*state.entropy, 20), str::to_owned);
    let note = ClientNote::default();
    req.extensions_mut().insert(note.clone());
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics::counter!(
        "tessera_http_requests_total",
        "route" => route.clone(),
        "method" => method.to_string(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("tessera_http_request_duration_seconds", "route" => route.clone())
        .record(elapsed.as_secs_f64());
    tracing::info!(
        target: "tessera::request",
        request_id = %id,
        method = %method,
        route = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        client_id = note.get(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_request_ids_are_kept() {
        for ok in ["abc", "req-1.2_3", &"x".repeat(64)] {
            assert_eq!(
                sane_request_id(&HeaderValue::from_str(ok).expect("header")),
                Some(ok)
            );
        }
        for bad in [
            "",
            "has space",
            "new\u{7f}line",
            "a/b",
            &"x".repeat(65),
            "é",
        ] {
            if let Ok(v) = HeaderValue::from_str(bad) {
                assert_eq!(sane_request_id(&v), None, "{bad:?}");
            }
        }
    }
}
