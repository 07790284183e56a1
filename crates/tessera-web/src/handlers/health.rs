//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::error::json;
use crate::state::AppState;

/// Liveness: the process answers. Touches nothing else.
pub async fn health() -> Response {
    json(StatusCode::OK, &json!({"status": "ok"}))
}

/// Readiness: the store answers.
pub async fn ready(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => json(StatusCode::OK, &json!({"status": "ready"})),
        Err(e) => {
            tracing::warn!(error = %e, "store not ready");
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "unavailable"}),
            )
        }
    }
}
