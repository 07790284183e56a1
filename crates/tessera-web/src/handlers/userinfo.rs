//! OpenID Connect userinfo (OIDC Core section 5.3) for bearer access tokens.
//!
//! Only this server's access tokens are accepted: an ID token (or anything else) is not an
//! access token and gets 401, as does a revoked or expired token, at once on every node.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::client::{AuthorizationHeader, parse_authorization};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::grant::TokenType;
use tessera_core::oidc::UserInfo;
use tessera_core::scope::Scope;

use crate::error::{ApiError, Challenge, json};
use crate::handlers::revoke::find;
use crate::signing::user_claims;
use crate::state::AppState;

fn bearer_error(status: StatusCode, code: ErrorCode, description: &'static str) -> ApiError {
    ApiError::oauth(OAuthError::new(code, description))
        .with_status(status)
        .with_challenge(Challenge::Bearer)
}

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    handle(&state, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle(state: &AppState, headers: &HeaderMap) -> Result<Response, ApiError> {
    let invalid = || {
        bearer_error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            "The access token is invalid, expired or revoked.",
        )
    };
    let token = match headers
        .get(AUTHORIZATION)
        .map(|v| parse_authorization(v.as_bytes()))
    {
        Some(Ok(AuthorizationHeader::Bearer(t))) => t,
        Some(_) => return Err(invalid()),
        None => {
            // RFC 6750 section 3.1: no credentials, so no error code in the challenge.
            return Err(bearer_error(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidRequest,
                "A bearer access token is required.",
            )
            .with_challenge(Challenge::BearerRequired));
        }
    };
    let ctx = find(state, &token)
        .await?
        .filter(|c| c.token_type == TokenType::AccessToken && c.is_active(state.now()))
        .ok_or_else(invalid)?;
    let scope = Scope::parse(&ctx.scope).map_err(|_| invalid())?;
    if !scope.contains("openid") {
        return Err(bearer_error(
            StatusCode::FORBIDDEN,
            ErrorCode::InsufficientScope,
            "The access token lacks the openid scope.",
        ));
    }
    let Some(user_id) = ctx.user_id else {
        return Err(invalid());
    };
    let user = user_claims(state, user_id).await?.ok_or_else(invalid)?;
    Ok(json(StatusCode::OK, &UserInfo::of(&user, &scope)))
}
