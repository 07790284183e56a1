//! The token endpoint (RFC 6749 sections 4.3, 4.4, 5 and 6; RFC 8628 section 3.4).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tessera_core::client::{Client, GrantType};
use tessera_core::code::{CodeDecision, decide_code};
use tessera_core::device::{PollDecision, decide_poll};
use tessera_core::error::OAuthError;
use tessera_core::grant::{
    self, Issuance, NewGrant, RefreshDecision, TokenType, check_grant_allowed, decide_refresh,
};
use tessera_core::scope::Scope;
use tessera_core::token::{self, TokenDigest, TokenKind};
use tessera_core::token_request::TokenRequest;
use tessera_store::RotateOutcome;

use crate::client_auth::{self, Login};
use crate::cors;
use crate::error::{ApiError, json};
use crate::extract::OAuthPost;
use crate::signing::{add_id_token, format_access_token};
use crate::state::AppState;

pub async fn token(State(state): State<AppState>, post: OAuthPost) -> Response {
    cors::decorate(&state, &post, handle(&state, &post)).await
}

async fn handle(state: &AppState, post: &OAuthPost) -> Result<Response, ApiError> {
    let client = client_auth::authenticate(state, post).await?;
    let request = TokenRequest::parse(&post.form)?;
    let grant_type = match &request {
        TokenRequest::ClientCredentials { .. } => "client_credentials",
        TokenRequest::Password { .. } => "password",
        TokenRequest::RefreshToken { .. } => "refresh_token",
        TokenRequest::AuthorizationCode { .. } => "authorization_code",
        TokenRequest::DeviceCode { .. } => "device_code",
    };
    match request.required_grant_type() {
        Some(grant) => check_grant_allowed(&client, grant)?,
        None if !client.may_refresh() => {
            return Err(OAuthError::unauthorized_client(
                "The client is not authorized to use refresh tokens.",
            )
            .into());
        }
        None => {}
    }
    let issuance = match request {
        TokenRequest::ClientCredentials { scope } => {
            let scope = state
                .settings
                .scopes
                .resolve_for(&client, scope.as_deref())?;
            new_grant(state, &client, None, GrantType::ClientCredentials, scope).await?
        }
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            let scope = state
                .settings
                .scopes
                .resolve_for(&client, scope.as_deref())?;
            let user_id = check_password(state, post, &username, &password).await?;
            new_grant(state, &client, Some(user_id), GrantType::Password, scope).await?
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh(state, &client, &refresh_token, scope.as_deref()).await?,
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            exchange_code(
                state,
                &client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await?
        }
        TokenRequest::DeviceCode { device_code } => {
            poll_device(state, &client, &device_code).await?
        }
    };
    crate::metrics::token_issued(&client.client_id, grant_type, &issuance.response.scope);
    Ok(json(StatusCode::OK, &issuance.response))
}

/// Mints the first tokens of a new grant and stores them.
async fn new_grant(
    state: &AppState,
    client: &Client,
    user_id: Option<i64>,
    kind: GrantType,
    scope: Scope,
) -> Result<Issuance, ApiError> {
    let now = state.now();
    let refresh_scope = kind.issues_refresh_tokens().then_some(&scope);
    let mut issuance = grant::mint(
        &*state.entropy,
        now,
        &state.settings.lifetimes_for(client),
        &scope,
        refresh_scope,
    );
    // The password grant authenticates the user now; client credentials have no user.
    let auth_time = user_id.map(|_| now);
    format_access_token(state, client, &mut issuance, user_id, auth_time).await?;
    state
        .store
        .insert_grant(
            NewGrant {
                client_pk: client.id,
                user_id,
                kind,
                scope: scope.to_string(),
                created_at: now,
                expires_at: issuance.lives_until(),
                auth_time,
            },
            issuance.access_token.clone(),
            issuance.refresh_token.clone(),
        )
        .await?;
    add_id_token(state, client, &mut issuance, user_id, auth_time, None).await?;
    Ok(issuance)
}

/// The resource owner password credentials check (RFC 6749 section 4.3.2). A wrong username
/// or password is `invalid_grant`; over the failure limit, 429.
async fn check_password(
    state: &AppState,
    post: &OAuthPost,
    username: &str,
    secret: &str,
) -> Result<i64, ApiError> {
    match client_auth::check_user_password(state, post.peer, username, secret, false).await? {
        Login::Valid { user_id } => Ok(user_id),
        Login::Invalid => Err(OAuthError::invalid_grant("Invalid credentials given.").into()),
        Login::TooMany { retry_after } => Err(ApiError::too_many_requests(retry_after)),
    }
}

/// A replayed code or refresh token: revoke the grant it belongs to (audited), and answer
/// `invalid_grant` with `description`.
async fn revoke_replayed_grant(
    state: &AppState,
    client: &Client,
    grant_id: i64,
    now: tessera_core::UnixTime,
    reason: &'static str,
    description: &'static str,
) -> ApiError {
    let revoked = match state.store.revoke_grant(grant_id, now).await {
        Ok(revoked) => revoked,
        Err(e) => return e.into(),
    };
    tracing::warn!(
        target: "tessera::audit",
        event = "revocation",
        reason,
        client_id = %client.client_id,
        grant_id,
        outcome = if revoked { "revoked" } else { "already_revoked" },
    );
    OAuthError::invalid_grant(description).into()
}

/// The authorization code grant (RFC 6749 section 4.1.3, RFC 7636 section 4.6). A replayed
/// code revokes the grant it produced.
async fn exchange_code(
    state: &AppState,
    client: &Client,
    presented: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<Issuance, ApiError> {
    let invalid = || {
        ApiError::from(OAuthError::invalid_grant(
            "The authorization code is invalid.",
        ))
    };
    if token::recognise(presented) != Some(TokenKind::AuthorizationCode) {
        return Err(invalid());
    }
    let digest = TokenDigest::of(presented);
    // Two attempts, as for refresh: a concurrent exchange may win between read and write.
    for _ in 0..2 {
        let now = state.now();
        let found = state.store.find_code(&digest).await?;
        match decide_code(found.as_ref(), client, redirect_uri, code_verifier, now) {
            CodeDecision::Refuse(e) => return Err(e.into()),
            CodeDecision::RevokeGrant { grant_id } => {
                return Err(revoke_replayed_grant(
                    state,
                    client,
                    grant_id,
                    now,
                    "authorization_code_replay",
                    "The authorization code was already used.",
                )
                .await);
            }
            CodeDecision::Redeem {
                user_id,
                scope,
                nonce,
                auth_time,
            } => {
                let mut issuance = grant::mint(
                    &*state.entropy,
                    now,
                    &state.settings.lifetimes_for(client),
                    &scope,
                    client.may_refresh().then_some(&scope),
                );
                format_access_token(state, client, &mut issuance, Some(user_id), auth_time).await?;
                let redeemed = state
                    .store
                    .redeem_code(
                        &digest,
                        now,
                        NewGrant {
                            client_pk: client.id,
                            user_id: Some(user_id),
                            kind: GrantType::AuthorizationCode,
                            scope: scope.to_string(),
                            created_at: now,
                            expires_at: issuance.lives_until(),
                            auth_time,
                        },
                        issuance.access_token.clone(),
                        issuance.refresh_token.clone(),
                    )
                    .await?;
                if redeemed.is_some() {
                    add_id_token(
                        state,
                        client,
                        &mut issuance,
                        Some(user_id),
                        auth_time,
                        nonce.as_deref(),
                    )
                    .await?;
                    return Ok(issuance);
                }
            }
        }
    }
    Err(invalid())
}

/// The refresh token grant: rotate once, or treat a replay as theft and end the grant.
async fn refresh(
    state: &AppState,
    client: &Client,
    presented: &str,
    scope: Option<&str>,
) -> Result<Issuance, ApiError> {
    let invalid = || ApiError::from(OAuthError::invalid_grant("The refresh token is invalid."));
    if token::recognise(presented) != Some(TokenKind::RefreshToken)
        && crate::imported::find(state, presented, Some(TokenType::RefreshToken))
            .await?
            .is_none()
    {
        return Err(invalid());
    }
    let digest = TokenDigest::of(presented);
    // Two attempts: a concurrent request may rotate the token between our read and our write;
    // the second read then sees it used, which is reuse.
    for _ in 0..2 {
        let now = state.now();
        let found = state
            .store
            .find_token(TokenType::RefreshToken, &digest)
            .await?;
        match decide_refresh(found.as_ref(), client, scope, now) {
            RefreshDecision::Refuse(e) => return Err(e.into()),
            RefreshDecision::RevokeGrant { grant_id } => {
                return Err(revoke_replayed_grant(
                    state,
                    client,
                    grant_id,
                    now,
                    "refresh_token_reuse",
                    "The refresh token was already used.",
                )
                .await);
            }
            RefreshDecision::Rotate {
                access_scope,
                refresh_scope,
                ..
            } => {
                let mut issuance = grant::mint(
                    &*state.entropy,
                    now,
                    &state.settings.lifetimes_for(client),
                    &access_scope,
                    Some(&refresh_scope),
                );
                let (user_id, auth_time) = found
                    .as_ref()
                    .map_or((None, None), |f| (f.user_id, f.auth_time));
                format_access_token(state, client, &mut issuance, user_id, auth_time).await?;
                let Some(rotation) = issuance.rotation(digest, now) else {
                    return Err(ApiError::internal("minting gave no refresh token"));
                };
                let outcome = state.store.rotate_refresh_token(rotation).await?;
                if outcome == RotateOutcome::Rotated {
                    add_id_token(state, client, &mut issuance, user_id, auth_time, None).await?;
                    return Ok(issuance);
                }
            }
        }
    }
    Err(invalid())
}

/// The device authorization grant (RFC 8628 section 3.4): a device polls until its user
/// answers. An approved code gives exactly one token response, however many polls race for
/// it (the store redeems it once); the others see it spent.
async fn poll_device(
    state: &AppState,
    client: &Client,
    presented: &str,
) -> Result<Issuance, ApiError> {
    let invalid = || ApiError::from(OAuthError::invalid_grant("The device code is invalid."));
    if token::recognise(presented) != Some(TokenKind::DeviceCode) {
        return Err(invalid());
    }
    let digest = TokenDigest::of(presented);
    // Two attempts, as for codes: a concurrent poll may redeem between read and write, and
    // the second read then sees the code spent.
    for _ in 0..2 {
        let now = state.now();
        let found = state.store.find_device_code(&digest).await?;
        match decide_poll(found.as_ref(), client, now) {
            PollDecision::Refuse(e) => return Err(e.into()),
            PollDecision::Wait { interval, error } => {
                state
                    .store
                    .record_device_poll(&digest, now, interval)
                    .await?;
                return Err(error.into());
            }
            PollDecision::Redeem {
                user_id,
                scope,
                auth_time,
            } => {
                let mut issuance = grant::mint(
                    &*state.entropy,
                    now,
                    &state.settings.lifetimes_for(client),
                    &scope,
                    client.may_refresh().then_some(&scope),
                );
                format_access_token(state, client, &mut issuance, Some(user_id), Some(auth_time))
                    .await?;
                let redeemed = state
                    .store
                    .redeem_device_code(
                        &digest,
                        now,
                        NewGrant {
                            client_pk: client.id,
                            user_id: Some(user_id),
                            kind: GrantType::DeviceCode,
                            scope: scope.to_string(),
                            created_at: now,
                            expires_at: issuance.lives_until(),
                            auth_time: Some(auth_time),
                        },
                        issuance.access_token.clone(),
                        issuance.refresh_token.clone(),
                    )
                    .await?;
                if redeemed.is_some() {
                    add_id_token(
                        state,
                        client,
                        &mut issuance,
                        Some(user_id),
                        Some(auth_time),
                        None,
                    )
                    .await?;
                    return Ok(issuance);
                }
            }
        }
    }
    Err(invalid())
}
