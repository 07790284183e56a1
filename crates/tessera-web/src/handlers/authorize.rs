//! The authorization endpoint (RFC 6749 sections 4.1 and 4.2, RFC 7636, OIDC `prompt`):
//! sign-in, consent, and the redirect back with a code (or, for implicit applications, a
//! token in the fragment).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::authorize::{
    AuthorizationRequest, AuthorizeError, ErrorRedirect, ResponseType, ValidAuthorization,
    append_params, validate,
};
use tessera_core::client::GrantType;
use tessera_core::code::NewCode;
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::form::{self, Form};
use tessera_core::grant::{self, NewGrant};
use tessera_core::token::{self, TokenKind};
use tessera_store::Session;

use crate::html::{Layout, PageError, render};
use crate::paths;
use crate::session::{self, CheckedForm, redirect, with_cookies};
use crate::state::AppState;

/// Human descriptions of the scopes shown on the consent page.
fn describe_scope(scope: &str) -> &str {
    match scope {
        "read" => "Read your data",
        "write" => "Change your data",
        "introspection" => "Check whether tokens are valid",
        "openid" => "Know who you are",
        "profile" => "See your profile (name and username)",
        "email" => "See your email address",
        other => other,
    }
}

fn error_page(message: &'static str) -> Response {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This sign-in link cannot be used",
        message,
    )
    .into_response()
}

fn redirect_error(state: &AppState, e: &ErrorRedirect) -> Response {
    redirect(StatusCode::FOUND, &e.location(&state.settings.issuer))
}

fn error_to(
    state: &AppState,
    valid: &ValidAuthorization,
    code: ErrorCode,
    description: &'static str,
) -> Response {
    redirect_error(
        state,
        &ErrorRedirect {
            redirect_uri: valid.redirect_uri.clone(),
            error: OAuthError::new(code, description),
            state: valid.state.clone(),
            fragment: valid.response_type == ResponseType::Token,
        },
    )
}

/// Parses and validates a request; the `Err` is the answer already (page or redirect).
async fn validated(
    state: &AppState,
    form: &Form,
) -> Result<(AuthorizationRequest, ValidAuthorization), Response> {
    let request = AuthorizationRequest::from_form(form);
    let client = match &request.client_id {
        Some(id) => state
            .store
            .client_by_client_id(id)
            .await
            .map_err(|e| PageError::from(e).into_response())?,
        None => None,
    };
    match validate(
        &request,
        client.as_ref(),
        &state.settings.scopes,
        &state.settings.pkce,
    ) {
        Ok(valid) => Ok((request, valid)),
        Err(AuthorizeError::Page(message)) => Err(error_page(message)),
        Err(AuthorizeError::Redirect(e)) => Err(redirect_error(state, &e)),
    }
}

pub async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let form = match form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(f) => f,
        Err(_) => {
            return error_page("The link is malformed: a parameter is repeated or badly encoded.");
        }
    };
    let (request, valid) = match validated(&state, &form).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let current = match session::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let user = match current {
        Some(s) if !valid.prompt.login => s,
        _ => {
            if valid.prompt.none {
                return error_to(
                    &state,
                    &valid,
                    ErrorCode::LoginRequired,
                    "The user is not signed in.",
                );
            }
            // Come back here after signing in, without asking for a new sign-in again.
            let mut again = request.clone();
            again.prompt = request.prompt.as_deref().map(|p| {
                p.split(' ')
                    .filter(|v| *v != "login")
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let next = paths::authorize_with(&again.to_query());
            return redirect(StatusCode::FOUND, &paths::login_then(&next));
        }
    };
    if valid.client.skip_authorization && !valid.prompt.consent {
        return grant_access(&state, &valid, &user).await;
    }
    if valid.prompt.none {
        return error_to(
            &state,
            &valid,
            ErrorCode::ConsentRequired,
            "The user has not approved this application.",
        );
    }
    let (csrf, set) = session::csrf_token(&state, &headers);
    with_cookies(consent_page(&request, &valid, &user, &csrf), [set])
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    layout: Layout<'a>,
    client_name: &'a str,
    username: &'a str,
    /// What each requested scope allows, in words.
    scopes: Vec<&'a str>,
    /// Where the user will be sent back: the redirect URI's host, which they can recognise.
    host: &'a str,
    /// The authorization request, carried through the form so the POST can validate it again.
    request: Vec<(&'a str, &'a str)>,
    csrf: &'a str,
}

fn consent_page(
    request: &AuthorizationRequest,
    valid: &ValidAuthorization,
    user: &Session,
    csrf: &str,
) -> Response {
    let host = valid
        .redirect_uri
        .split("://")
        .nth(1)
        .and_then(|r| r.split(['/', '?']).next())
        .unwrap_or(&valid.redirect_uri);
    let page = ConsentPage {
        layout: Layout {
            title: "Authorize application",
            user: Some(&user.user.username),
        },
        client_name: &valid.client.name,
        username: &user.user.username,
        scopes: valid.scope.iter().map(describe_scope).collect(),
        host,
        // `prompt` was answered by showing this page; asking again would loop.
        request: request
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != "prompt")
            .collect(),
        csrf,
    };
    render(StatusCode::OK, &page)
}

pub async fn authorize_post(State(state): State<AppState>, form: CheckedForm) -> Response {
    let (_, valid) = match validated(&state, &form.form).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let user = match session::current(&state, &form.headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return PageError::new(
                StatusCode::FORBIDDEN,
                "Signed out",
                "You were signed out before you answered. Start again from the application.",
            )
            .into_response();
        }
        Err(e) => return e.into_response(),
    };
    if !form.form.contains("allow") {
        tracing::info!(target: "tessera::audit", event = "consent", client_id = %valid.client.client_id, user = %user.user.username, outcome = "denied");
        return error_to(
            &state,
            &valid,
            ErrorCode::AccessDenied,
            "The user denied the request.",
        );
    }
    grant_access(&state, &valid, &user).await
}

/// Issues the code (or the implicit token) and redirects back to the application.
async fn grant_access(state: &AppState, valid: &ValidAuthorization, user: &Session) -> Response {
    let now = state.now();
    let issuer = state.settings.issuer.as_str();
    let result = match valid.response_type {
        ResponseType::Code => {
            let code = token::generate(TokenKind::AuthorizationCode, &*state.entropy);
            let stored = state
                .store
                .insert_code(NewCode {
                    digest: code.digest,
                    client_pk: valid.client.id,
                    user_id: user.user.id,
                    redirect_uri: valid.redirect_uri.clone(),
                    redirect_uri_explicit: valid.redirect_uri_explicit,
                    scope: valid.scope.to_string(),
                    pkce: valid.pkce.clone(),
                    nonce: valid.nonce.clone(),
                    created_at: now,
                    expires_at: now + state.settings.lifetimes.authorization_code,
                })
                .await;
            stored.map(|()| {
                let mut params = vec![("code", code.text.as_str())];
                if let Some(s) = &valid.state {
                    params.push(("state", s));
                }
                params.push(("iss", issuer));
                append_params(&valid.redirect_uri, &params, false)
            })
        }
        ResponseType::Token => {
            let issuance = grant::mint(
                &*state.entropy,
                now,
                &state.settings.lifetimes,
                &valid.scope,
                None,
            );
            let stored = state
                .store
                .insert_grant(
                    NewGrant {
                        client_pk: valid.client.id,
                        user_id: Some(user.user.id),
                        kind: GrantType::Implicit,
                        scope: valid.scope.to_string(),
                        created_at: now,
                        expires_at: issuance.lives_until(),
                    },
                    issuance.access_token,
                    None,
                )
                .await;
            stored.map(|_| {
                let r = &issuance.response;
                let expires = r.expires_in.to_string();
                let mut params = vec![
                    ("access_token", r.access_token.as_str()),
                    ("token_type", r.token_type),
                    ("expires_in", expires.as_str()),
                    ("scope", r.scope.as_str()),
                ];
                if let Some(s) = &valid.state {
                    params.push(("state", s));
                }
                params.push(("iss", issuer));
                append_params(&valid.redirect_uri, &params, true)
            })
        }
    };
    match result {
        Ok(location) => {
            tracing::info!(target: "tessera::audit", event = "consent", client_id = %valid.client.client_id, user = %user.user.username, outcome = "granted");
            redirect(StatusCode::FOUND, &location)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
