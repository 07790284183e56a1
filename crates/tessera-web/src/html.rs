//! Server-rendered pages: askama templates in `templates/`, compiled into the binary, each
//! extending the one layout `base.html`; one small stylesheet; no JavaScript.
//!
//! Handlers fill a typed context (a struct deriving [`Template`]) and call [`render`]; the
//! templates escape every value, so no handler writes or escapes HTML. Pages carry security
//! headers that keep them out of frames and keep authorization URLs out of `Referer` headers.

use std::fmt;

use askama::Template;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, RETRY_AFTER,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
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

/// An error page: what went wrong, in words a user understands.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            retry_after: None,
        }
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
            "This form expired or was sent from another site. Go back, reload the page and try again.",
        )
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
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            layout: Layout {
                title: self.title,
                user: None,
            },
            message: &self.message,
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
        };
        let html = page.render().expect("render");
        assert!(html.contains("Bad &lt;request&gt; · Tessera"));
        assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script") && !html.contains("<request"));
        assert!(
            !html.contains(crate::paths::LOGOUT),
            "no user, no links that need a session"
        );
    }
}
