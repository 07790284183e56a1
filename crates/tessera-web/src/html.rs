//! Server-rendered pages: one layout, one small stylesheet, no JavaScript.
//!
//! Every value placed in a page goes through [`esc`]. Pages carry security headers that keep
//! them out of frames and keep authorization URLs out of `Referer` headers.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, RETRY_AFTER,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::paths;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

pub const STYLESHEET: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f4f6f9}
header{background:#1d2430;color:#fff;padding:.75rem 1rem;display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:.5rem}
header a{color:#fff;text-decoration:none;font-weight:600}
header nav a{font-weight:400;margin-left:1rem}
main{max-width:40rem;margin:1.5rem auto;padding:0 1rem}
.card{background:#fff;border-radius:10px;padding:1.25rem 1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.08);margin-bottom:1rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
label.inline{display:inline;font-weight:400;margin:0 1rem 0 .25rem}
input[type=text],input[type=password],input[type=email],textarea,select{width:100%;padding:.55rem .6rem;border:1px solid #c5cbd5;border-radius:6px;font:inherit}
textarea{min-height:4.5rem}
button,.button{display:inline-block;padding:.55rem 1.1rem;border-radius:6px;border:1px solid #2456c9;background:#2456c9;color:#fff;font:inherit;cursor:pointer;text-decoration:none;margin:.75rem .5rem 0 0}
button.secondary,.button.secondary{background:#fff;color:#2456c9}
button.danger{background:#b42318;border-color:#b42318}
.error{background:#fdecea;color:#8a1c12;border-radius:6px;padding:.6rem .8rem;margin:.5rem 0}
.notice{background:#e8f1fd;border-radius:6px;padding:.6rem .8rem;margin:.5rem 0}
.secret{font-family:ui-monospace,monospace;word-break:break-all;background:#fff8e1;padding:.5rem;border-radius:6px}
ul.scopes{padding-left:1.2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;word-break:break-all}
table{width:100%;border-collapse:collapse}
td,th{text-align:left;padding:.4rem .3rem;border-bottom:1px solid #e3e7ee;vertical-align:top}
small,.muted{color:#5b6576}
"#;

/// A complete page. `user` is the signed-in user's name, shown in the header.
pub fn page(status: StatusCode, title: &str, user: Option<&str>, body: &str) -> Response {
    let nav = match user {
        Some(name) => format!(
            r#"<nav><a href="{}">Applications</a><a href="{}">Authorized access</a><a href="{}">Sign out ({})</a></nav>"#,
            paths::APPLICATIONS,
            paths::AUTHORIZED_TOKENS,
            paths::LOGOUT,
            esc(name)
        ),
        None => String::new(),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tessera</title><link rel="stylesheet" href="{stylesheet}"></head>
<body><header><a href="{home}">Tessera</a>{nav}</header><main>{body}</main></body></html>"#,
        title = esc(title),
        stylesheet = paths::STYLESHEET,
        home = paths::APPLICATIONS,
    );
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

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

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!(
            r#"<div class="card"><h1>{}</h1><p>{}</p></div>"#,
            esc(self.title),
            esc(&self.message)
        );
        let mut response = page(self.status, self.title, None, &body);
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

/// Hidden form fields.
pub fn hidden(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                esc(k),
                esc(v)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#x27;b&#x27;&lt;/script&gt;"
        );
    }
}
