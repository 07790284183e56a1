//! Browser sessions and CSRF protection for the HTML pages.
//!
//! The session cookie holds a `tsse_` token; the store keeps its digest. Forms carry a hidden
//! `csrf_token`: for a signed-in browser it is derived from the session cookie's secret value,
//! so it is bound to that session and no other site (nor a sibling subdomain that can plant
//! cookies) can compute it; before sign-in it is a double-submit token, a random `tessera_csrf`
//! cookie (HttpOnly, SameSite=Lax) that the form repeats.
//!
//! With an https issuer every cookie is `Secure` and named with the `__Host-` prefix, which
//! browsers accept only from this host, over https, for the whole path: a cookie of the same
//! name set by another subdomain or over plain http can never shadow it.

use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tessera_core::entropy::alphanumeric;
use tessera_core::form::{self, Form};
use tessera_core::token::{self, TokenDigest, TokenKind};
use tessera_store::{NewSession, Session};

use crate::html::PageError;
use crate::paths;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tessera_session";
pub const CSRF_COOKIE: &str = "tessera_csrf";
pub const CSRF_FIELD: &str = "csrf_token";

fn https(state: &AppState) -> bool {
    state.settings.issuer.starts_with("https://")
}

/// A cookie's name as sent: `__Host-` prefixed under an https issuer.
pub fn cookie_name(state: &AppState, base: &'static str) -> std::borrow::Cow<'static, str> {
    if https(state) {
        format!("__Host-{base}").into()
    } else {
        base.into()
    }
}

/// The value of cookie `name`, if the request has exactly that cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn cookie_header(
    state: &AppState,
    base: &'static str,
    value: &str,
    max_age: i64,
) -> Option<HeaderValue> {
    let secure = if https(state) { "; Secure" } else { "" };
    let name = cookie_name(state, base);
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// How long a browser stays a known device of the user who signed in on it.
const DEVICE_COOKIE_SECONDS: i64 = 180 * 24 * 3600;

/// Whether the browser carries `username`'s known-device cookie.
pub fn is_known_device(state: &AppState, headers: &HeaderMap, username: &str) -> bool {
    cookie(
        headers,
        &cookie_name(state, crate::ratelimit::DEVICE_COOKIE),
    )
    .is_some_and(|v| state.devices.is_for(v, username))
}

/// The `Set-Cookie` that marks this browser as a known device of `username`.
pub fn known_device_cookie(state: &AppState, username: &str) -> Option<HeaderValue> {
    cookie_header(
        state,
        crate::ratelimit::DEVICE_COOKIE,
        &state.devices.value_for(username),
        DEVICE_COOKIE_SECONDS,
    )
}

/// The session cookie's value, if the request carries one.
pub(crate) fn session_cookie<'a>(state: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie(headers, &cookie_name(state, SESSION_COOKIE))
}

/// The CSRF token bound to a session: derived from the cookie's secret value, which only
/// this browser holds (the store keeps a digest of it under another domain separator).
fn session_csrf(session: &str) -> String {
    let digest = TokenDigest::of(&format!("tessera csrf\0{session}"));
    digest.0[..24].iter().map(|b| format!("{b:02x}")).collect()
}

/// The signed-in session of a request, if any.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, PageError> {
    let Some(value) = session_cookie(state, headers) else {
        return Ok(None);
    };
    if token::recognise(value) != Some(TokenKind::Session) {
        return Ok(None);
    }
    Ok(state
        .store
        .find_session(&TokenDigest::of(value), state.now())
        .await?)
}

/// Starts a session for `user_id`: the `Set-Cookie` value to send.
pub async fn start(state: &AppState, user_id: i64) -> Result<Option<HeaderValue>, PageError> {
    let t = token::generate(TokenKind::Session, &*state.entropy);
    let now = state.now();
    let lifetime = state.settings.session_seconds;
    state
        .store
        .insert_session(NewSession {
            digest: t.digest,
            user_id,
            created_at: now,
            expires_at: now + lifetime,
        })
        .await?;
    Ok(cookie_header(state, SESSION_COOKIE, &t.text, lifetime))
}

/// Ends the request's session; returns the `Set-Cookie` that clears it.
pub async fn end(state: &AppState, headers: &HeaderMap) -> Result<Option<HeaderValue>, PageError> {
    if let Some(value) = session_cookie(state, headers) {
        state.store.delete_session(&TokenDigest::of(value)).await?;
    }
    Ok(cookie_header(state, SESSION_COOKIE, "", 0))
}

/// The request's CSRF token, and the `Set-Cookie` to send when it is new: bound to the
/// session when there is one, a double-submit cookie before sign-in.
pub fn csrf_token(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(session) = session_cookie(state, headers) {
        return (session_csrf(session), None);
    }
    match cookie(headers, &cookie_name(state, CSRF_COOKIE)) {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            (v.to_owned(), None)
        }
        _ => {
            let fresh = alphanumeric(&*state.entropy, 32);
            let header = cookie_header(state, CSRF_COOKIE, &fresh, 7 * 24 * 3600);
            (fresh, header)
        }
    }
}

/// Adds `Set-Cookie` headers to a response.
pub fn with_cookies(
    mut response: Response,
    cookies: impl IntoIterator<Item = Option<HeaderValue>>,
) -> Response {
    for c in cookies.into_iter().flatten() {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

/// A 303 redirect (after a form POST) or 302. The pages' router adds the security headers.
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// Only absolute paths on this server are followed after sign-in
/// ([`tessera_core::form::is_local_path`]), so `next` cannot send a user elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if form::is_local_path(n) => n,
        _ => paths::APPLICATIONS,
    }
}

/// Whether a POSTed form carries the request's CSRF token: the one bound to its session, or
/// before sign-in the one of its double-submit cookie.
pub fn csrf_matches(state: &AppState, headers: &HeaderMap, form: &Form) -> bool {
    let expected = match session_cookie(state, headers) {
        Some(session) => session_csrf(session),
        None => cookie(headers, &cookie_name(state, CSRF_COOKIE))
            .unwrap_or("")
            .to_owned(),
    };
    let sent = form.get(CSRF_FIELD).unwrap_or("");
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// A POSTed HTML form whose CSRF token matched its cookie.
#[derive(Debug)]
pub struct CheckedForm {
    pub form: Form,
    pub headers: HeaderMap,
    pub peer: Option<std::net::IpAddr>,
}

impl FromRequest<AppState> for CheckedForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let path = req.uri().path().to_owned();
        let peer = crate::address::client_ip(
            req.extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
            &headers,
            &state.settings.trusted_proxies,
        );
        let is_form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|e| {
                    e.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !is_form {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "This page only accepts forms sent by a browser.",
            ));
        }
        let body = axum::body::to_bytes(req.into_body(), state.settings.max_body_bytes)
            .await
            .map_err(|_| {
                PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too large",
                    "The form is too large.",
                )
            })?;
        let form = form::parse(&body)
            .map_err(|e| PageError::new(StatusCode::BAD_REQUEST, "Bad request", e.description()))?;
        if !csrf_matches(state, &headers, &form) {
            // Every page with a form shows it again at its own address, except the consent
            // page, which needs the authorization request the application sent.
            let refused = PageError::bad_form();
            return Err(
                if crate::paths::without_trailing_slash(&path)
                    == crate::paths::without_trailing_slash(crate::paths::AUTHORIZE)
                {
                    refused
                } else {
                    refused.with_link(path, "Open the form again")
                },
            );
        }
        Ok(Self {
            form,
            headers,
            peer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_local() {
        let authorize = paths::authorize_with("a=b");
        assert_eq!(safe_next(Some(&authorize)), authorize);
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:x",
            "/\t/evil.example",
            "/\n/evil.example",
            " /x",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/%2f%2fevil.example",
            "/ok\u{85}",
        ] {
            assert_eq!(safe_next(Some(bad)), paths::APPLICATIONS, "{bad}");
        }
        assert_eq!(safe_next(None), paths::APPLICATIONS);
        let with_query =
            "/o/authorize/?scope=read%20write&redirect_uri=https%3A%2F%2Fa.example%2Fcb";
        assert_eq!(
            safe_next(Some(with_query)),
            with_query,
            "encoded values in the query stay"
        );
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; tessera_csrf=xyz; b=2"),
        );
        assert_eq!(cookie(&h, "tessera_csrf"), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
