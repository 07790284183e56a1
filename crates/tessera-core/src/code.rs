//! Authorization codes (RFC 6749 sections 4.1.2 and 4.1.3): single use, short-lived, bound to
//! the client, the redirect URI and the PKCE challenge.

use crate::UnixTime;
use crate::client::Client;
use crate::error::OAuthError;
use crate::pkce::{self, Challenge};
use crate::scope::Scope;
use crate::token::TokenDigest;

/// A code to store: the digest, never the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCode {
    pub digest: TokenDigest,
    pub client_pk: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    pub redirect_uri_explicit: bool,
    pub scope: String,
    pub pkce: Option<Challenge>,
    pub nonce: Option<String>,
    /// When the user signed in (OIDC `auth_time`), carried into the grant and its ID tokens.
    pub auth_time: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A stored code, as found at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub code: NewCode,
    pub used_at: Option<UnixTime>,
    /// The grant the code was exchanged for, once it was.
    pub grant_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeDecision {
    /// Exchange it: a new grant for this user and scope.
    Redeem {
        user_id: i64,
        scope: Scope,
        nonce: Option<String>,
        auth_time: Option<UnixTime>,
    },
    /// The code was already exchanged: revoke what it produced (RFC 6749 section 4.1.2
    /// SHOULD), then answer `invalid_grant`.
    RevokeGrant {
        grant_id: i64,
    },
    Refuse(OAuthError),
}

/// Decides an `authorization_code` token request for an authenticated client.
pub fn decide_code(
    found: Option<&CodeRecord>,
    client: &Client,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    now: UnixTime,
) -> CodeDecision {
    let invalid = |d| CodeDecision::Refuse(OAuthError::invalid_grant(d));
    let Some(record) = found else {
        return invalid("The authorization code is invalid.");
    };
    let code = &record.code;
    if code.client_pk != client.id {
        return invalid("The authorization code was issued to another client.");
    }
    if record.used_at.is_some() {
        return match record.grant_id {
            Some(grant_id) => CodeDecision::RevokeGrant { grant_id },
            None => invalid("The authorization code was already used."),
        };
    }
    if now >= code.expires_at {
        return invalid("The authorization code has expired.");
    }
    match redirect_uri {
        Some(uri) if uri != code.redirect_uri => {
            return invalid("The redirect_uri does not match the authorization request.");
        }
        None if code.redirect_uri_explicit => {
            return CodeDecision::Refuse(OAuthError::invalid_request(
                "The redirect_uri parameter is required, as in the authorization request.",
            ));
        }
        _ => {}
    }
    match (&code.pkce, code_verifier) {
        (Some(_), None) => {
            return CodeDecision::Refuse(OAuthError::invalid_request(
                "The code_verifier parameter is missing.",
            ));
        }
        (Some(challenge), Some(verifier)) if !pkce::verify(challenge, verifier) => {
            return invalid("The code_verifier does not match the code_challenge.");
        }
        (None, Some(_)) => {
            return invalid("A code_verifier was sent for a code issued without PKCE.");
        }
        _ => {}
    }
    match Scope::parse(&code.scope) {
        Ok(scope) => CodeDecision::Redeem {
            user_id: code.user_id,
            scope,
            nonce: code.nonce.clone(),
            auth_time: code.auth_time,
        },
        Err(_) => invalid("The authorization code is invalid."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::grant::tests::client;
    use crate::pkce::Method;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn record() -> CodeRecord {
        CodeRecord {
            code: NewCode {
                digest: TokenDigest([1; 32]),
                client_pk: 1,
                user_id: 7,
                redirect_uri: "https://app.example/cb".into(),
                redirect_uri_explicit: true,
                scope: "read".into(),
                pkce: Some(Challenge {
                    challenge: CHALLENGE.into(),
                    method: Method::S256,
                }),
                nonce: None,
                auth_time: Some(0),
                created_at: 0,
                expires_at: 60,
            },
            used_at: None,
            grant_id: None,
        }
    }

    fn code_of(d: CodeDecision) -> ErrorCode {
        match d {
            CodeDecision::Refuse(e) => e.code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    const URI: Option<&str> = Some("https://app.example/cb");

    #[test]
    fn redeems_a_good_code() {
        assert_eq!(
            decide_code(Some(&record()), &client(1), URI, Some(VERIFIER), 10),
            CodeDecision::Redeem {
                user_id: 7,
                scope: Scope::parse("read").expect("scope"),
                nonce: None,
                auth_time: Some(0),
            }
        );
    }

    #[test]
    fn refusals() {
        let r = record();
        let c = client(1);
        assert_eq!(
            code_of(decide_code(None, &c, URI, Some(VERIFIER), 10)),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            code_of(decide_code(Some(&r), &client(2), URI, Some(VERIFIER), 10)),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            code_of(decide_code(Some(&r), &c, URI, Some(VERIFIER), 60)),
            ErrorCode::InvalidGrant,
            "expired"
        );
        assert_eq!(
            code_of(decide_code(
                Some(&r),
                &c,
                Some("https://evil/cb"),
                Some(VERIFIER),
                10
            )),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            code_of(decide_code(Some(&r), &c, None, Some(VERIFIER), 10)),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code_of(decide_code(Some(&r), &c, URI, None, 10)),
            ErrorCode::InvalidRequest
        );
        let wrong = VERIFIER.replace('d', "e");
        assert_eq!(
            code_of(decide_code(Some(&r), &c, URI, Some(&wrong), 10)),
            ErrorCode::InvalidGrant
        );
        let mut no_pkce = record();
        no_pkce.code.pkce = None;
        no_pkce.code.redirect_uri_explicit = false;
        assert!(matches!(
            decide_code(Some(&no_pkce), &c, None, None, 10),
            CodeDecision::Redeem { .. }
        ));
        assert_eq!(
            code_of(decide_code(Some(&no_pkce), &c, None, Some(VERIFIER), 10)),
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn replay_revokes_what_the_code_produced() {
        let mut r = record();
        r.used_at = Some(5);
        r.grant_id = Some(42);
        assert_eq!(
            decide_code(Some(&r), &client(1), URI, Some(VERIFIER), 10),
            CodeDecision::RevokeGrant { grant_id: 42 }
        );
        assert_eq!(
            code_of(decide_code(Some(&r), &client(2), URI, Some(VERIFIER), 10)),
            ErrorCode::InvalidGrant,
            "another client's replay revokes nothing"
        );
    }
}
