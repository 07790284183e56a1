//! OpenID Connect RP-Initiated Logout 1.0 at [`paths::END_SESSION`]: an application sends
//! the user here to end their Tessera session, and gets them back at one of its registered
//! post-logout redirect URIs, with its `state`.
//!
//! The user is asked to confirm unless the request carries a valid `id_token_hint` naming the
//! signed-in user (section 2: a missing or stale hint must not sign anyone out silently, or
//! any site could sign users out). An application registered with `logout_revokes_grants`
//! also loses the grants the user gave it.

use askama::Template;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::authorize::append_params;
use tessera_core::client::Client;
use tessera_core::form::{self, Form};

use crate::html::{Layout, PageError, render};
use crate::session::{self, csrf_matches, redirect, with_cookies};
use crate::signing::{IdTokenHint, verify_id_token_hint};
use crate::state::AppState;

/// The parameters of section 2 that this server reads, carried through the confirmation.
const PARAMS: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

pub async fn end_session_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(f) => handle(&state, &headers, &f, false).await,
        Err(e) => bad_request(e.description()),
    }
}

/// A logout request may be POSTed by the application (section 2); the confirmation form
/// posts here too, with `confirm` and the CSRF token.
pub async fn end_session_post(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let body = match axum::body::to_bytes(request.into_body(), state.settings.max_body_bytes).await
    {
        Ok(b) => b,
        Err(_) => {
            return PageError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The request is too large.",
            )
            .into_response();
        }
    };
    let f = match form::parse(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(e.description()),
    };
    let confirmed = f.contains("confirm");
    if confirmed && !csrf_matches(&state, &headers, &f) {
        return PageError::bad_form().into_response();
    }
    handle(&state, &headers, &f, confirmed).await
}

fn bad_request(message: impl Into<String>) -> Response {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This sign-out link cannot be used",
        message,
    )
    .into_response()
}

#[derive(Template)]
#[template(path = "end_session.html")]
struct ConfirmPage<'a> {
    layout: Layout<'a>,
    client_name: Option<&'a str>,
    request: Vec<(&'a str, &'a str)>,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage<'a> {
    layout: Layout<'a>,
}

async fn handle(state: &AppState, headers: &HeaderMap, f: &Form, confirmed: bool) -> Response {
    match decide(state, headers, f, confirmed).await {
        Ok(r) | Err(r) => r,
    }
}

async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    f: &Form,
    confirmed: bool,
) -> Result<Response, Response> {
    let page = |e: PageError| e.into_response();
    let hint = match f.get("id_token_hint") {
        Some(text) => verify_id_token_hint(state, text)
            .await
            .map_err(|e| page(e.into()))?,
        None => None,
    };
    let client = find_client(state, f.get("client_id"), hint.as_ref()).await?;
    let back = match f.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client
                .as_ref()
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return Err(bad_request(
                    "The application asked to return to an address it has not registered for after sign-out.",
                ));
            }
            Some(uri)
        }
    };
    let current = session::current(state, headers).await.map_err(page)?;
    if let Some(signed_in) = &current {
        let hinted = hint
            .as_ref()
            .is_some_and(|h| h.sub == signed_in.user.id.to_string());
        if !hinted && !confirmed {
            let (csrf, set) = session::csrf_token(state, headers);
            let confirm = ConfirmPage {
                layout: Layout {
                    title: "Sign out",
                    user: Some(&signed_in.user.username),
                },
                client_name: client.as_ref().map(|c| c.name.as_str()),
                request: PARAMS
                    .iter()
                    .filter_map(|&k| f.get(k).map(|v| (k, v)))
                    .collect(),
                csrf: &csrf,
            };
            return Ok(with_cookies(render(StatusCode::OK, &confirm), [set]));
        }
        let now = state.now();
        if let Some(c) = client.as_ref().filter(|c| c.logout_revokes_grants) {
            let revoked = state
                .store
                .revoke_grants_of_user_and_client(signed_in.user.id, c.id, now)
                .await
                .map_err(|e| page(e.into()))?;
            tracing::info!(target: "tessera::audit", event = "revocation", reason = "logout", client_id = %c.client_id, user = %signed_in.user.username, grants = revoked, outcome = "revoked");
        }
        tracing::info!(target: "tessera::audit", event = "logout", user = %signed_in.user.username, client_id = client.as_ref().map(|c| c.client_id.as_str()), outcome = "signed_out");
    }
    let cleared = session::end(state, headers).await.map_err(page)?;
    let answer = match back {
        Some(uri) => {
            let to = match f.get("state") {
                Some(s) => append_params(uri, &[("state", s)], false),
                None => uri.to_owned(),
            };
            redirect(StatusCode::FOUND, &to)
        }
        None => render(
            StatusCode::OK,
            &SignedOutPage {
                layout: Layout {
                    title: "Signed out",
                    user: None,
                },
            },
        ),
    };
    Ok(with_cookies(answer, [cleared]))
}

/// The application the request comes from: named by `client_id`, or the audience of the
/// hint. When both are given they must agree (section 2).
async fn find_client(
    state: &AppState,
    client_id: Option<&str>,
    hint: Option<&IdTokenHint>,
) -> Result<Option<Client>, Response> {
    let named = match (client_id, hint) {
        (Some(id), Some(h)) if id != h.aud => {
            return Err(bad_request(
                "The client_id does not match the application the id_token_hint was issued to.",
            ));
        }
        (Some(id), _) => Some(id),
        (None, Some(h)) => Some(h.aud.as_str()),
        (None, None) => None,
    };
    let Some(id) = named else {
        return Ok(None);
    };
    match state.store.client_by_client_id(id).await {
        Ok(Some(c)) => Ok(Some(c)),
        Ok(None) => Err(bad_request(
            "The application asking to sign you out is not registered here.",
        )),
        Err(e) => Err(PageError::from(e).into_response()),
    }
}
