//! RFC 7662 introspection responses.

use serde::Serialize;

use crate::UnixTime;
use crate::client::{Client, ClientType};
use crate::grant::{TokenContext, TokenType};

/// The scope that lets a bearer access token call the introspection endpoint. Only
/// applications an operator allows may be granted it.
pub const INTROSPECTION_SCOPE: &str = "introspection";

/// Who asks to introspect (RFC 7662 section 2.1: the endpoint requires authorization).
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A bearer access token, as found in the store (`None`: unknown).
    Bearer(Option<&'a TokenContext>),
    /// An authenticated client.
    Client(&'a Client),
}

/// Why a caller may not introspect; the web layer answers 401 with the matching challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerRefused {
    /// Not a live access token with the introspection scope.
    Bearer,
    /// A public client: its `client_id` alone proves nothing.
    PublicClient,
}

/// Whether `caller` may introspect: a confidential client (as DOT's resource servers are),
/// or a live access token carrying [`INTROSPECTION_SCOPE`]. Nobody else learns anything.
pub fn authorize_caller(caller: Caller<'_>, now: UnixTime) -> Result<(), CallerRefused> {
    match caller {
        Caller::Bearer(Some(ctx))
            if ctx.token_type == TokenType::AccessToken
                && ctx.is_active(now)
                && ctx.scope.split(' ').any(|s| s == INTROSPECTION_SCOPE) =>
        {
            Ok(())
        }
        Caller::Bearer(_) => Err(CallerRefused::Bearer),
        Caller::Client(c) if c.client_type == ClientType::Confidential => Ok(()),
        Caller::Client(_) => Err(CallerRefused::PublicClient),
    }
}

/// An authorized caller, and what it may learn (RFC 7662 section 4: the server decides which
/// tokens a caller may see). An operator's resource server sees every token, as DOT's do; an
/// application a user registered sees only the tokens issued to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    /// The calling client, or the client of the calling bearer token.
    pub client_pk: i64,
    pub sees_all: bool,
}

impl Audience {
    pub fn of(client: &Client) -> Self {
        Self {
            client_pk: client.id,
            sees_all: client.introspect_any,
        }
    }
}

/// The answer for `audience`: a token it may not see is inactive, exactly like an unknown one.
pub fn introspect_for(
    found: Option<&TokenContext>,
    audience: Audience,
    now: UnixTime,
    issuer: &str,
) -> Introspection {
    let visible = found.filter(|c| audience.sees_all || c.client_pk == audience.client_pk);
    introspect(visible, now, issuer)
}

/// The introspection response body. Inactive tokens are exactly `{"active": false}`
/// (section 2.2: nothing else may reveal why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ActiveClaims>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveClaims {
    pub scope: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The user's stable identifier, or the client id for a client's own token.
    pub sub: String,
    /// `Bearer` for access tokens; `refresh_token` for refresh tokens, which are not
    /// bearer credentials at a resource server.
    pub token_type: &'static str,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub iss: String,
}

impl Introspection {
    pub fn inactive() -> Self {
        Self {
            active: false,
            claims: None,
        }
    }
}

pub fn introspect(found: Option<&TokenContext>, now: UnixTime, issuer: &str) -> Introspection {
    let Some(ctx) = found.filter(|c| c.is_active(now)) else {
        return Introspection::inactive();
    };
    Introspection {
        active: true,
        claims: Some(ActiveClaims {
            scope: ctx.scope.clone(),
            client_id: ctx.client_id.clone(),
            username: ctx.username.clone(),
            sub: ctx
                .user_id
                .map_or_else(|| ctx.client_id.clone(), |id| id.to_string()),
            token_type: match ctx.token_type {
                TokenType::AccessToken => "Bearer",
                TokenType::RefreshToken => "refresh_token",
            },
            exp: ctx.expires_at,
            iat: ctx.issued_at,
            iss: issuer.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::tests::{client, refresh_ctx};

    #[test]
    fn only_confidential_clients_and_scoped_live_access_tokens_may_introspect() {
        let confidential = client(1);
        assert_eq!(authorize_caller(Caller::Client(&confidential), 0), Ok(()));
        let mut public = client(2);
        public.client_type = ClientType::Public;
        assert_eq!(
            authorize_caller(Caller::Client(&public), 0),
            Err(CallerRefused::PublicClient)
        );

        let mut bearer = refresh_ctx(1);
        bearer.token_type = TokenType::AccessToken;
        bearer.scope = "read introspection".into();
        assert_eq!(authorize_caller(Caller::Bearer(Some(&bearer)), 500), Ok(()));
        let refused = Err(CallerRefused::Bearer);
        assert_eq!(
            authorize_caller(Caller::Bearer(None), 500),
            refused,
            "unknown"
        );
        assert_eq!(
            authorize_caller(Caller::Bearer(Some(&bearer)), 1000),
            refused,
            "expired"
        );
        let mut scoped_out = bearer.clone();
        scoped_out.scope = "read introspectionx".into();
        assert_eq!(
            authorize_caller(Caller::Bearer(Some(&scoped_out)), 500),
            refused
        );
        let mut refresh = bearer.clone();
        refresh.token_type = TokenType::RefreshToken;
        assert_eq!(
            authorize_caller(Caller::Bearer(Some(&refresh)), 500),
            refused,
            "a refresh token is not a bearer credential"
        );
        let mut revoked = bearer;
        revoked.grant_revoked_at = Some(10);
        assert_eq!(
            authorize_caller(Caller::Bearer(Some(&revoked)), 500),
            refused
        );
    }

    #[test]
    fn inactive_is_exactly_active_false() {
        let json = serde_json::to_string(&introspect(None, 0, "http://x/o")).expect("json");
        assert_eq!(json, r#"{"active":false}"#);
        let mut revoked = refresh_ctx(1);
        revoked.grant_revoked_at = Some(1);
        let json = serde_json::to_string(&introspect(Some(&revoked), 500, "i")).expect("json");
        assert_eq!(json, r#"{"active":false}"#);
        let expired = refresh_ctx(1);
        let json = serde_json::to_string(&introspect(Some(&expired), 1000, "i")).expect("json");
        assert_eq!(json, r#"{"active":false}"#);
    }

    #[test]
    fn active_has_every_claim() {
        let mut ctx = refresh_ctx(1);
        ctx.token_type = TokenType::AccessToken;
        let v = serde_json::to_value(introspect(Some(&ctx), 500, "http://127.0.0.1:8000/o"))
            .expect("json");
        assert_eq!(v["active"], true);
        assert_eq!(v["scope"], "read write");
        assert_eq!(v["client_id"], "client1");
        assert_eq!(v["username"], "alice");
        assert_eq!(v["sub"], "3");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["exp"], 1000);
        assert_eq!(v["iat"], 100);
        assert_eq!(v["iss"], "http://127.0.0.1:8000/o");

        ctx.user_id = None;
        ctx.username = None;
        let v = serde_json::to_value(introspect(Some(&ctx), 500, "i")).expect("json");
        assert_eq!(
            v["sub"], "client1",
            "a client's own token has the client as subject"
        );
        assert!(v.get("username").is_none());
    }
}
