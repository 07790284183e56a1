//! The device authorization grant (RFC 8628): the device authorization endpoint
//! ([`paths::DEVICE_AUTHORIZATION`], section 3.1) and the verification page
//! ([`paths::DEVICE`], section 3.3) where a signed-in user enters the code and answers the
//! consent question. Polling is the token endpoint's (`handlers/token.rs`).
//!
//! The consent page is the code flow's, asked every time: never skipped by a remembered
//! approval or `skip_authorization`, and never remembered (section 5.4: a remote attacker
//! sends the victim a user code, and a page that approves by itself would hand over the
//! account). Failed entries count against the address and the browser session, and once over
//! the limit every entry is refused before the code is looked at (section 5.1).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::client::GrantType;
use tessera_core::device::{
    DEFAULT_INTERVAL, DeviceAuthorizationResponse, DeviceCodeRecord, Entry, NewDeviceCode,
    UserCode, decide_entry,
};
use tessera_core::form;
use tessera_core::grant::check_grant_allowed;
use tessera_core::scope::Scope;
use tessera_core::token::{self, TokenDigest, TokenKind};
use tessera_store::{DeviceAnswer, Session, StoreError};

use crate::client_auth;
use crate::error::{ApiError, json};
use crate::extract::OAuthPost;
use crate::handlers::applications::require_user;
use crate::handlers::authorize::{ConsentPage, describe_scope};
use crate::html::{Layout, PageError, render};
use crate::paths;
use crate::ratelimit::{Attempt, Principal};
use crate::session::{self, CSRF_FIELD, CheckedForm, redirect, with_cookies};
use crate::state::AppState;

/// Draws of a user code before giving up; a clash with a stored one is already rare (20^8).
const USER_CODE_DRAWS: usize = 5;

/// `POST /o/device-authorization/` (section 3.1): client authentication as at the token
/// endpoint, a client registered for the grant, a scope the application may be granted.
pub async fn device_authorization(State(state): State<AppState>, post: OAuthPost) -> Response {
    authorize_device(&state, &post)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn authorize_device(state: &AppState, post: &OAuthPost) -> Result<Response, ApiError> {
    let client = client_auth::authenticate(state, post).await?;
    check_grant_allowed(&client, GrantType::DeviceCode)?;
    let scope = state
        .settings
        .scopes
        .resolve_for(&client, post.form.get("scope"))?;
    let now = state.now();
    let lifetime = state.settings.lifetimes.device_code;
    let device_code = token::generate(TokenKind::DeviceCode, &*state.entropy);
    for _ in 0..USER_CODE_DRAWS {
        let user_code = UserCode::generate(&*state.entropy);
        let stored = state
            .store
            .insert_device_code(NewDeviceCode {
                digest: device_code.digest,
                user_code: user_code.digest,
                client_pk: client.id,
                scope: scope.to_string(),
                interval: DEFAULT_INTERVAL,
                created_at: now,
                expires_at: now + lifetime,
            })
            .await;
        match stored {
            Ok(()) => {
                let issuer = &state.settings.issuer;
                let shown = user_code.display();
                return Ok(json(
                    StatusCode::OK,
                    &DeviceAuthorizationResponse {
                        device_code: device_code.text,
                        verification_uri: paths::endpoint(issuer, paths::DEVICE),
                        verification_uri_complete: paths::endpoint(
                            issuer,
                            &paths::device_with_code(&shown),
                        ),
                        user_code: shown,
                        expires_in: lifetime,
                        interval: DEFAULT_INTERVAL,
                    },
                ));
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal("no free user code after several draws"))
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    layout: Layout<'a>,
    user_code: &'a str,
    error: Option<&'a str>,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "device_done.html")]
struct DonePage<'a> {
    layout: Layout<'a>,
    message: &'a str,
}

fn entry_page(
    user: &Session,
    user_code: &str,
    error: Option<&str>,
    csrf: &str,
    status: StatusCode,
) -> Response {
    render(
        status,
        &DevicePage {
            layout: Layout {
                title: "Connect a device",
                user: Some(&user.user.username),
            },
            user_code,
            error,
            csrf,
        },
    )
}

fn done_page(user: &Session, title: &str, message: &str) -> Response {
    render(
        StatusCode::OK,
        &DonePage {
            layout: Layout {
                title,
                user: Some(&user.user.username),
            },
            message,
        },
    )
}

/// What a typed code is shown as again: its grouped form when it is one, else as typed (the
/// template escapes it), cut short.
fn shown_again(typed: &str) -> String {
    match UserCode::parse(typed) {
        Some(code) => code.display(),
        None => typed.chars().take(32).collect(),
    }
}

/// `GET /o/device/`: the form, with the code of `verification_uri_complete` filled in. Nothing
/// is looked up on a GET: a link alone never counts as an attempt nor reveals anything.
pub async fn device_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let typed = query
        .and_then(|q| form::parse(q.as_bytes()).ok())
        .and_then(|f| f.get("user_code").map(shown_again))
        .unwrap_or_default();
    let here = if typed.is_empty() {
        paths::DEVICE.to_owned()
    } else {
        paths::device_with_code(&typed)
    };
    let user = match require_user(&state, &headers, &here).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (csrf, set) = session::csrf_token(&state, &headers);
    with_cookies(
        entry_page(&user, &typed, None, &csrf, StatusCode::OK),
        [set],
    )
}

/// A fingerprint of the browser session, what user-code entries are counted against (with the
/// address); never the cookie itself.
fn session_fingerprint(state: &AppState, form: &CheckedForm) -> String {
    let cookie = session::session_cookie(state, &form.headers).unwrap_or("");
    let digest = TokenDigest::of(cookie);
    digest.0[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn too_many(retry_after: u64) -> Response {
    let mut page = PageError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "Too many codes were tried from here. Wait a moment, then try again.",
    )
    .with_link(paths::DEVICE, "Back to the code form");
    page.retry_after = Some(retry_after);
    page.into_response()
}

/// Finds the live, pending device code the form names; anything else is the answer to send
/// (the form again with what went wrong, or 429). Every entry that does not lead to a
/// question counts as a failure, and over the limit nothing is looked up.
async fn entered_code(
    state: &AppState,
    form: &CheckedForm,
    user: &Session,
    csrf: &str,
) -> Result<(UserCode, DeviceCodeRecord), Response> {
    let now = state.now();
    let session = session_fingerprint(state, form);
    let attempt = Attempt {
        principal: Some(Principal::UserCode(&session)),
        address: form.peer,
        known_device: false,
    };
    if let Some(wait) = state.limiter.check(&attempt, now).await {
        return Err(too_many(wait));
    }
    let typed = form.form.get("user_code").unwrap_or("");
    let code = UserCode::parse(typed);
    let found = match &code {
        Some(code) => state
            .store
            .device_code_by_user_code(&code.digest)
            .await
            .map_err(|e| PageError::from(e).into_response())?,
        None => None,
    };
    let message = match decide_entry(found.as_ref(), now) {
        Entry::Ask => match (code, found) {
            (Some(code), Some(record)) => return Ok((code, record)),
            _ => "That code is not valid. Check it against your device and try again.",
        },
        Entry::Unknown => "That code is not valid. Check it against your device and try again.",
        Entry::Expired => "That code has expired. Start again on your device to get a new one.",
        Entry::Used => {
            "That code was already used. Start again on your device if it is still waiting."
        }
    };
    state.limiter.record_failure(&attempt, now).await;
    Err(entry_page(
        user,
        &shown_again(typed),
        Some(message),
        csrf,
        StatusCode::BAD_REQUEST,
    ))
}

/// `POST /o/device/`: an entered code leads to the consent question; the question's answer
/// (`allow` or `deny`, with the code again) is recorded once.
pub async fn device_post(State(state): State<AppState>, form: CheckedForm) -> Response {
    let user = match session::current(&state, &form.headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let typed = shown_again(form.form.get("user_code").unwrap_or(""));
            let back = if typed.is_empty() {
                paths::DEVICE.to_owned()
            } else {
                paths::device_with_code(&typed)
            };
            return redirect(StatusCode::SEE_OTHER, &paths::login_then(&back));
        }
        Err(e) => return e.into_response(),
    };
    // The form carried the cookie's CSRF token (CheckedForm checked it): reuse it.
    let csrf = form.form.get(CSRF_FIELD).unwrap_or("").to_owned();
    let (code, record) = match entered_code(&state, &form, &user, &csrf).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let client = match state.store.client_by_pk(record.code.client_pk).await {
        Ok(Some(c)) => c,
        Ok(None) => return PageError::not_found().into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let allow = form.form.contains("allow");
    if !allow && !form.form.contains("deny") {
        let scope = Scope::parse(&record.code.scope).unwrap_or_default();
        let shown = code.display();
        let page = ConsentPage {
            layout: Layout {
                title: "Authorize device",
                user: Some(&user.user.username),
            },
            client_name: &client.name,
            username: &user.user.username,
            scopes: scope.iter().map(describe_scope).collect(),
            host: None,
            user_code: Some(&shown),
            action: paths::DEVICE,
            request: vec![("user_code", &shown)],
            csrf: &csrf,
        };
        return render(StatusCode::OK, &page);
    }
    let answer = if allow {
        DeviceAnswer::Approve {
            user_id: user.user.id,
            // The session's sign-in is the user's authentication (the ID token's auth_time).
            auth_time: user.created_at,
        }
    } else {
        DeviceAnswer::Deny
    };
    let recorded = match state
        .store
        .answer_device_code(&record.code.digest, answer, state.now())
        .await
    {
        Ok(r) => r,
        Err(e) => return PageError::from(e).into_response(),
    };
    let outcome = match (recorded, allow) {
        (false, _) => "too_late",
        (true, true) => "approved",
        (true, false) => "denied",
    };
    tracing::info!(target: "tessera::audit", event = "device_authorization", client_id = %client.client_id, user = %user.user.username, outcome);
    match outcome {
        "too_late" => entry_page(
            &user,
            "",
            Some("That code expired or was answered meanwhile. Start again on your device."),
            &csrf,
            StatusCode::BAD_REQUEST,
        ),
        "approved" => done_page(
            &user,
            "Device connected",
            &format!(
                "{} can now use your account. Return to your device: it continues by itself.",
                client.name
            ),
        ),
        _ => done_page(
            &user,
            "Access denied",
            &format!("{} was told that you denied access.", client.name),
        ),
    }
}
