//! Grants and the tokens issued under them.
//!
//! A grant is one authorization: a password or client-credentials request, a code exchange,
//! and every token refreshed from it. Revocation acts on the whole grant (docs/behaviour.md,
//! "Revocation"), so a token is active only while it, and its grant, are live. A grant lives
//! as long as its longest-lived token ([`Issuance::lives_until`]); a refresh extends it to
//! cover the new tokens and never shortens it ([`Rotation`]).

use serde::Serialize;

use crate::UnixTime;
use crate::client::{Client, ClientType, GrantType};
use crate::entropy::Entropy;
use crate::error::OAuthError;
use crate::scope::Scope;
use crate::token::{self, GeneratedToken, TokenDigest, TokenKind};

/// Token lifetimes in seconds, under DOT's setting names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token: i64,
    pub refresh_token: i64,
    pub authorization_code: i64,
    pub id_token: i64,
    /// How long a device code and its user code wait for the user (RFC 8628 section 3.2).
    pub device_code: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            access_token: 3600,
            refresh_token: 30 * 24 * 3600,
            authorization_code: 60,
            id_token: 3600,
            device_code: 600,
        }
    }
}

/// The two kinds of token a grant holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    AccessToken,
    RefreshToken,
}

impl TokenType {
    /// The kind named by a recognised token's prefix, if it is one a grant holds.
    pub fn of_kind(kind: TokenKind) -> Option<Self> {
        match kind {
            TokenKind::AccessToken => Some(Self::AccessToken),
            TokenKind::RefreshToken => Some(Self::RefreshToken),
            _ => None,
        }
    }

    /// The name used by `token_type_hint` (RFC 7009 section 2.1).
    pub fn hint_name(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// A token row to insert: the digest, never the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub digest: TokenDigest,
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A grant to insert together with its first tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    pub client_pk: i64,
    pub user_id: Option<i64>,
    /// How it was authorized: a [`GrantType`] name.
    pub kind: GrantType,
    pub scope: String,
    pub created_at: UnixTime,
    /// Until when the grant can matter: [`Issuance::lives_until`] of its first tokens.
    pub expires_at: UnixTime,
    /// When the user signed in to authorize it (OIDC `auth_time`), for grants made in a
    /// browser; refreshed ID tokens repeat it.
    pub auth_time: Option<UnixTime>,
}

/// A refresh-token rotation to perform once (RFC 6749 section 6): mark `old` used, revoke the
/// grant's access tokens, insert the new pair and extend the grant to cover them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub old: TokenDigest,
    pub now: UnixTime,
    pub access_token: NewToken,
    pub refresh_token: NewToken,
    /// The grant lives at least this long afterwards; it is never shortened, so a used
    /// refresh token issued under a longer lifetime is still recognised when replayed.
    pub grant_expires_at: UnixTime,
}

/// Everything known about one stored token, joined with its grant, client and user: what
/// revocation, introspection and refresh decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenContext {
    pub token_type: TokenType,
    pub digest: TokenDigest,
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// Refresh tokens only: when it was exchanged (rotated) for new tokens.
    pub used_at: Option<UnixTime>,
    pub grant_id: i64,
    pub grant_revoked_at: Option<UnixTime>,
    pub client_pk: i64,
    pub client_id: String,
    pub client_type: ClientType,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    /// The grant's `auth_time`.
    pub auth_time: Option<UnixTime>,
}

/// Where a token stands in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    /// Revoked itself or through its grant.
    Revoked,
    /// A refresh token already exchanged: presenting it again is reuse.
    Used,
}

impl TokenContext {
    pub fn state(&self, now: UnixTime) -> TokenState {
        if self.revoked_at.is_some() || self.grant_revoked_at.is_some() {
            TokenState::Revoked
        } else if self.used_at.is_some() {
            TokenState::Used
        } else if now >= self.expires_at {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }

    pub fn is_active(&self, now: UnixTime) -> bool {
        self.state(now) == TokenState::Active
    }
}

/// The successful token response of RFC 6749 section 5.1.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// OIDC Core 3.1.3.3: with the `openid` scope, signed by the web layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Freshly minted tokens: rows for the store, the response for the client.
#[derive(Debug, Clone)]
pub struct Issuance {
    pub access_token: NewToken,
    pub refresh_token: Option<NewToken>,
    pub response: TokenResponse,
}

impl Issuance {
    /// A grant lives as long as the longest-lived of its tokens: after that, nothing of it
    /// can be used or replayed, and cleanup may delete it.
    pub fn lives_until(&self) -> UnixTime {
        self.refresh_token
            .as_ref()
            .map_or(self.access_token.expires_at, |r| {
                r.expires_at.max(self.access_token.expires_at)
            })
    }

    /// The rotation that stores these tokens in place of the refresh token `old`; `None`
    /// when no refresh token was minted.
    pub fn rotation(&self, old: TokenDigest, now: UnixTime) -> Option<Rotation> {
        Some(Rotation {
            old,
            now,
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone()?,
            grant_expires_at: self.lives_until(),
        })
    }
}

/// Mints an access token, and a refresh token when `refresh_scope` is given. The refresh
/// token keeps the scope the grant was given (RFC 6749 section 6), while the access token may
/// be narrower.
pub fn mint(
    entropy: &dyn Entropy,
    now: UnixTime,
    lifetimes: &Lifetimes,
    access_scope: &Scope,
    refresh_scope: Option<&Scope>,
) -> Issuance {
    let at: GeneratedToken = token::generate(TokenKind::AccessToken, entropy);
    let rt = refresh_scope.map(|s| (token::generate(TokenKind::RefreshToken, entropy), s));
    let scope = access_scope.to_string();
    Issuance {
        access_token: NewToken {
            digest: at.digest,
            scope: scope.clone(),
            issued_at: now,
            expires_at: now + lifetimes.access_token,
        },
        refresh_token: rt.as_ref().map(|(t, s)| NewToken {
            digest: t.digest,
            scope: s.to_string(),
            issued_at: now,
            expires_at: now + lifetimes.refresh_token,
        }),
        response: TokenResponse {
            access_token: at.text,
            token_type: "Bearer",
            expires_in: lifetimes.access_token,
            refresh_token: rt.map(|(t, _)| t.text),
            scope,
            id_token: None,
        },
    }
}

/// Whether `client` may use `grant` at the token endpoint. Client credentials are for
/// confidential clients only (RFC 6749 section 4.4).
pub fn check_grant_allowed(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    // A hybrid application redeems the codes it receives like a code-flow one.
    let hybrid_code =
        grant == GrantType::AuthorizationCode && client.has_grant_type(GrantType::OpenidHybrid);
    if !client.has_grant_type(grant) && !hybrid_code {
        return Err(OAuthError::unauthorized_client(
            "The client is not authorized to use this grant type.",
        ));
    }
    if grant == GrantType::ClientCredentials && client.client_type != ClientType::Confidential {
        return Err(OAuthError::unauthorized_client(
            "Only confidential clients may use the client_credentials grant.",
        ));
    }
    Ok(())
}

/// What to do with a refresh request, decided on the token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Rotate: mark the old refresh token used, revoke the grant's access tokens, issue these
    /// scopes (access, refresh).
    Rotate {
        grant_id: i64,
        access_scope: Scope,
        refresh_scope: Scope,
    },
    /// The refresh token was already used: someone replayed it. Revoke the whole grant
    /// (reuse detection), then answer `invalid_grant`.
    RevokeGrant { grant_id: i64 },
    /// Refuse with this error; nothing changes.
    Refuse(OAuthError),
}

/// Decides a `refresh_token` grant request (RFC 6749 section 6) for an authenticated client.
pub fn decide_refresh(
    found: Option<&TokenContext>,
    client: &Client,
    requested_scope: Option<&str>,
    now: UnixTime,
) -> RefreshDecision {
    let invalid = |d| RefreshDecision::Refuse(OAuthError::invalid_grant(d));
    let Some(ctx) = found else {
        return invalid("The refresh token is invalid.");
    };
    if ctx.token_type != TokenType::RefreshToken {
        return invalid("The refresh token is invalid.");
    }
    // A token bound to another client is not theirs to use or to burn (RFC 6749 section 10.4).
    if ctx.client_pk != client.id {
        return invalid("The refresh token was issued to another client.");
    }
    match ctx.state(now) {
        TokenState::Active => {}
        TokenState::Used => {
            return RefreshDecision::RevokeGrant {
                grant_id: ctx.grant_id,
            };
        }
        TokenState::Revoked => return invalid("The refresh token has been revoked."),
        TokenState::Expired => return invalid("The refresh token has expired."),
    }
    let refresh_scope = match Scope::parse(&ctx.scope) {
        Ok(s) => s,
        Err(_) => return invalid("The refresh token is invalid."),
    };
    let access_scope = match requested_scope.map(Scope::parse) {
        None => refresh_scope.clone(),
        Some(Err(e)) => return RefreshDecision::Refuse(e),
        Some(Ok(s)) if s.is_empty() => refresh_scope.clone(),
        Some(Ok(s)) if s.is_subset(&refresh_scope) => s,
        Some(Ok(_)) => {
            return RefreshDecision::Refuse(OAuthError::invalid_scope(
                "The requested scope exceeds the scope originally granted.",
            ));
        }
    };
    RefreshDecision::Rotate {
        grant_id: ctx.grant_id,
        access_scope,
        refresh_scope,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::client::SecretHash;
    use crate::entropy::SeededEntropy;
    use crate::error::ErrorCode;

    pub(crate) fn client(id: i64) -> Client {
        Client {
            id,
            client_id: format!("client{id}"),
            name: "App".into(),
            client_type: ClientType::Confidential,
            grant_types: vec![GrantType::Password, GrantType::ClientCredentials],
            secret: SecretHash::sha256_of("s"),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            user_id: None,
            skip_authorization: false,
            algorithm: None,
            access_token_format: crate::client::AccessTokenFormat::Opaque,
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: true,
            created_at: 0,
        }
    }

    pub(crate) fn refresh_ctx(client_pk: i64) -> TokenContext {
        TokenContext {
            token_type: TokenType::RefreshToken,
            digest: TokenDigest([7; 32]),
            scope: "read write".into(),
            issued_at: 100,
            expires_at: 1000,
            revoked_at: None,
            used_at: None,
            grant_id: 5,
            grant_revoked_at: None,
            client_pk,
            client_id: format!("client{client_pk}"),
            client_type: ClientType::Confidential,
            user_id: Some(3),
            username: Some("alice".into()),
            auth_time: None,
        }
    }

    #[test]
    fn token_states() {
        let mut ctx = refresh_ctx(1);
        assert_eq!(ctx.state(500), TokenState::Active);
        assert_eq!(ctx.state(1000), TokenState::Expired, "expiry is exclusive");
        ctx.used_at = Some(200);
        assert_eq!(ctx.state(500), TokenState::Used);
        ctx.grant_revoked_at = Some(300);
        assert_eq!(
            ctx.state(500),
            TokenState::Revoked,
            "revocation wins over use"
        );
    }

    #[test]
    fn a_grant_lives_as_long_as_its_longest_token() {
        let scope = Scope::parse("read").expect("scope");
        let lifetimes = Lifetimes {
            access_token: 3600,
            refresh_token: 60,
            ..Lifetimes::default()
        };
        let with_refresh = mint(
            &SeededEntropy::new(4),
            100,
            &lifetimes,
            &scope,
            Some(&scope),
        );
        assert_eq!(
            with_refresh.lives_until(),
            100 + 3600,
            "the access token outlives"
        );
        let lifetimes = Lifetimes::default();
        let with_refresh = mint(
            &SeededEntropy::new(5),
            100,
            &lifetimes,
            &scope,
            Some(&scope),
        );
        assert_eq!(with_refresh.lives_until(), 100 + lifetimes.refresh_token);
        let alone = mint(&SeededEntropy::new(6), 100, &lifetimes, &scope, None);
        assert_eq!(alone.lives_until(), 100 + lifetimes.access_token);

        let old = TokenDigest([9; 32]);
        let rotation = with_refresh
            .rotation(old, 100)
            .expect("has a refresh token");
        assert_eq!(rotation.old, old);
        assert_eq!(rotation.grant_expires_at, with_refresh.lives_until());
        assert_eq!(Some(rotation.refresh_token), with_refresh.refresh_token);
        assert!(alone.rotation(old, 100).is_none(), "nothing to rotate into");
    }

    #[test]
    fn mint_issues_distinct_prefixed_tokens() {
        let lifetimes = Lifetimes::default();
        let scope = Scope::parse("read write").expect("scope");
        let narrow = Scope::parse("read").expect("scope");
        let out = mint(
            &SeededEntropy::new(1),
            1000,
            &lifetimes,
            &narrow,
            Some(&scope),
        );
        let rt = out.refresh_token.expect("refresh token");
        assert_eq!(out.access_token.expires_at, 1000 + 3600);
        assert_eq!(rt.expires_at, 1000 + 30 * 24 * 3600);
        assert_eq!(out.access_token.scope, "read");
        assert_eq!(rt.scope, "read write");
        assert_eq!(out.response.scope, "read");
        let rt_text = out.response.refresh_token.clone().expect("refresh text");
        assert!(out.response.access_token.starts_with("tsat_"));
        assert!(rt_text.starts_with("tsrt_"));
        assert_eq!(TokenDigest::of(&rt_text), rt.digest);
        let json = serde_json::to_value(&out.response).expect("json");
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 3600);

        let no_refresh = mint(&SeededEntropy::new(2), 0, &lifetimes, &scope, None);
        let json = serde_json::to_value(&no_refresh.response).expect("json");
        assert!(json.get("refresh_token").is_none());
    }

    #[test]
    fn grant_permissions() {
        let mut c = client(1);
        assert!(check_grant_allowed(&c, GrantType::Password).is_ok());
        assert_eq!(
            check_grant_allowed(&c, GrantType::AuthorizationCode)
                .expect_err("not registered")
                .code,
            ErrorCode::UnauthorizedClient
        );
        c.client_type = ClientType::Public;
        assert_eq!(
            check_grant_allowed(&c, GrantType::ClientCredentials)
                .expect_err("public")
                .code,
            ErrorCode::UnauthorizedClient
        );
    }

    #[test]
    fn refresh_rotates_an_active_token() {
        let ctx = refresh_ctx(1);
        assert_eq!(
            decide_refresh(Some(&ctx), &client(1), Some("read"), 500),
            RefreshDecision::Rotate {
                grant_id: 5,
                access_scope: Scope::parse("read").expect("scope"),
                refresh_scope: Scope::parse("read write").expect("scope"),
            }
        );
    }

    #[test]
    fn refresh_refusals() {
        let ctx = refresh_ctx(1);
        let code = |d: RefreshDecision| match d {
            RefreshDecision::Refuse(e) => e.code,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            code(decide_refresh(None, &client(1), None, 500)),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            code(decide_refresh(Some(&ctx), &client(2), None, 500)),
            ErrorCode::InvalidGrant,
            "another client's refresh token"
        );
        assert_eq!(
            code(decide_refresh(Some(&ctx), &client(1), None, 1000)),
            ErrorCode::InvalidGrant,
            "expired"
        );
        assert_eq!(
            code(decide_refresh(
                Some(&ctx),
                &client(1),
                Some("read write introspection"),
                500
            )),
            ErrorCode::InvalidScope
        );
        let mut access = ctx.clone();
        access.token_type = TokenType::AccessToken;
        assert_eq!(
            code(decide_refresh(Some(&access), &client(1), None, 500)),
            ErrorCode::InvalidGrant,
            "an access token is not a refresh token"
        );
        let mut revoked = ctx.clone();
        revoked.grant_revoked_at = Some(10);
        assert_eq!(
            code(decide_refresh(Some(&revoked), &client(1), None, 500)),
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn reused_refresh_token_revokes_the_grant() {
        let mut ctx = refresh_ctx(1);
        ctx.used_at = Some(200);
        assert_eq!(
            decide_refresh(Some(&ctx), &client(1), None, 500),
            RefreshDecision::RevokeGrant { grant_id: 5 }
        );
        assert!(
            matches!(
                decide_refresh(Some(&ctx), &client(2), None, 500),
                RefreshDecision::Refuse(_)
            ),
            "another client cannot burn someone else's grant"
        );
    }
}
