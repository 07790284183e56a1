//! The error vocabulary of RFC 6749 section 5.2, RFC 7009 section 2.2.1 and RFC 6750.
//!
//! An [`OAuthError`] is what a client sees; the web layer maps it to a status code once.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
    AccessDenied,
    UnsupportedResponseType,
    InvalidToken,
    /// RFC 6750: the token is valid but lacks a scope.
    InsufficientScope,
    /// OIDC `prompt=none` errors.
    LoginRequired,
    ConsentRequired,
    /// OIDC Core 3.1.2.6: request objects are not supported.
    RequestNotSupported,
    RequestUriNotSupported,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 8628 section 3.5: the user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 section 3.5: pending, and polled faster than the interval.
    SlowDown,
    /// RFC 8628 section 3.5: the device code expired before it was redeemed.
    ExpiredToken,
    /// RFC 7591 section 3.2.2: a redirect URI of the registration is refused.
    InvalidRedirectUri,
    /// RFC 7591 section 3.2.2: another field of the registration is refused.
    InvalidClientMetadata,
    /// RFC 7591 section 3.2.2: software statements are not accepted here.
    UnapprovedSoftwareStatement,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
        }
    }
}

/// An error as the RFCs define it: a code and an optional human-readable description.
///
/// Descriptions are static ASCII without `"` or `\` (RFC 6749 section 5.2 restricts the
/// characters), and never contain a token, a secret or any other request value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Option<Cow<'static, str>>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: &'static str) -> Self {
        Self {
            code,
            description: Some(Cow::Borrowed(description)),
        }
    }

    pub fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn unauthorized_client(description: &'static str) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    /// An error whose description is built at run time. The caller keeps to the characters
    /// RFC 6749 section 5.2 allows and puts no token or secret in it; text from a request
    /// passes through [`safe_for_description`] first.
    pub fn with_text(code: ErrorCode, description: String) -> Self {
        Self {
            code,
            description: Some(Cow::Owned(description)),
        }
    }
}

/// `text` reduced to what an `error_description` may hold (RFC 6749 section 5.2: printable
/// ASCII without `"` and `\`) and to at most `max_chars` characters, so a value from a
/// request (a field name, a URI) can be named in an error without smuggling anything into the
/// answer. Double quotes become single ones; anything else outside the set becomes `?`.
pub fn safe_for_description(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| match c {
            '"' => '\'',
            ' ' => ' ',
            c if c.is_ascii_graphic() && c != '\\' => c,
            _ => '?',
        })
        .take(max_chars)
        .collect();
    if text.chars().count() > max_chars {
        out.push_str("...");
    }
    out
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {}", self.code.as_str(), d),
            None => f.write_str(self.code.as_str()),
        }
    }
}

impl std::error::Error for OAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_from_request_values_keep_to_the_allowed_characters() {
        assert_eq!(
            safe_for_description("unknown field \"x\"", 64),
            "unknown field 'x'"
        );
        assert_eq!(safe_for_description("a\\b\nc\u{e9}", 64), "a?b?c?");
        assert_eq!(safe_for_description("abcdef", 3), "abc...");
    }
}
