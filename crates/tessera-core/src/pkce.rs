//! Proof Key for Code Exchange (RFC 7636).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::OAuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    S256,
    Plain,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "S256" => Some(Self::S256),
            "plain" => Some(Self::Plain),
            _ => None,
        }
    }
}

/// 43 to 128 characters from the unreserved set (RFC 7636 sections 4.1 and 4.2).
fn is_pkce_string(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A code challenge accepted at the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub challenge: String,
    pub method: Method,
}

/// Which clients must use PKCE and whether `plain` is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PkcePolicy {
    pub allow_plain: bool,
}

impl PkcePolicy {
    /// Validates the authorization request's PKCE parameters. Public clients must send a
    /// challenge; a missing method means `plain` (RFC 7636 section 4.3), which is refused
    /// unless configured.
    pub fn check(
        &self,
        public_client: bool,
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<Challenge>, OAuthError> {
        let Some(challenge) = challenge else {
            if method.is_some() {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method was sent without a code_challenge.",
                ));
            }
            if public_client {
                return Err(OAuthError::invalid_request(
                    "Public clients must use PKCE: code_challenge is required.",
                ));
            }
            return Ok(None);
        };
        let method = match method.map(Method::parse) {
            None => Method::Plain,
            Some(Some(m)) => m,
            Some(None) => {
                return Err(OAuthError::invalid_request(
                    "The code_challenge_method is not supported; use S256.",
                ));
            }
        };
        if method == Method::Plain && !self.allow_plain {
            return Err(OAuthError::invalid_request(
                "The plain PKCE method is not allowed; use S256.",
            ));
        }
        if !is_pkce_string(challenge) {
            return Err(OAuthError::invalid_request(
                "The code_challenge is malformed.",
            ));
        }
        Ok(Some(Challenge {
            challenge: challenge.to_owned(),
            method,
        }))
    }
}

/// Whether `verifier` answers the stored challenge (RFC 7636 section 4.6).
pub fn verify(challenge: &Challenge, verifier: &str) -> bool {
    if !is_pkce_string(verifier) {
        return false;
    }
    let computed = match challenge.method {
        Method::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        Method::Plain => verifier.to_owned(),
    };
    computed.len() == challenge.challenge.len()
        && bool::from(computed.as_bytes().ct_eq(challenge.challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b() {
        let c = Challenge {
            challenge: CHALLENGE.into(),
            method: Method::S256,
        };
        assert!(verify(&c, VERIFIER));
        assert!(!verify(&c, &VERIFIER.replace('d', "e")));
        assert!(!verify(&c, "short"));
    }

    #[test]
    fn plain_compares_directly() {
        let c = Challenge {
            challenge: VERIFIER.into(),
            method: Method::Plain,
        };
        assert!(verify(&c, VERIFIER));
        assert!(!verify(&c, CHALLENGE));
    }

    #[test]
    fn policy() {
        let strict = PkcePolicy { allow_plain: false };
        let code = |r: Result<Option<Challenge>, OAuthError>| r.map_err(|e| e.code);
        assert_eq!(
            code(strict.check(true, Some(CHALLENGE), Some("S256"))),
            Ok(Some(Challenge {
                challenge: CHALLENGE.into(),
                method: Method::S256
            }))
        );
        assert_eq!(code(strict.check(false, None, None)), Ok(None));
        assert_eq!(
            code(strict.check(true, None, None)),
            Err(ErrorCode::InvalidRequest),
            "public clients need PKCE"
        );
        assert_eq!(
            code(strict.check(false, Some(CHALLENGE), None)),
            Err(ErrorCode::InvalidRequest),
            "no method means plain, refused"
        );
        assert_eq!(
            code(strict.check(false, Some(CHALLENGE), Some("S512"))),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            code(strict.check(false, Some("tooshort"), Some("S256"))),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            code(strict.check(false, None, Some("S256"))),
            Err(ErrorCode::InvalidRequest)
        );
        let lenient = PkcePolicy { allow_plain: true };
        assert!(lenient.check(true, Some(VERIFIER), None).is_ok());
    }
}
