//! RFC 7662 introspection; where the RFC leaves room, `docs/behaviour.md` ("Introspection").
//!
//! Callers: any confidential client (as DOT's resource servers use it), or a bearer access
//! token carrying the `introspection` scope. Anyone else gets 401 and learns nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_core::client::{AuthorizationHeader, ClientType};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::grant::TokenType;
use tessera_core::introspection::introspect as answer;

use crate::client_auth;
use crate::error::{ApiError, Challenge, json};
use crate::extract::OAuthPost;
use crate::handlers::revoke::find;
use crate::state::AppState;

/// The scope that lets a bearer token call this endpoint.
pub const INTROSPECTION_SCOPE: &str = "introspection";

pub async fn introspect(State(state): State<AppState>, post: OAuthPost) -> Response {
    handle(&state, &post)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn authorize_caller(state: &AppState, post: &OAuthPost) -> Result<(), ApiError> {
    if let Ok(Some(AuthorizationHeader::Bearer(bearer))) = &post.authorization {
        let refused = || {
            ApiError::oauth(OAuthError::new(
                ErrorCode::InvalidToken,
                "The bearer token is not allowed to introspect.",
            ))
            .with_challenge(Challenge::Bearer)
        };
        let ctx = find(state, bearer).await?.ok_or_else(refused)?;
        let allowed = ctx.token_type == TokenType::AccessToken
            && ctx.is_active(state.now())
            && ctx.scope.split(' ').any(|s| s == INTROSPECTION_SCOPE);
        return if allowed { Ok(()) } else { Err(refused()) };
    }
    let client = client_auth::authenticate(state, post).await?;
    if client.client_type != ClientType::Confidential {
        return Err(ApiError::invalid_client(
            "Only confidential clients may introspect tokens.",
        ));
    }
    Ok(())
}

async fn handle(state: &AppState, post: &OAuthPost) -> Result<Response, ApiError> {
    authorize_caller(state, post).await?;
    let text = post
        .form
        .get("token")
        .ok_or_else(|| ApiError::invalid_request("The token parameter is missing."))?;
    let found = find(state, text).await?;
    let body = answer(found.as_ref(), state.now(), &state.settings.issuer);
    Ok(json(StatusCode::OK, &body))
}
