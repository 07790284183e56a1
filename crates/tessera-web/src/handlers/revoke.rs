//! RFC 7009 revocation (docs/behaviour.md, "Revocation").

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::client::Client;
use tessera_core::grant::{TokenContext, TokenType};
use tessera_core::revocation::{RevocationDecision, decide_revocation};
use tessera_core::token::{self, TokenDigest};
use tessera_store::StoreResult;

use crate::client_auth;
use crate::cors;
use crate::error::ApiError;
use crate::extract::OAuthPost;
use crate::signing;
use crate::state::AppState;

pub async fn revoke(State(state): State<AppState>, post: OAuthPost) -> Response {
    cors::decorate(&state, &post, handle(&state, &post)).await
}

/// Finds a token by its text. The prefix says which table holds it, so `token_type_hint`
/// never changes the answer: a token sent under the wrong hint is still found. A JWT access
/// token is found by its `jti` once its signature verifies; an ID token is never found. Text
/// that is not one of our tokens is unknown without a store lookup, unless an import from DOT
/// brought unprefixed tokens (`crate::imported`).
pub async fn find(state: &AppState, text: &str) -> StoreResult<Option<TokenContext>> {
    if signing::looks_like_jwt(text) {
        return signing::find_jwt_access_token(state, text).await;
    }
    match token::recognise(text).and_then(TokenType::of_kind) {
        Some(token_type) => {
            state
                .store
                .find_token(token_type, &TokenDigest::of(text))
                .await
        }
        None => crate::imported::find(state, text, None).await,
    }
}

async fn handle(state: &AppState, post: &OAuthPost) -> Result<Response, ApiError> {
    let Some(text) = post.form.get("token") else {
        client_auth::authenticate(state, post).await?;
        return Err(ApiError::invalid_request("The token parameter is missing."));
    };
    let (client, found) = client_auth::authenticate_and_find(state, post, text).await?;
    let decision = decide_revocation(found.as_ref(), &client);
    if let RevocationDecision::RevokeGrant { grant_id } = decision {
        // Returns only once the revocation is committed to disk.
        state.store.revoke_grant(grant_id, state.now()).await?;
    }
    audit(&client, found.as_ref(), decision);
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn audit(client: &Client, found: Option<&TokenContext>, decision: RevocationDecision) {
    let grant_id = match decision {
        RevocationDecision::RevokeGrant { grant_id }
        | RevocationDecision::AlreadyRevoked { grant_id }
        | RevocationDecision::NotOwner { grant_id } => Some(grant_id),
        RevocationDecision::Unknown => None,
    };
    let kind = found.map(|f| f.token_type.hint_name());
    let outcome = decision.outcome();
    metrics::counter!("tessera_revocations_total", "outcome" => outcome, "by" => "client")
        .increment(1);
    if matches!(decision, RevocationDecision::NotOwner { .. }) {
        tracing::warn!(
            target: "tessera::audit",
            event = "revocation",
            client_id = %client.client_id,
            grant_id,
            kind,
            outcome,
        );
    } else {
        tracing::info!(
            target: "tessera::audit",
            event = "revocation",
            client_id = %client.client_id,
            grant_id,
            kind,
            outcome,
        );
    }
}
