//! OpenID Connect claims: what an ID token, a JWT access token and the userinfo endpoint say
//! about a user (OIDC Core sections 2, 5.1, 5.3 and 5.4; RFC 9068 section 2.2).
//!
//! The claims are built here from records; signing them is the web layer's (it holds the
//! keys), and `at_hash` / `c_hash` arrive already computed, as they depend on the algorithm.

use serde::Serialize;

use crate::UnixTime;
use crate::scope::Scope;

/// What the server knows of a user that a scope can reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserClaims {
    pub user_id: i64,
    pub username: String,
    pub email: String,
}

impl UserClaims {
    /// The subject identifier: the user's stable id, never reassigned (OIDC Core 2: `sub`
    /// must not change and must not be reused).
    pub fn sub(&self) -> String {
        self.user_id.to_string()
    }
}

/// The claims the `profile` and `email` scopes release (OIDC Core 5.4), for userinfo and for
/// ID tokens issued without an access token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScopeClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Tessera does not verify addresses, so it never claims it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl ScopeClaims {
    pub fn of(user: &UserClaims, scope: &Scope) -> Self {
        let mut claims = Self::default();
        if scope.contains("profile") {
            claims.preferred_username = Some(user.username.clone());
            claims.name = Some(user.username.clone());
        }
        if scope.contains("email") && !user.email.is_empty() {
            claims.email = Some(user.email.clone());
            claims.email_verified = Some(false);
        }
        claims
    }
}

/// The userinfo response (OIDC Core 5.3.2): `sub` and the claims of the token's scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(flatten)]
    pub claims: ScopeClaims,
}

impl UserInfo {
    pub fn of(user: &UserClaims, scope: &Scope) -> Self {
        Self {
            sub: user.sub(),
            claims: ScopeClaims::of(user, scope),
        }
    }
}

/// What an ID token is issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenRequest<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub user: &'a UserClaims,
    pub scope: &'a Scope,
    pub auth_time: UnixTime,
    /// Echoed as sent in the authorization request; absent on refresh (OIDC Core 12.2).
    pub nonce: Option<&'a str>,
    pub now: UnixTime,
    pub lifetime: i64,
    /// Computed by the signer: the hash of the access token or code issued alongside.
    pub at_hash: Option<String>,
    pub c_hash: Option<String>,
    /// Whether the scope's claims go into the ID token: only when no access token is issued
    /// to fetch them from userinfo (OIDC Core 5.4, `response_type=id_token`).
    pub with_scope_claims: bool,
}

/// The claims of an ID token (OIDC Core 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The party the token was issued to: with a single audience it equals `aud`, and
    /// relying parties that check it find what they expect.
    pub azp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub c_hash: Option<String>,
    #[serde(flatten)]
    pub claims: ScopeClaims,
}

impl IdTokenClaims {
    pub fn new(r: IdTokenRequest<'_>) -> Self {
        Self {
            iss: r.issuer.to_owned(),
            sub: r.user.sub(),
            aud: r.client_id.to_owned(),
            exp: r.now + r.lifetime,
            iat: r.now,
            auth_time: r.auth_time,
            nonce: r.nonce.map(str::to_owned),
            azp: r.client_id.to_owned(),
            at_hash: r.at_hash,
            c_hash: r.c_hash,
            claims: if r.with_scope_claims {
                ScopeClaims::of(r.user, r.scope)
            } else {
                ScopeClaims::default()
            },
        }
    }
}

/// Whether a grant yields ID tokens: the `openid` scope, a user, and a sign-in time (grants
/// made without a browser sign-in, such as the password grant, have none).
pub fn issues_id_token(scope: &Scope, user_id: Option<i64>, auth_time: Option<UnixTime>) -> bool {
    scope.contains("openid") && user_id.is_some() && auth_time.is_some()
}

/// The claims of an RFC 9068 JWT access token (section 2.2). `jti` is random and recorded by
/// its digest, so the token is revocable and introspectable like an opaque one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub exp: UnixTime,
    /// The resource the token is for: this server's issuer, as no resource indicator is
    /// accepted (RFC 9068 section 3: a default resource).
    pub aud: String,
    /// The user, or the client itself for client credentials (RFC 9068 section 2.2).
    pub sub: String,
    pub client_id: String,
    pub iat: UnixTime,
    pub jti: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserClaims {
        UserClaims {
            user_id: 42,
            username: "alice".into(),
            email: "alice@example.com".into(),
        }
    }

    fn scope(text: &str) -> Scope {
        Scope::parse(text).expect("scope")
    }

    #[test]
    fn scopes_release_only_their_claims() {
        let user = alice();
        let bare = serde_json::to_value(UserInfo::of(&user, &scope("openid"))).expect("json");
        assert_eq!(bare, serde_json::json!({"sub": "42"}));
        let all = serde_json::to_value(UserInfo::of(&user, &scope("openid profile email")))
            .expect("json");
        assert_eq!(all["preferred_username"], "alice");
        assert_eq!(all["email"], "alice@example.com");
        assert_eq!(all["email_verified"], false, "never claimed verified");
        let mut no_email = user.clone();
        no_email.email.clear();
        let v =
            serde_json::to_value(UserInfo::of(&no_email, &scope("openid email"))).expect("json");
        assert!(v.get("email").is_none(), "no empty email claim");
    }

    #[test]
    fn id_token_claims() {
        let user = alice();
        let s = scope("openid email");
        let request = IdTokenRequest {
            issuer: "https://id.example/o",
            client_id: "app",
            user: &user,
            scope: &s,
            auth_time: 900,
            nonce: Some("n-0S6"),
            now: 1000,
            lifetime: 300,
            at_hash: Some("h".into()),
            c_hash: None,
            with_scope_claims: false,
        };
        let v = serde_json::to_value(IdTokenClaims::new(request.clone())).expect("json");
        assert_eq!(v["iss"], "https://id.example/o");
        assert_eq!(
            (v["sub"].as_str(), v["aud"].as_str()),
            (Some("42"), Some("app"))
        );
        assert_eq!(
            (v["iat"].as_i64(), v["exp"].as_i64()),
            (Some(1000), Some(1300))
        );
        assert_eq!(v["auth_time"], 900);
        assert_eq!(v["nonce"], "n-0S6");
        assert_eq!(v["azp"], "app");
        assert_eq!(v["at_hash"], "h");
        assert!(v.get("c_hash").is_none());
        assert!(v.get("email").is_none(), "claims come from userinfo");
        let with = IdTokenClaims::new(IdTokenRequest {
            with_scope_claims: true,
            nonce: None,
            ..request
        });
        let v = serde_json::to_value(with).expect("json");
        assert_eq!(v["email"], "alice@example.com");
        assert!(v.get("nonce").is_none());
    }

    #[test]
    fn only_browser_openid_grants_issue_id_tokens() {
        assert!(issues_id_token(&scope("openid"), Some(1), Some(5)));
        assert!(!issues_id_token(&scope("read"), Some(1), Some(5)));
        assert!(!issues_id_token(&scope("openid"), None, Some(5)));
        assert!(!issues_id_token(&scope("openid"), Some(1), None));
    }
}
