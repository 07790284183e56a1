//! RFC 7662 introspection (docs/behaviour.md, "Introspection"). Who may ask is decided by
//! `tessera_core::introspection::authorize_caller`; anyone refused gets 401 and learns nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_core::client::AuthorizationHeader;
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::grant::TokenContext;
use tessera_core::introspection::{
    Audience, Caller, CallerRefused, authorize_caller, introspect_for,
};

use crate::client_auth;
use crate::error::{ApiError, Challenge, json};
use crate::extract::OAuthPost;
use crate::handlers::revoke::find;
use crate::state::AppState;

pub async fn introspect(State(state): State<AppState>, post: OAuthPost) -> Response {
    handle(&state, &post)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Authorizes the caller and finds the token asked about (with a client's credentials, both
/// in one store round trip); returns what the caller may learn and the token.
async fn check_caller_and_find(
    state: &AppState,
    post: &OAuthPost,
) -> Result<(Audience, Option<TokenContext>), ApiError> {
    let refused = |refused| match refused {
        CallerRefused::Bearer => ApiError::oauth(OAuthError::new(
            ErrorCode::InvalidToken,
            "The bearer token is not allowed to introspect.",
        ))
        .with_challenge(Challenge::Bearer),
        CallerRefused::PublicClient => {
            ApiError::invalid_client("Only confidential clients may introspect tokens.")
        }
    };
    let text = post.form.get("token");
    let missing = || ApiError::invalid_request("The token parameter is missing.");
    match &post.authorization {
        Ok(Some(AuthorizationHeader::Bearer(bearer))) => {
            let found = find(state, bearer).await?;
            authorize_caller(Caller::Bearer(found.as_ref()), state.now()).map_err(refused)?;
            let client_pk = found.map(|f| f.client_pk).unwrap_or_default();
            let client = state
                .store
                .client_by_pk(client_pk)
                .await?
                .ok_or_else(|| refused(CallerRefused::Bearer))?;
            let text = text.ok_or_else(missing)?;
            Ok((Audience::of(&client), find(state, text).await?))
        }
        _ => {
            let Some(text) = text else {
                let client = client_auth::authenticate(state, post).await?;
                authorize_caller(Caller::Client(&client), state.now()).map_err(refused)?;
                return Err(missing());
            };
            let (client, found) = client_auth::authenticate_and_find(state, post, text).await?;
            authorize_caller(Caller::Client(&client), state.now()).map_err(refused)?;
            Ok((Audience::of(&client), found))
        }
    }
}

async fn handle(state: &AppState, post: &OAuthPost) -> Result<Response, ApiError> {
    let (audience, found) = check_caller_and_find(state, post).await?;
    let body = introspect_for(
        found.as_ref(),
        audience,
        state.now(),
        &state.settings.issuer,
    );
    let answer = if body.active { "active" } else { "inactive" };
    metrics::counter!("tessera_introspections_total", "answer" => answer).increment(1);
    Ok(json(StatusCode::OK, &body))
}
