//! Signing in and out (`/accounts/login/`, `/accounts/logout/`).

use crate::client_auth::{Login, check_user_password};
use crate::html::{PageError, esc, hidden, page};
use crate::paths;
use crate::session::{self, CSRF_FIELD, CheckedForm, redirect, safe_next, with_cookies};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(
    status: StatusCode,
    csrf: &str,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let body = format!(
        r#"<div class="card"><h1>Sign in</h1>{error}
<form method="post" action="{action}">{hidden}
<label for="username">Username</label><input type="text" id="username" name="username" value="{username}" autocomplete="username" autofocus required>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></div>"#,
        hidden = hidden(&[(CSRF_FIELD, csrf), ("next", next)]),
        username = esc(username),
        action = paths::LOGIN,
    );
    page(status, "Sign in", None, &body)
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let (csrf, set) = session::csrf_token(&state, &headers);
    let next = safe_next(q.next.as_deref());
    with_cookies(login_page(StatusCode::OK, &csrf, next, "", None), [set])
}

pub async fn login(State(state): State<AppState>, form: CheckedForm) -> Response {
    let f = &form.form;
    let next = safe_next(f.get("next")).to_owned();
    let username = f.get("username").unwrap_or("").to_owned();
    let csrf = f.get(CSRF_FIELD).unwrap_or("").to_owned();
    let password = f.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() {
        return login_page(
            StatusCode::OK,
            &csrf,
            &next,
            &username,
            Some("Enter your username and password."),
        );
    }
    match check_user_password(&state, form.peer, &username, password).await {
        Ok(Login::Valid { user_id }) => {
            tracing::info!(target: "tessera::audit", event = "login", username = %username, outcome = "signed_in");
            match session::start(&state, user_id).await {
                Ok(cookie) => with_cookies(redirect(StatusCode::SEE_OTHER, &next), [cookie]),
                Err(e) => e.into_response(),
            }
        }
        Ok(Login::Invalid) => login_page(
            StatusCode::OK,
            &csrf,
            &next,
            &username,
            Some("That username and password do not match. Try again."),
        ),
        Ok(Login::TooMany { retry_after: wait }) => {
            let mut r = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &csrf,
                &next,
                &username,
                Some("Too many failed attempts. Wait a minute, then try again."),
            );
            r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
            r
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

pub async fn logout_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, set) = session::csrf_token(&state, &headers);
    let user = match session::current(&state, &headers).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let name = user.as_ref().map(|s| s.user.username.as_str());
    let body = format!(
        r#"<div class="card"><h1>Sign out</h1><p>Sign out of Tessera on this browser?</p>
<form method="post" action="{}">{}<button type="submit">Sign out</button></form></div>"#,
        paths::LOGOUT,
        hidden(&[(CSRF_FIELD, &csrf)])
    );
    with_cookies(page(StatusCode::OK, "Sign out", name, &body), [set])
}

pub async fn logout(State(state): State<AppState>, form: CheckedForm) -> Response {
    match session::end(&state, &form.headers).await {
        Ok(cookie) => with_cookies(redirect(StatusCode::SEE_OTHER, paths::LOGIN), [cookie]),
        Err(e) => e.into_response(),
    }
}
