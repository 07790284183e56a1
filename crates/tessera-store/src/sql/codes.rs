//! The SQL of [`CodeStore`].

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::code::{CodeRecord, NewCode};
use tessera_core::grant::{NewGrant, NewToken};
use tessera_core::pkce::{Challenge, Method};
use tessera_core::token::TokenDigest;

use super::grants::redeem_once;
use super::{Database, Row, SqlConn, bad_row, op, params};
use crate::{CodeStore, StoreResult};

fn code_from_row(mut r: Row) -> StoreResult<CodeRecord> {
    let digest = r.take()?;
    let client_pk = r.take()?;
    let user_id = r.take()?;
    let redirect_uri = r.take()?;
    let redirect_uri_explicit = r.take()?;
    let scope = r.take()?;
    let challenge: Option<String> = r.take()?;
    let method: Option<String> = r.take()?;
    let pkce = match (challenge, method) {
        (Some(challenge), Some(m)) => Some(Challenge {
            challenge,
            method: Method::parse(&m).ok_or_else(|| bad_row("PKCE method"))?,
        }),
        _ => None,
    };
    Ok(CodeRecord {
        code: NewCode {
            digest,
            client_pk,
            user_id,
            redirect_uri,
            redirect_uri_explicit,
            scope,
            pkce,
            nonce: r.take()?,
            auth_time: r.take()?,
            created_at: r.take()?,
            expires_at: r.take()?,
        },
        used_at: r.take()?,
        grant_id: r.take()?,
    })
}

async fn insert(c: &mut dyn SqlConn, code: NewCode) -> StoreResult<()> {
    c.execute(
        "INSERT INTO authorization_codes (digest, client_id, user_id, redirect_uri, \
         redirect_uri_explicit, scope, code_challenge, code_challenge_method, nonce, \
         auth_time, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        params![
            &code.digest,
            code.client_pk,
            code.user_id,
            &code.redirect_uri,
            code.redirect_uri_explicit,
            &code.scope,
            code.pkce.as_ref().map(|p| p.challenge.as_str()),
            code.pkce.as_ref().map(|p| p.method.as_str()),
            code.nonce.as_ref(),
            code.auth_time,
            code.created_at,
            code.expires_at
        ],
    )
    .await
    .map(|_| ())
}

async fn find(c: &mut dyn SqlConn, digest: TokenDigest) -> StoreResult<Option<CodeRecord>> {
    c.query_opt(
        "SELECT digest, client_id, user_id, redirect_uri, redirect_uri_explicit, scope, \
         code_challenge, code_challenge_method, nonce, auth_time, created_at, expires_at, \
         used_at, grant_id FROM authorization_codes WHERE digest = $1",
        params![&digest],
    )
    .await?
    .map(code_from_row)
    .transpose()
}

/// Marks an unused, unexpired authorization code used; changes nothing when it is not
/// redeemable.
const CLAIM: &str = "UPDATE authorization_codes SET used_at = $2 WHERE digest = $1 \
             AND used_at IS NULL AND expires_at > $2";
/// Records on the code the grant it was exchanged for.
const LINK: &str = "UPDATE authorization_codes SET grant_id = $2 WHERE digest = $1";

#[async_trait]
impl<D: Database> CodeStore for D {
    async fn insert_code(&self, code: NewCode) -> StoreResult<()> {
        self.write_one(op(move |c| Box::pin(insert(c, code)))).await
    }

    async fn find_code(&self, digest: &TokenDigest) -> StoreResult<Option<CodeRecord>> {
        let digest = *digest;
        self.read(op(move |c| Box::pin(find(c, digest)))).await
    }

    async fn redeem_code(
        &self,
        digest: &TokenDigest,
        now: UnixTime,
        grant: NewGrant,
        access_token: NewToken,
        refresh_token: Option<NewToken>,
    ) -> StoreResult<Option<i64>> {
        let digest = *digest;
        self.write(op(move |c| {
            Box::pin(redeem_once(
                c,
                CLAIM,
                LINK,
                digest,
                now,
                grant,
                access_token,
                refresh_token,
            ))
        }))
        .await
    }
}
