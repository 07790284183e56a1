//! The behaviour every storage backend must show, written once.
//!
//! A backend's test file calls [`store_conformance_tests!`](crate::store_conformance_tests)
//! with an async factory that returns a fresh, migrated, empty [`Harness`]. One module per
//! aggregate; a rule a backend must keep gets a check here, and every backend runs it.

pub mod admin_tokens;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod devices;
pub mod grants;
pub mod imports;
pub mod keys;
pub mod maintenance;
pub mod registrations;
pub mod sessions;
pub mod users;

use std::any::Any;
use std::sync::Arc;

use tessera_core::client::{AccessTokenFormat, ClientType, GrantType, SecretHash};
use tessera_core::code::NewCode;
use tessera_core::grant::{NewGrant, NewToken, Rotation, TokenState, TokenType};
use tessera_core::pkce::{Challenge, Method};
use tessera_core::token::TokenDigest;

use crate::{
    ClientUpdate, NewClient, NewSession, NewUser, RotateOutcome, Store, StoreError, StoredKey,
};

/// A fresh store, and whatever must live as long as it (a temporary directory, a database).
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub guard: Box<dyn Any + Send + Sync>,
}

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store from `$make`,
/// an async function returning a [`Harness`].
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:path) => {
        $crate::store_conformance_tests!(@cases $make;
            clients::clients_round_trip,
            clients::duplicate_client_id_is_a_conflict,
            clients::origins_are_found,
            clients::clients_are_managed_by_their_owner,
            users::users_round_trip,
            users::users_are_listed_given_passwords_and_deleted_with_their_grants,
            admin_tokens::admin_tokens_are_found_until_revoked,
            clients::every_client_is_listed,
            grants::grants_are_listed_by_user_and_client,
            sessions::sessions_expire_and_end,
            codes::codes_are_redeemed_once,
            codes::concurrent_code_redemptions_have_one_winner,
            codes::redeeming_a_code_records_the_grant_expiry,
            grants::tokens_are_found_with_their_grant,
            grants::a_client_and_a_token_are_found_together,
            grants::rotation_happens_once,
            grants::concurrent_rotations_have_one_winner,
            grants::rotation_refuses_expired_and_revoked_tokens,
            grants::rotation_extends_the_grant_and_never_shortens_it,
            grants::revoking_a_grant_revokes_every_token,
            grants::bulk_revocation_by_user_and_client,
            grants::users_see_and_revoke_only_their_grants,
            maintenance::purge_deletes_only_what_cannot_matter,
            maintenance::purge_deletes_revoked_tokens_at_once,
            maintenance::purge_respects_the_batch_size,
            maintenance::ping_answers,
            keys::signing_keys_rotate_and_stay_published,
            consents::consents_are_remembered_until_forgotten_or_expired,
            imports::imports_are_atomic_and_idempotent,
            devices::device_codes_are_answered_once_and_redeemed_once,
            devices::concurrent_device_redemptions_have_one_winner,
            devices::purge_deletes_expired_device_codes,
            registrations::registrations_are_read_renewed_and_deleted_with_their_token,
            registrations::initial_access_tokens_count_and_cap_registrations
        );
    };
    (@cases $make:path; $($module:ident :: $case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $make().await;
                $crate::conformance::$module::$case(harness.store.clone()).await;
                drop(harness);
            }
        )*
    };
}

const NOW: i64 = 1_700_000_000;

fn digest(n: u8) -> TokenDigest {
    TokenDigest([n; 32])
}

fn token(n: u8, expires_at: i64) -> NewToken {
    NewToken {
        digest: digest(n),
        scope: "read write".into(),
        issued_at: NOW,
        expires_at,
    }
}

fn new_client(client_id: &str) -> NewClient {
    NewClient {
        client_id: client_id.into(),
        name: format!("{client_id} app"),
        client_type: ClientType::Confidential,
        grant_types: vec![GrantType::Password, GrantType::ClientCredentials],
        secret: SecretHash::sha256_of("secret"),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        allowed_origins: vec!["https://app.example".into()],
        user_id: None,
        skip_authorization: false,
        algorithm: None,
        access_token_format: AccessTokenFormat::Opaque,
        logout_revokes_grants: false,
        allowed_scopes: None,
        introspect_any: true,
        created_at: NOW,
    }
}

async fn user(store: &dyn Store, name: &str) -> i64 {
    store
        .insert_user(NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            password_hash: Some("$argon2id$fake".into()),
            created_at: NOW,
        })
        .await
        .expect("insert user")
        .id
}

async fn grant(
    store: &dyn Store,
    client_pk: i64,
    user_id: Option<i64>,
    at: u8,
    rt: Option<u8>,
) -> i64 {
    store
        .insert_grant(
            NewGrant {
                client_pk,
                user_id,
                kind: GrantType::Password,
                scope: "read write".into(),
                created_at: NOW,
                expires_at: if rt.is_some() {
                    NOW + 86400
                } else {
                    NOW + 3600
                },
                auth_time: None,
            },
            token(at, NOW + 3600),
            rt.map(|n| token(n, NOW + 86400)),
        )
        .await
        .expect("insert grant")
}

async fn state(store: &dyn Store, token_type: TokenType, n: u8, now: i64) -> Option<TokenState> {
    store
        .find_token(token_type, &digest(n))
        .await
        .expect("find token")
        .map(|ctx| ctx.state(now))
}

fn new_code(n: u8, client_pk: i64, user_id: i64) -> NewCode {
    NewCode {
        digest: digest(n),
        client_pk,
        user_id,
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_explicit: true,
        scope: "read".into(),
        pkce: Some(Challenge {
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            method: Method::S256,
        }),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: Some(NOW - 30),
        created_at: NOW,
        expires_at: NOW + 60,
    }
}

fn code_grant(client_pk: i64, user_id: i64) -> NewGrant {
    NewGrant {
        client_pk,
        user_id: Some(user_id),
        kind: GrantType::AuthorizationCode,
        scope: "read".into(),
        created_at: NOW,
        expires_at: NOW + 86400,
        auth_time: Some(NOW - 30),
    }
}

/// A rotation of refresh token `old` into the new pair, as the core builds it.
fn rotation(
    old: &TokenDigest,
    now: i64,
    access_token: NewToken,
    refresh_token: NewToken,
) -> Rotation {
    Rotation {
        old: *old,
        now,
        grant_expires_at: access_token.expires_at.max(refresh_token.expires_at),
        access_token,
        refresh_token,
    }
}

/// The grant's expiry, as the user's page lists it.
async fn grant_expiry(store: &dyn Store, user_id: i64, grant_id: i64, now: i64) -> Option<i64> {
    store
        .grants_of_user(user_id, now)
        .await
        .expect("grants of user")
        .into_iter()
        .find(|g| g.grant_id == grant_id)
        .map(|g| g.expires_at)
}
