//! The one error type of the HTTP boundary, mapped to the wire here and nowhere else.

use std::any::Any;

use axum::http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_store::StoreError;

/// The challenge a 401 carries (RFC 6749 section 5.2, RFC 6750 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    /// A bearer challenge naming what was wrong with the token presented.
    Bearer,
    /// A bearer challenge to a request that presented none (RFC 6750 section 3.1: no error).
    BearerRequired,
}

impl Challenge {
    fn header(self, code: ErrorCode) -> String {
        match self {
            Self::Basic => r#"Basic realm="tessera""#.to_owned(),
            Self::Bearer => format!(r#"Bearer realm="tessera", error="{}""#, code.as_str()),
            Self::BearerRequired => r#"Bearer realm="tessera""#.to_owned(),
        }
    }
}

/// An error answer: an RFC error body plus the status and headers that go with it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: OAuthError,
    pub challenge: Option<Challenge>,
    pub retry_after: Option<u64>,
    pub allow: Option<&'static str>,
}

impl ApiError {
    /// The status RFC 6749 section 5.2 gives each code.
    pub fn oauth(error: OAuthError) -> Self {
        let status = match error.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let challenge = (status == StatusCode::UNAUTHORIZED).then_some(Challenge::Basic);
        Self {
            status,
            error,
            challenge,
            retry_after: None,
            allow: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub fn invalid_request(description: &'static str) -> Self {
        Self::oauth(OAuthError::invalid_request(description))
    }

    pub fn invalid_client(description: &'static str) -> Self {
        Self::oauth(OAuthError::invalid_client(description))
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::oauth(OAuthError::invalid_request(
            "Too many failed attempts; try again later.",
        ))
        .with_status(StatusCode::TOO_MANY_REQUESTS);
        e.challenge = None;
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::invalid_request("This method is not allowed here.")
            .with_status(StatusCode::METHOD_NOT_ALLOWED);
        e.allow = Some(allow);
        e
    }

    /// A server fault: logged with its detail here, shown without it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::oauth(OAuthError {
            code: ErrorCode::ServerError,
            description: None,
        })
    }
}

impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> Self {
        Self::oauth(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        Self::oauth(OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "The server cannot reach its store; try again later.",
        ))
    }
}

/// The headers every JSON answer carries (RFC 6749 section 5.1: tokens must not be cached).
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Serializes `body` as a JSON answer.
pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_response(status, bytes),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.error.code.as_str().into());
        if let Some(d) = &self.error.description {
            body.insert("error_description".into(), d.as_ref().into());
        }
        let mut response = json(self.status, &body);
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge
            && let Ok(v) = HeaderValue::from_str(&challenge.header(self.error.code))
        {
            headers.insert(WWW_AUTHENTICATE, v);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = self.allow {
            headers.insert(ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// What a panicking handler answers: a 500 without detail (the panic is logged).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(format_args!("handler panicked: {detail}")).into_response()
}
