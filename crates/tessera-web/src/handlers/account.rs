//! Signing in and out ([`paths::LOGIN`], [`paths::LOGOUT`]).

use crate::client_auth::{Login, check_user_password};
use crate::html::{Layout, PageError, render};
use crate::paths;
use crate::session::{self, CSRF_FIELD, CheckedForm, redirect, safe_next, with_cookies};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// Prefills the username (an OpenID Connect `login_hint` passed on).
    username: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout<'a>,
    csrf: &'a str,
    /// Where to go once signed in; already checked by [`safe_next`].
    next: &'a str,
    /// As typed, so a failed attempt need not retype it.
    username: &'a str,
    error: Option<&'a str>,
}

fn login_page(
    status: StatusCode,
    csrf: &str,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let page = LoginPage {
        layout: Layout {
            title: "Sign in",
            user: None,
        },
        csrf,
        next,
        username,
        error,
    };
    render(status, &page)
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let (csrf, set) = session::csrf_token(&state, &headers);
    let next = safe_next(q.next.as_deref());
    let username = q.username.as_deref().unwrap_or("");
    with_cookies(
        login_page(StatusCode::OK, &csrf, next, username, None),
        [set],
    )
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
    let known_device = session::is_known_device(&state, &form.headers, &username);
    match check_user_password(&state, form.peer, &username, password, known_device).await {
        Ok(Login::Valid { user_id }) => {
            tracing::info!(target: "tessera::audit", event = "login", username = %username, outcome = "signed_in");
            match session::start(&state, user_id).await {
                Ok(cookie) => with_cookies(
                    redirect(StatusCode::SEE_OTHER, &next),
                    [cookie, session::known_device_cookie(&state, &username)],
                ),
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

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    layout: Layout<'a>,
    csrf: &'a str,
}

pub async fn logout_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, set) = session::csrf_token(&state, &headers);
    let user = match session::current(&state, &headers).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let page = LogoutPage {
        layout: Layout {
            title: "Sign out",
            user: user.as_ref().map(|s| s.user.username.as_str()),
        },
        csrf: &csrf,
    };
    with_cookies(render(StatusCode::OK, &page), [set])
}

pub async fn logout(State(state): State<AppState>, form: CheckedForm) -> Response {
    match session::end(&state, &form.headers).await {
        Ok(cookie) => with_cookies(redirect(StatusCode::SEE_OTHER, paths::LOGIN), [cookie]),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the user typed comes back inside `value="..."` attributes: a `"` must not end them.
    #[test]
    fn typed_values_cannot_leave_their_attribute() {
        let hostile = "\"><script>alert(1)</script>";
        let page = LoginPage {
            layout: Layout {
                title: "Sign in",
                user: None,
            },
            csrf: "t",
            next: hostile,
            username: hostile,
            error: Some(hostile),
        };
        let html = page.render().expect("render");
        assert_eq!(
            html.matches("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
                .count(),
            3,
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }
}
