//! The strict form-POST extractor shared by the token, revocation and introspection
//! endpoints. Its rejection is already the RFC's error answer.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ORIGIN};
use tessera_core::client::{
    AuthorizationHeader, CredentialError, PresentedCredentials, parse_authorization,
    presented_credentials,
};
use tessera_core::form::{self, Form};

use crate::error::ApiError;
use crate::state::AppState;

/// A form POST as the OAuth endpoints accept it.
#[derive(Debug)]
pub struct OAuthPost {
    pub form: Form,
    /// The parsed `Authorization` header; its parse error is kept so that only endpoints that
    /// authenticate with it fail on it.
    pub authorization: Result<Option<AuthorizationHeader>, CredentialError>,
    pub origin: Option<String>,
    pub peer: Option<IpAddr>,
    /// Where client authentication notes the client for the request's log record.
    pub client_note: Option<crate::request_log::ClientNote>,
}

impl OAuthPost {
    /// The client credentials the request presents (RFC 6749 section 2.3.1).
    pub fn credentials(&self) -> Result<Option<PresentedCredentials>, CredentialError> {
        let header = self.authorization.as_ref().map_err(Clone::clone)?;
        presented_credentials(header.as_ref(), &self.form)
    }

    /// The client id the request names, if any, whether or not it authenticates.
    pub fn claimed_client_id(&self) -> Option<&str> {
        match &self.authorization {
            Ok(Some(AuthorizationHeader::Basic { client_id, .. })) => Some(client_id),
            _ => self.form.get("client_id"),
        }
    }
}

fn is_form_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return false;
    }
    // A charset other than UTF-8 would change how the body decodes: refuse it.
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

impl FromRequest<AppState> for OAuthPost {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if req.uri().query().is_some_and(|q| !q.is_empty()) {
            return Err(ApiError::invalid_request(
                "Parameters must be sent in the request body, not in the URL.",
            ));
        }
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_form_content_type(content_type) {
            return Err(ApiError::invalid_request(
                "The request body must be application/x-www-form-urlencoded.",
            ));
        }
        let authorization = match req.headers().get_all(AUTHORIZATION).iter().count() {
            0 => Ok(None),
            1 => req
                .headers()
                .get(AUTHORIZATION)
                .map(|v| parse_authorization(v.as_bytes()))
                .transpose(),
            _ => Err(CredentialError::BadHeader),
        };
        let origin = req
            .headers()
            .get(ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let peer = crate::address::client_ip(
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            req.headers(),
            &state.settings.trusted_proxies,
        );
        let client_note = req
            .extensions()
            .get::<crate::request_log::ClientNote>()
            .cloned();
        let limit = state.settings.max_body_bytes;
        let body = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| {
                ApiError::invalid_request("The request body is too large or was cut short.")
                    .with_status(StatusCode::PAYLOAD_TOO_LARGE)
            })?;
        let form = form::parse(&body).map_err(|e| ApiError::invalid_request(e.description()))?;
        Ok(Self {
            form,
            authorization,
            origin,
            peer,
            client_note,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_form_content_type("application/x-www-form-urlencoded"));
        assert!(is_form_content_type(
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
        ));
        assert!(!is_form_content_type("application/json"));
        assert!(!is_form_content_type("multipart/form-data; boundary=x"));
        assert!(!is_form_content_type(""));
        assert!(!is_form_content_type(
            "application/x-www-form-urlencoded; charset=latin1"
        ));
    }
}
