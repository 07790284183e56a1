//! Signed tokens: ID tokens (OIDC Core 2) and RFC 9068 JWT access tokens, with the keys of
//! the [`KeyRing`](crate::keyring::KeyRing) and the algorithm each application chose.
//!
//! A JWT access token is still a row of the store: the digest of its `jti` takes the place of
//! the opaque token's digest, so revocation, introspection and userinfo treat it like any
//! other token, on every node, at once.

use tessera_core::UnixTime;
use tessera_core::client::{AccessTokenFormat, Client};
use tessera_core::entropy::alphanumeric;
use tessera_core::grant::{Issuance, TokenContext, TokenType};
use tessera_core::oidc::{AccessTokenClaims, IdTokenClaims, IdTokenRequest, UserClaims};
use tessera_core::scope::Scope;
use tessera_core::token::TokenDigest;
use tessera_jose::{Algorithm, jws, token_hash};
use tessera_store::StoreResult;

use crate::error::ApiError;
use crate::state::AppState;

/// The JOSE `typ` of an RFC 9068 access token; ID tokens say `JWT`, so one is never taken
/// for the other.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
const ID_TOKEN_TYP: &str = "JWT";

/// The algorithm an application's tokens are signed with: its choice, or RS256.
pub fn algorithm_of(client: &Client) -> Algorithm {
    client
        .algorithm
        .as_deref()
        .and_then(Algorithm::parse)
        .filter(|a| *a != Algorithm::HS256)
        .unwrap_or(Algorithm::RS256)
}

/// What an ID token is about, beside the client and the user.
pub struct IdTokenFor<'a> {
    pub scope: &'a Scope,
    pub auth_time: UnixTime,
    pub nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The code issued with it (hybrid flow), for `c_hash`.
    pub code: Option<&'a str>,
    pub with_scope_claims: bool,
}

/// Signs an ID token for `user` and `client`.
pub async fn id_token(
    state: &AppState,
    client: &Client,
    user: &UserClaims,
    what: IdTokenFor<'_>,
) -> Result<String, ApiError> {
    let now = state.now();
    let alg = algorithm_of(client);
    let key = state.keys.signer(alg, now).await?;
    let claims = IdTokenClaims::new(IdTokenRequest {
        issuer: &state.settings.issuer,
        client_id: &client.client_id,
        user,
        scope: what.scope,
        auth_time: what.auth_time,
        nonce: what.nonce,
        now,
        lifetime: state.settings.lifetimes.id_token,
        at_hash: what.access_token.map(|t| token_hash(alg, t)),
        c_hash: what.code.map(|c| token_hash(alg, c)),
        with_scope_claims: what.with_scope_claims,
    });
    sign(&key, ID_TOKEN_TYP, &claims)
}

fn sign<T: serde::Serialize>(
    key: &tessera_jose::SigningKey,
    typ: &str,
    claims: &T,
) -> Result<String, ApiError> {
    let value = serde_json::to_value(claims).map_err(ApiError::internal)?;
    key.sign(typ, &value).map_err(ApiError::internal)
}

/// For an application that asked for JWT access tokens, replaces the opaque access token of
/// `issuance` (not yet stored) by a signed JWT, recorded by the digest of its `jti`. Other
/// applications' issuances are left as they are.
pub async fn format_access_token(
    state: &AppState,
    client: &Client,
    issuance: &mut Issuance,
    user_id: Option<i64>,
    auth_time: Option<UnixTime>,
) -> Result<(), ApiError> {
    if client.access_token_format != AccessTokenFormat::Jwt {
        return Ok(());
    }
    let now = state.now();
    let jti = alphanumeric(&*state.entropy, 32);
    let at = &mut issuance.access_token;
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
        exp: at.expires_at,
        aud: state.settings.issuer.clone(),
        sub: user_id.map_or_else(|| client.client_id.clone(), |u| u.to_string()),
        client_id: client.client_id.clone(),
        iat: now,
        jti: jti.clone(),
        scope: at.scope.clone(),
        auth_time,
    };
    let key = state.keys.signer(algorithm_of(client), now).await?;
    issuance.response.access_token = sign(&key, ACCESS_TOKEN_TYP, &claims)?;
    at.digest = TokenDigest::of(&jti);
    Ok(())
}

/// The claims of the user with this id; `None` if the user no longer exists.
pub async fn user_claims(state: &AppState, user_id: i64) -> StoreResult<Option<UserClaims>> {
    Ok(state.store.user_by_id(user_id).await?.map(|u| UserClaims {
        user_id: u.id,
        username: u.username,
        email: u.email,
    }))
}

/// Adds an ID token to a token endpoint response when the grant calls for one (the `openid`
/// scope, a user and a sign-in time): at the code exchange, a password grant and every
/// refresh (OIDC Core 12.2, without `nonce`).
pub async fn add_id_token(
    state: &AppState,
    client: &Client,
    issuance: &mut Issuance,
    user_id: Option<i64>,
    auth_time: Option<UnixTime>,
    nonce: Option<&str>,
) -> Result<(), ApiError> {
    let Ok(scope) = Scope::parse(&issuance.response.scope) else {
        return Ok(());
    };
    let (Some(user_id), Some(auth_time)) = (user_id, auth_time) else {
        return Ok(());
    };
    if !tessera_core::oidc::issues_id_token(&scope, Some(user_id), Some(auth_time)) {
        return Ok(());
    }
    let Some(user) = user_claims(state, user_id).await? else {
        return Ok(());
    };
    let token = id_token(
        state,
        client,
        &user,
        IdTokenFor {
            scope: &scope,
            auth_time,
            nonce,
            access_token: Some(&issuance.response.access_token),
            code: None,
            with_scope_claims: false,
        },
    )
    .await?;
    issuance.response.id_token = Some(token);
    Ok(())
}

/// Who an ID token this server signed was about and for: what `id_token_hint` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    pub sub: String,
    /// The client it was issued to.
    pub aud: String,
}

/// Verifies an `id_token_hint`: an ID token this server signed with a published key. It may
/// have expired (OIDC Core 3.1.2.1 and RP-Initiated Logout section 2 accept that); anything
/// else (another issuer, a forged signature, an access token) is `None`.
pub async fn verify_id_token_hint(
    state: &AppState,
    text: &str,
) -> Result<Option<IdTokenHint>, ApiError> {
    let Ok(token) = jws::decode(text) else {
        return Ok(None);
    };
    if token.header.typ.as_deref() == Some(ACCESS_TOKEN_TYP) {
        return Ok(None);
    }
    let Some(kid) = token.header.kid.as_deref() else {
        return Ok(None);
    };
    let Some(key) = state.keys.published(kid, state.now()).await? else {
        return Ok(None);
    };
    if token.verify(&key.verifying_key()).is_err()
        || token.claims["iss"].as_str() != Some(state.settings.issuer.as_str())
    {
        return Ok(None);
    }
    let sub = token.claims["sub"].as_str();
    let aud = match &token.claims["aud"] {
        serde_json::Value::String(a) => Some(a.as_str()),
        serde_json::Value::Array(list) => list.first().and_then(|a| a.as_str()),
        _ => None,
    };
    Ok(sub.zip(aud).map(|(sub, aud)| IdTokenHint {
        sub: sub.to_owned(),
        aud: aud.to_owned(),
    }))
}

/// The subject of a valid `id_token_hint`.
pub async fn id_token_hint_subject(
    state: &AppState,
    text: &str,
) -> Result<Option<String>, ApiError> {
    Ok(verify_id_token_hint(state, text).await?.map(|h| h.sub))
}

/// Whether `text` has the shape of a compact JWS (three base64url parts).
pub fn looks_like_jwt(text: &str) -> bool {
    text.starts_with("eyJ") && text.bytes().filter(|&b| b == b'.').count() == 2
}

/// Finds the stored access token behind a JWT access token this server signed: the signature
/// must verify with a published key, the `typ` must be `at+jwt` (an ID token is not an access
/// token) and the issuer ours. Anything else is unknown.
pub async fn find_jwt_access_token(
    state: &AppState,
    text: &str,
) -> StoreResult<Option<TokenContext>> {
    let Ok(token) = jws::decode(text) else {
        return Ok(None);
    };
    if token.header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Ok(None);
    }
    let Some(kid) = token.header.kid.as_deref() else {
        return Ok(None);
    };
    let key = match state.keys.published(kid, state.now()).await {
        Ok(Some(key)) => key,
        Ok(None) => return Ok(None),
        Err(crate::keyring::KeyError::Store(e)) => return Err(e),
        Err(e) => {
            tracing::error!(error = %e, "cannot open the signing keys");
            return Ok(None);
        }
    };
    if token.verify(&key.verifying_key()).is_err()
        || token.claims["iss"].as_str() != Some(state.settings.issuer.as_str())
    {
        return Ok(None);
    }
    let Some(jti) = token.claims["jti"].as_str() else {
        return Ok(None);
    };
    state
        .store
        .find_token(TokenType::AccessToken, &TokenDigest::of(jti))
        .await
}
