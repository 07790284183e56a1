//! Server-rendered pages: askama templates in `templates/`, compiled into the binary, each
//! extending the one layout `base.html`; one small stylesheet; no JavaScript.
//!
//! Handlers fill a typed context (a struct deriving [`Template`]) and call [`render`]; the
//! templates escape every value, so no handler writes or escapes HTML. Pages carry security
//! headers that keep them out of frames and keep authorization URLs out of `Referer` headers.

use std::fmt;

use askama::Template;
use axum::extract::Request;
use axum::http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    RETRY_AFTER, VARY, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What `base.html` shows around every page.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    pub title: &'a str,
    /// The signed-in user, named in the header beside the links that need a session; `None`
    /// on the sign-in and error pages.
    pub user: Option<&'a str>,
}

/// The escaper of every `.html` template (see `askama.toml`). Askama's own writes numeric
/// references (`&#60;`); this one writes the named ones the pages have always had
/// (`&lt;`, `&quot;`, `&#x27;`), so their bytes stay the same for anything that reads them.
/// Both are safe in element content and in quoted attributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Escape;

impl askama::filters::Escaper for Escape {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, text: &str) -> fmt::Result {
        let mut done = 0;
        for (i, c) in text.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#x27;",
                _ => continue,
            };
            dest.write_str(&text[done..i])?;
            dest.write_str(entity)?;
            done = i + 1;
        }
        dest.write_str(&text[done..])
    }
}

/// A page as a response. A template cannot fail on the contexts handlers build, but if one
/// did, the user gets a plain 500 instead of half a page.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page could not be shown. Please try again in a moment.",
            )
                .into_response()
        }
    }
}

/// Served at [`crate::paths::STYLESHEET`]; a file of its own so the CSP can forbid inline
/// styles.
pub const STYLESHEET: &str = include_str!("../static/tessera.css");

/// Added by the router to every answer of the pages, redirects and errors included: pages
/// stay out of frames, authorization URLs stay out of `Referer` headers, and nothing is
/// cached unless the answer says otherwise (only the stylesheet does).
pub async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// A link onward from an error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub href: String,
    pub label: &'static str,
}

/// Where every error page leads by default: the signed-in user's applications (which ask
/// for sign-in first when needed), so no error page is a dead end.
fn home() -> Link {
    Link {
        href: crate::paths::APPLICATIONS.to_owned(),
        label: "Go to your applications",
    }
}

/// An error page: what went wrong, in words a user understands, and where to go from there.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// Links onward, the first the likeliest; the applications page is always among them.
    pub links: Vec<Link>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            retry_after: None,
            links: vec![home()],
        }
    }

    /// Offers `href` first, before the default links.
    pub fn with_link(mut self, href: impl Into<String>, label: &'static str) -> Self {
        self.links.insert(
            0,
            Link {
                href: href.into(),
                label,
            },
        );
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here, or it belongs to someone else.",
        )
    }

    pub fn bad_form() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form expired or was sent from another site. Open it again and send it once more.",
        )
    }

    /// A title for an error answered with `status` alone (an API error shown to a browser).
    fn title_for(status: StatusCode) -> &'static str {
        match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::METHOD_NOT_ALLOWED => "Not allowed here",
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::PAYLOAD_TOO_LARGE => "Too large",
            s if s.is_server_error() => "Temporarily unavailable",
            _ => "Bad request",
        }
    }
}

impl From<tessera_store::StoreError> for PageError {
    fn from(e: tessera_store::StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The server cannot reach its database right now. Please try again in a moment.",
        )
    }
}

impl From<crate::error::ApiError> for PageError {
    fn from(e: crate::error::ApiError) -> Self {
        Self::new(
            e.status,
            "Something went wrong",
            e.error.description.map_or_else(
                || "Please try again in a moment.".to_owned(),
                |d| d.into_owned(),
            ),
        )
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout<'a>,
    message: &'a str,
    links: &'a [Link],
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            layout: Layout {
                title: self.title,
                user: None,
            },
            message: &self.message,
            links: &self.links,
        };
        let mut response = render(self.status, &page);
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Whether the request comes from a browser showing pages: its `Accept` names `text/html`
/// before (or without) `application/json`. API clients send `application/json` or `*/*`.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    match (accept.find("text/html"), accept.find("application/json")) {
        (Some(html), Some(json)) => html < json,
        (Some(_), None) => true,
        _ => false,
    }
}

/// JSON error answers (an unknown path, a wrong method, an API endpoint opened in a browser)
/// shown to a browser as an error page with a way onward, keeping the status and the headers
/// that matter (`Allow`, `Retry-After`, `WWW-Authenticate`); API clients keep the JSON.
pub async fn errors_as_pages(req: Request, next: Next) -> Response {
    let html = wants_html(req.headers());
    let response = next.run(req).await;
    let is_json_error = response.status().is_client_error() || response.status().is_server_error();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(html && is_json_error && is_json) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let description = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error_description"].as_str().map(str::to_owned));
    let message = match (parts.status, description) {
        (StatusCode::NOT_FOUND, _) => {
            "There is nothing at this address. Check it for a typing mistake.".to_owned()
        }
        (_, Some(d)) => d,
        (status, None) if status.is_server_error() => {
            "Something went wrong on the server. Please try again in a moment.".to_owned()
        }
        (_, None) => "This request cannot be answered.".to_owned(),
    };
    let page = PageError::new(parts.status, PageError::title_for(parts.status), message);
    let mut out = page.into_response();
    for name in [ALLOW, RETRY_AFTER, WWW_AUTHENTICATE, VARY] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    security_headers(out).await
}

pub async fn stylesheet() -> Response {
    let mut r = STYLESHEET.into_response();
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_with_named_references() {
        let mut out = String::new();
        askama::filters::Escaper::write_escaped_str(
            &Escape,
            &mut out,
            r#"<script>"a" & 'b'</script> · ok"#,
        )
        .expect("write");
        assert_eq!(
            out,
            "&lt;script&gt;&quot;a&quot; &amp; &#x27;b&#x27;&lt;/script&gt; · ok"
        );
    }

    #[test]
    fn error_pages_escape_their_message() {
        let page = ErrorPage {
            layout: Layout {
                title: "Bad <request>",
                user: None,
            },
            message: "\"><script>alert(1)</script>",
            links: &[home()],
        };
        let html = page.render().expect("render");
        assert!(html.contains("Bad &lt;request&gt; · Tessera"));
        assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script") && !html.contains("<request"));
        assert!(
            !html.contains(crate::paths::LOGOUT),
            "no user, no links that need a session"
        );
        assert!(
            html.contains(&format!("href=\"{}\"", crate::paths::APPLICATIONS)),
            "a way onward: {html}"
        );
    }

    #[test]
    fn browsers_are_told_apart_from_api_clients_by_accept() {
        let accept = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(ACCEPT, HeaderValue::from_str(v).expect("header"));
            wants_html(&h)
        };
        assert!(accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accept("application/json"));
        assert!(!accept("*/*"));
        assert!(!accept("application/json, text/html"));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
