//! The authorization endpoint (RFC 6749 sections 4.1 and 4.2, RFC 7636; OIDC Core 3.1.2
//! `prompt`, `max_age`, `login_hint`, `id_token_hint`, and the implicit and hybrid flows of
//! sections 3.2 and 3.3): sign-in, consent (remembered per application), and the redirect
//! back with a code, tokens in the fragment, or both.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::authorize::{
    AuthorizationRequest, AuthorizeError, ErrorRedirect, ValidAuthorization, append_params,
    validate,
};
use tessera_core::code::NewCode;
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::form::{self, Form};
use tessera_core::grant::{self, Issuance, NewGrant};
use tessera_core::oidc::UserClaims;
use tessera_core::scope::Scope;
use tessera_core::token::{self, TokenKind};
use tessera_store::Session;

use crate::html::{Layout, PageError, render};
use crate::paths;
use crate::session::{self, CheckedForm, redirect, with_cookies};
use crate::signing;
use crate::state::AppState;

/// Human descriptions of the scopes shown on the consent page.
pub(crate) fn describe_scope(scope: &str) -> &str {
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
            fragment: valid.fragment,
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
    let now = state.now();
    let user = match current {
        Some(s) if !valid.needs_sign_in(Some(s.created_at), now) => s,
        _ => {
            if valid.prompt.none {
                return error_to(
                    &state,
                    &valid,
                    ErrorCode::LoginRequired,
                    "The user is not signed in.",
                );
            }
            // Come back here after signing in, without asking for a new sign-in again (a
            // fresh sign-in also satisfies max_age).
            let mut again = request.clone();
            again.prompt = request.prompt.as_deref().map(|p| {
                p.split(' ')
                    .filter(|v| *v != "login")
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let next = paths::authorize_with(&again.to_query());
            return redirect(
                StatusCode::FOUND,
                &paths::login_then_as(&next, valid.login_hint.as_deref()),
            );
        }
    };
    if valid.prompt.none
        && let Some(hint) = &valid.id_token_hint
    {
        // OIDC Core 3.1.2.1: with prompt=none, the hint names who the client expects; a
        // different (or unverifiable) subject means that user is not signed in here.
        match signing::id_token_hint_subject(&state, hint).await {
            Ok(Some(sub)) if sub == user.user.id.to_string() => {}
            Ok(_) => {
                return error_to(
                    &state,
                    &valid,
                    ErrorCode::LoginRequired,
                    "The signed-in user is not the one the id_token_hint names.",
                );
            }
            Err(e) => return PageError::from(e).into_response(),
        }
    }
    if !valid.prompt.consent {
        let remembered = match remembered_consent(&state, &valid, &user).await {
            Ok(r) => r,
            Err(e) => return PageError::from(e).into_response(),
        };
        if valid.client.skip_authorization || remembered {
            return grant_access(&state, &valid, &user).await;
        }
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

/// Whether the user already approved this application for at least the requested scopes.
async fn remembered_consent(
    state: &AppState,
    valid: &ValidAuthorization,
    user: &Session,
) -> Result<bool, tessera_store::StoreError> {
    let approved = state
        .store
        .consent(user.user.id, valid.client.id, state.now())
        .await?;
    Ok(approved
        .and_then(|s| Scope::parse(&s).ok())
        .is_some_and(|approved| valid.scope.is_subset(&approved)))
}

/// Remembers an approval: the scopes approved now, with those still remembered from before.
async fn remember_consent(
    state: &AppState,
    valid: &ValidAuthorization,
    user: &Session,
) -> Result<(), tessera_store::StoreError> {
    let now = state.now();
    let before = state
        .store
        .consent(user.user.id, valid.client.id, now)
        .await?
        .and_then(|s| Scope::parse(&s).ok())
        .unwrap_or_default();
    let all = Scope::from_tokens(before.iter().chain(valid.scope.iter()));
    state
        .store
        .remember_consent(
            user.user.id,
            valid.client.id,
            &all.to_string(),
            now,
            now + state.settings.consent_seconds,
        )
        .await
}

/// The consent page, shared with the device page (RFC 8628 section 5.4 asks for the same
/// question, with the device's user code instead of a redirect).
#[derive(Template)]
#[template(path = "consent.html")]
pub(crate) struct ConsentPage<'a> {
    pub layout: Layout<'a>,
    pub client_name: &'a str,
    pub username: &'a str,
    /// What each requested scope allows, in words.
    pub scopes: Vec<&'a str>,
    /// Where the user will be sent back: the redirect URI's host, which they can recognise.
    pub host: Option<&'a str>,
    /// The device's user code, for the user to compare with their screen.
    pub user_code: Option<&'a str>,
    /// Where the form posts its answer.
    pub action: &'a str,
    /// The request, carried through the form so the POST can check it again.
    pub request: Vec<(&'a str, &'a str)>,
    pub csrf: &'a str,
}

fn consent_page(
    request: &AuthorizationRequest,
    valid: &ValidAuthorization,
    user: &Session,
    csrf: &str,
) -> Response {
    let host = tessera_core::client::display_host(&valid.redirect_uri);
    let page = ConsentPage {
        layout: Layout {
            title: "Authorize application",
            user: Some(&user.user.username),
        },
        client_name: &valid.client.name,
        username: &user.user.username,
        scopes: valid.scope.iter().map(describe_scope).collect(),
        host: Some(host),
        user_code: None,
        action: paths::AUTHORIZE,
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
    if let Err(e) = remember_consent(&state, &valid, &user).await {
        return PageError::from(e).into_response();
    }
    grant_access(&state, &valid, &user).await
}

/// What the authorization endpoint sends back, before it is encoded into the redirect.
#[derive(Default)]
struct Answer {
    code: Option<String>,
    access_token: Option<Issuance>,
    id_token: Option<String>,
}

/// Issues what the response type asks for (a code, an access token, an ID token, or a
/// hybrid of them) and redirects back to the application.
async fn grant_access(state: &AppState, valid: &ValidAuthorization, user: &Session) -> Response {
    match issue(state, valid, user).await {
        Ok(answer) => {
            tracing::info!(target: "tessera::audit", event = "consent", client_id = %valid.client.client_id, user = %user.user.username, outcome = "granted");
            redirect(StatusCode::FOUND, &location(state, valid, &answer))
        }
        Err(e) => e.into_response(),
    }
}

async fn issue(
    state: &AppState,
    valid: &ValidAuthorization,
    user: &Session,
) -> Result<Answer, PageError> {
    let now = state.now();
    let rt = valid.response_type;
    let client = &valid.client;
    // The session's sign-in time is the user's authentication time (OIDC `auth_time`).
    let auth_time = user.created_at;
    let mut answer = Answer::default();
    if rt.has_code() {
        let code = token::generate(TokenKind::AuthorizationCode, &*state.entropy);
        state
            .store
            .insert_code(NewCode {
                digest: code.digest,
                client_pk: client.id,
                user_id: user.user.id,
                redirect_uri: valid.redirect_uri.clone(),
                redirect_uri_explicit: valid.redirect_uri_explicit,
                scope: valid.scope.to_string(),
                pkce: valid.pkce.clone(),
                nonce: valid.nonce.clone(),
                auth_time: Some(auth_time),
                created_at: now,
                expires_at: now + state.settings.lifetimes.authorization_code,
            })
            .await?;
        answer.code = Some(code.text);
    }
    if rt.has_token() {
        let mut issuance = grant::mint(
            &*state.entropy,
            now,
            &state.settings.lifetimes_for(client),
            &valid.scope,
            None,
        );
        signing::format_access_token(
            state,
            client,
            &mut issuance,
            Some(user.user.id),
            Some(auth_time),
        )
        .await?;
        state
            .store
            .insert_grant(
                NewGrant {
                    client_pk: client.id,
                    user_id: Some(user.user.id),
                    kind: rt.grant_type(),
                    scope: valid.scope.to_string(),
                    created_at: now,
                    expires_at: issuance.lives_until(),
                    auth_time: Some(auth_time),
                },
                issuance.access_token.clone(),
                None,
            )
            .await?;
        crate::metrics::token_issued(
            &client.client_id,
            rt.grant_type().as_str(),
            &valid.scope.to_string(),
        );
        answer.access_token = Some(issuance);
    }
    if rt.has_id_token() {
        let claims = UserClaims {
            user_id: user.user.id,
            username: user.user.username.clone(),
            email: user.user.email.clone(),
        };
        let id_token = signing::id_token(
            state,
            client,
            &claims,
            signing::IdTokenFor {
                scope: &valid.scope,
                auth_time,
                nonce: valid.nonce.as_deref(),
                access_token: answer
                    .access_token
                    .as_ref()
                    .map(|i| i.response.access_token.as_str()),
                code: answer.code.as_deref(),
                // Without an access token there is no userinfo call to fetch them from.
                with_scope_claims: !rt.has_token() && !rt.has_code(),
            },
        )
        .await?;
        answer.id_token = Some(id_token);
    }
    Ok(answer)
}

/// The redirect back: the parameters in the query for `code`, in the fragment otherwise.
fn location(state: &AppState, valid: &ValidAuthorization, answer: &Answer) -> String {
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(code) = &answer.code {
        params.push(("code", code));
    }
    let expires;
    if let Some(issuance) = &answer.access_token {
        let r = &issuance.response;
        expires = r.expires_in.to_string();
        params.extend([
            ("access_token", r.access_token.as_str()),
            ("token_type", r.token_type),
            ("expires_in", expires.as_str()),
            ("scope", r.scope.as_str()),
        ]);
    }
    if let Some(id_token) = &answer.id_token {
        params.push(("id_token", id_token));
    }
    if let Some(s) = &valid.state {
        params.push(("state", s));
    }
    params.push(("iss", state.settings.issuer.as_str()));
    append_params(&valid.redirect_uri, &params, valid.fragment)
}
