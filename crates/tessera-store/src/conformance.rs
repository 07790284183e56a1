//! The behaviour every storage backend must show, written once.
//!
//! A backend's test file calls [`store_conformance_tests!`](crate::store_conformance_tests)
//! with an async factory that returns a fresh, migrated, empty [`Harness`].

use std::any::Any;
use std::sync::Arc;

use tessera_core::client::{ClientType, GrantType, SecretHash};
use tessera_core::code::NewCode;
use tessera_core::grant::{NewGrant, NewToken, TokenState, TokenType};
use tessera_core::pkce::{Challenge, Method};
use tessera_core::token::TokenDigest;

use crate::{ClientUpdate, NewClient, NewSession, NewUser, RotateOutcome, Store, StoreError};

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
            clients_round_trip,
            duplicate_client_id_is_a_conflict,
            origins_are_found,
            users_round_trip,
            tokens_are_found_with_their_grant,
            rotation_happens_once,
            concurrent_rotations_have_one_winner,
            rotation_refuses_expired_and_revoked_tokens,
            revoking_a_grant_revokes_every_token,
            bulk_revocation_by_user_and_client,
            purge_deletes_only_what_cannot_matter,
            codes_are_redeemed_once,
            concurrent_code_redemptions_have_one_winner,
            sessions_expire_and_end,
            clients_are_managed_by_their_owner,
            users_see_and_revoke_only_their_grants
        );
    };
    (@cases $make:path; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $make().await;
                $crate::conformance::$case(harness.store.clone()).await;
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

pub async fn clients_round_trip(store: Arc<dyn Store>) {
    let mut new = new_client("alpha");
    new.secret = SecretHash::Argon2("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    new.grant_types = vec![GrantType::AuthorizationCode, GrantType::DeviceCode];
    new.redirect_uris = vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()];
    new.skip_authorization = true;
    new.algorithm = Some("RS256".into());
    let inserted = store.insert_client(new.clone()).await.expect("insert");
    let found = store
        .client_by_client_id("alpha")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found, inserted);
    assert_eq!(found.client_id, new.client_id);
    assert_eq!(found.secret, new.secret);
    assert_eq!(found.grant_types, new.grant_types);
    assert_eq!(found.redirect_uris, new.redirect_uris);
    assert_eq!(found.allowed_origins, new.allowed_origins);
    assert!(found.skip_authorization);
    assert_eq!(found.algorithm.as_deref(), Some("RS256"));

    let mut public = new_client("beta");
    public.client_type = ClientType::Public;
    public.secret = SecretHash::None;
    store.insert_client(public).await.expect("insert public");
    let beta = store
        .client_by_client_id("beta")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(beta.client_type, ClientType::Public);
    assert_eq!(beta.secret, SecretHash::None);
    assert_ne!(beta.id, found.id);

    assert!(
        store
            .client_by_client_id("gamma")
            .await
            .expect("lookup")
            .is_none()
    );
}

pub async fn duplicate_client_id_is_a_conflict(store: Arc<dyn Store>) {
    store.insert_client(new_client("dup")).await.expect("first");
    let err = store
        .insert_client(new_client("dup"))
        .await
        .expect_err("second");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

pub async fn origins_are_found(store: Arc<dyn Store>) {
    let mut c = new_client("spa");
    c.allowed_origins = vec!["https://one.example".into(), "https://two.example".into()];
    store.insert_client(c).await.expect("insert");
    assert!(
        store
            .origin_allowed("https://two.example")
            .await
            .expect("q")
    );
    assert!(!store.origin_allowed("https://two.exampl").await.expect("q"));
    assert!(
        !store
            .origin_allowed("https://three.example")
            .await
            .expect("q")
    );
}

pub async fn users_round_trip(store: Arc<dyn Store>) {
    let id = user(&*store, "alice").await;
    let found = store
        .user_by_username("alice")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, id);
    assert_eq!(found.email, "alice@example.com");
    assert_eq!(found.password_hash.as_deref(), Some("$argon2id$fake"));
    assert!(
        store
            .user_by_username("bob")
            .await
            .expect("lookup")
            .is_none()
    );
    let err = store
        .insert_user(NewUser {
            username: "alice".into(),
            email: String::new(),
            password_hash: None,
            created_at: NOW,
        })
        .await
        .expect_err("duplicate");
    assert!(matches!(err, StoreError::Conflict(_)));
}

pub async fn tokens_are_found_with_their_grant(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let grant_id = grant(&*store, client.id, Some(alice), 1, Some(2)).await;

    let at = store
        .find_token(TokenType::AccessToken, &digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(at.token_type, TokenType::AccessToken);
    assert_eq!(at.grant_id, grant_id);
    assert_eq!(at.client_pk, client.id);
    assert_eq!(at.client_id, "c");
    assert_eq!(at.user_id, Some(alice));
    assert_eq!(at.username.as_deref(), Some("alice"));
    assert_eq!(at.scope, "read write");
    assert_eq!((at.issued_at, at.expires_at), (NOW, NOW + 3600));
    assert_eq!(at.state(NOW + 1), TokenState::Active);

    let rt = store
        .find_token(TokenType::RefreshToken, &digest(2))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(rt.grant_id, grant_id);
    assert_eq!(rt.expires_at, NOW + 86400);

    assert!(
        store
            .find_token(TokenType::RefreshToken, &digest(1))
            .await
            .expect("find")
            .is_none(),
        "an access token is not found among refresh tokens"
    );
    // A client's own grant has no user.
    grant(&*store, client.id, None, 3, None).await;
    let own = store
        .find_token(TokenType::AccessToken, &digest(3))
        .await
        .expect("find")
        .expect("found");
    assert_eq!((own.user_id, own.username), (None, None));
}

pub async fn rotation_happens_once(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    grant(&*store, client.id, None, 1, Some(2)).await;
    let now = NOW + 10;
    let out = store
        .rotate_refresh_token(&digest(2), now, token(3, now + 3600), token(4, now + 86400))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::Rotated);
    let tt = TokenType::RefreshToken;
    assert_eq!(state(&*store, tt, 2, now).await, Some(TokenState::Used));
    assert_eq!(
        state(&*store, TokenType::AccessToken, 1, now).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 3, now).await,
        Some(TokenState::Active)
    );
    assert_eq!(state(&*store, tt, 4, now).await, Some(TokenState::Active));
    let new_rt = store
        .find_token(tt, &digest(4))
        .await
        .expect("find")
        .expect("found");
    let old_rt = store
        .find_token(tt, &digest(2))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(
        new_rt.grant_id, old_rt.grant_id,
        "rotation stays in the grant"
    );

    let again = store
        .rotate_refresh_token(&digest(2), now, token(5, now + 3600), token(6, now + 86400))
        .await
        .expect("rotate");
    assert_eq!(again, RotateOutcome::NotActive);
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, now).await,
        None,
        "nothing written"
    );
}

pub async fn concurrent_rotations_have_one_winner(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    grant(&*store, client.id, None, 1, Some(2)).await;
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .rotate_refresh_token(
                    &digest(2),
                    NOW + 1,
                    token(10 + 2 * i, NOW + 3600),
                    token(11 + 2 * i, NOW + 86400),
                )
                .await
                .expect("rotate")
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.expect("task") == RotateOutcome::Rotated {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

pub async fn rotation_refuses_expired_and_revoked_tokens(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    grant(&*store, client.id, None, 1, Some(2)).await;
    let late = NOW + 86400;
    let out = store
        .rotate_refresh_token(&digest(2), late, token(3, late + 1), token(4, late + 2))
        .await
        .expect("rotate");
    assert_eq!(
        out,
        RotateOutcome::NotActive,
        "expired at its expiry instant"
    );

    let g = grant(&*store, client.id, None, 5, Some(6)).await;
    assert!(store.revoke_grant(g, NOW + 1).await.expect("revoke"));
    let out = store
        .rotate_refresh_token(&digest(6), NOW + 2, token(7, NOW + 9), token(8, NOW + 9))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::NotActive);
    let out = store
        .rotate_refresh_token(&digest(99), NOW + 2, token(9, NOW + 9), token(10, NOW + 9))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::NotActive, "unknown token");
}

pub async fn revoking_a_grant_revokes_every_token(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let g = grant(&*store, client.id, None, 1, Some(2)).await;
    store
        .rotate_refresh_token(
            &digest(2),
            NOW + 1,
            token(3, NOW + 3600),
            token(4, NOW + 86400),
        )
        .await
        .expect("rotate");
    let other = grant(&*store, client.id, None, 5, Some(6)).await;
    assert_ne!(g, other);

    assert!(store.revoke_grant(g, NOW + 2).await.expect("revoke"));
    for (tt, n) in [
        (TokenType::AccessToken, 1),
        (TokenType::RefreshToken, 2),
        (TokenType::AccessToken, 3),
        (TokenType::RefreshToken, 4),
    ] {
        assert_eq!(
            state(&*store, tt, n, NOW + 3).await,
            Some(TokenState::Revoked),
            "token {n}"
        );
    }
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 3).await,
        Some(TokenState::Active)
    );
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 6, NOW + 3).await,
        Some(TokenState::Active)
    );
    assert!(
        !store.revoke_grant(g, NOW + 4).await.expect("again"),
        "already revoked"
    );
    assert!(!store.revoke_grant(424242, NOW + 4).await.expect("unknown"));
}

pub async fn bulk_revocation_by_user_and_client(store: Arc<dyn Store>) {
    let c1 = store.insert_client(new_client("c1")).await.expect("client");
    let c2 = store.insert_client(new_client("c2")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    grant(&*store, c1.id, Some(alice), 1, Some(2)).await;
    grant(&*store, c2.id, Some(alice), 3, Some(4)).await;
    grant(&*store, c1.id, Some(bob), 5, Some(6)).await;
    grant(&*store, c2.id, None, 7, None).await;

    assert_eq!(
        store
            .revoke_grants_of_user(alice, NOW + 1)
            .await
            .expect("user"),
        2
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 1, NOW + 2).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 4, NOW + 2).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 2).await,
        Some(TokenState::Active)
    );

    assert_eq!(
        store
            .revoke_grants_of_client(c2.id, NOW + 1)
            .await
            .expect("client"),
        1
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 7, NOW + 2).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 2).await,
        Some(TokenState::Active)
    );
    assert_eq!(
        store
            .revoke_grants_of_user(alice, NOW + 3)
            .await
            .expect("user"),
        0
    );
}

pub async fn purge_deletes_only_what_cannot_matter(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    // A live grant, rotated once: its old access token is revoked, its old refresh token used.
    grant(&*store, client.id, None, 1, Some(2)).await;
    store
        .rotate_refresh_token(
            &digest(2),
            NOW + 1,
            token(3, NOW + 3600),
            token(4, NOW + 86400),
        )
        .await
        .expect("rotate");
    // A revoked grant.
    let revoked = grant(&*store, client.id, None, 5, Some(6)).await;
    store.revoke_grant(revoked, NOW + 1).await.expect("revoke");
    // A grant without refresh token, whose only token expires at NOW + 3600.
    grant(&*store, client.id, None, 7, None).await;

    let now = NOW + 3600;
    let mut total = 0;
    loop {
        let purged = store.purge(now, 1).await.expect("purge");
        if purged.total() == 0 {
            break;
        }
        total += purged.total();
    }
    assert!(total >= 4, "purged {total}");
    let find = |tt, n| {
        let store = store.clone();
        async move {
            store
                .find_token(tt, &digest(n))
                .await
                .expect("find")
                .is_some()
        }
    };
    assert!(
        !find(TokenType::AccessToken, 1).await,
        "revoked access token purged"
    );
    assert!(
        find(TokenType::RefreshToken, 2).await,
        "used refresh token kept for reuse detection"
    );
    assert!(
        !find(TokenType::AccessToken, 3).await,
        "expired access token purged"
    );
    assert!(
        find(TokenType::RefreshToken, 4).await,
        "live refresh token kept"
    );
    assert!(
        !find(TokenType::AccessToken, 5).await,
        "revoked grant purged"
    );
    assert!(
        !find(TokenType::RefreshToken, 6).await,
        "revoked grant purged"
    );
    assert!(
        !find(TokenType::AccessToken, 7).await,
        "expired grant purged"
    );

    // Once every token has expired, the grant goes too.
    let end = NOW + 86400 + 1;
    while store.purge(end, 100).await.expect("purge").total() > 0 {}
    assert!(!find(TokenType::RefreshToken, 2).await);
    assert!(!find(TokenType::RefreshToken, 4).await);
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
    }
}

pub async fn codes_are_redeemed_once(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let code = new_code(1, client.id, alice);
    store.insert_code(code.clone()).await.expect("insert code");
    let found = store
        .find_code(&digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found.code, code);
    assert_eq!((found.used_at, found.grant_id), (None, None));

    let grant_id = store
        .redeem_code(
            &digest(1),
            NOW + 5,
            code_grant(client.id, alice),
            token(2, NOW + 3600),
            Some(token(3, NOW + 86400)),
        )
        .await
        .expect("redeem")
        .expect("redeemed");
    let used = store
        .find_code(&digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(used.used_at, Some(NOW + 5));
    assert_eq!(used.grant_id, Some(grant_id));
    let at = store
        .find_token(TokenType::AccessToken, &digest(2))
        .await
        .expect("find")
        .expect("found");
    assert_eq!((at.grant_id, at.user_id), (grant_id, Some(alice)));

    let again = store
        .redeem_code(
            &digest(1),
            NOW + 6,
            code_grant(client.id, alice),
            token(4, NOW + 3600),
            None,
        )
        .await
        .expect("redeem");
    assert_eq!(again, None, "a code is redeemed once");
    assert!(
        store
            .find_token(TokenType::AccessToken, &digest(4))
            .await
            .expect("find")
            .is_none()
    );

    store
        .insert_code(new_code(5, client.id, alice))
        .await
        .expect("insert");
    let late = store
        .redeem_code(
            &digest(5),
            NOW + 60,
            code_grant(client.id, alice),
            token(6, NOW + 3600),
            None,
        )
        .await
        .expect("redeem");
    assert_eq!(late, None, "expired at its expiry instant");
    assert!(store.find_code(&digest(9)).await.expect("find").is_none());
}

pub async fn concurrent_code_redemptions_have_one_winner(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    store
        .insert_code(new_code(1, client.id, alice))
        .await
        .expect("insert");
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .redeem_code(
                    &digest(1),
                    NOW + 1,
                    code_grant(client.id, alice),
                    token(10 + i, NOW + 3600),
                    None,
                )
                .await
                .expect("redeem")
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.expect("task").is_some() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

pub async fn sessions_expire_and_end(store: Arc<dyn Store>) {
    let alice = user(&*store, "alice").await;
    store
        .insert_session(NewSession {
            digest: digest(1),
            user_id: alice,
            created_at: NOW,
            expires_at: NOW + 100,
        })
        .await
        .expect("insert");
    let s = store
        .find_session(&digest(1), NOW + 99)
        .await
        .expect("find")
        .expect("live");
    assert_eq!(s.user.username, "alice");
    assert_eq!((s.created_at, s.expires_at), (NOW, NOW + 100));
    assert!(
        store
            .find_session(&digest(1), NOW + 100)
            .await
            .expect("find")
            .is_none(),
        "expired"
    );
    assert!(
        store
            .find_session(&digest(2), NOW)
            .await
            .expect("find")
            .is_none()
    );
    store.delete_session(&digest(1)).await.expect("delete");
    assert!(
        store
            .find_session(&digest(1), NOW)
            .await
            .expect("find")
            .is_none(),
        "ended"
    );
    assert_eq!(
        store
            .user_by_id(alice)
            .await
            .expect("user")
            .map(|u| u.username),
        Some("alice".into())
    );
    assert!(store.user_by_id(alice + 100).await.expect("user").is_none());
}

pub async fn clients_are_managed_by_their_owner(store: Arc<dyn Store>) {
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let mut mine = new_client("mine");
    mine.user_id = Some(alice);
    let mine = store.insert_client(mine).await.expect("insert");
    let mut second = new_client("second");
    second.user_id = Some(alice);
    store.insert_client(second).await.expect("insert");
    let mut theirs = new_client("theirs");
    theirs.user_id = Some(bob);
    store.insert_client(theirs).await.expect("insert");

    let listed: Vec<String> = store
        .clients_of_user(alice)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(listed, vec!["second", "mine"], "newest first, only alice's");
    assert_eq!(
        store.client_by_pk(mine.id).await.expect("get"),
        Some(mine.clone())
    );

    let update = ClientUpdate {
        name: "Renamed".into(),
        grant_types: vec![GrantType::AuthorizationCode],
        redirect_uris: vec!["https://new.example/cb".into()],
        post_logout_redirect_uris: vec!["https://new.example/bye".into()],
        allowed_origins: vec![],
        algorithm: Some("RS256".into()),
        updated_at: NOW + 1,
    };
    assert!(
        store
            .update_client(mine.id, update.clone())
            .await
            .expect("update")
    );
    let updated = store
        .client_by_pk(mine.id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(updated.name, "Renamed");
    assert_eq!(updated.grant_types, update.grant_types);
    assert_eq!(updated.redirect_uris, update.redirect_uris);
    assert_eq!(updated.secret, mine.secret, "the secret is untouched");
    assert!(!store.update_client(99_999, update).await.expect("update"));

    // Deleting a client deletes its grants and tokens.
    grant(&*store, mine.id, Some(alice), 1, Some(2)).await;
    assert!(store.delete_client(mine.id).await.expect("delete"));
    assert!(store.client_by_pk(mine.id).await.expect("get").is_none());
    assert!(
        store
            .find_token(TokenType::AccessToken, &digest(1))
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_token(TokenType::RefreshToken, &digest(2))
            .await
            .expect("find")
            .is_none()
    );
    assert!(!store.delete_client(mine.id).await.expect("delete again"));
}

pub async fn users_see_and_revoke_only_their_grants(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let a1 = grant(&*store, client.id, Some(alice), 1, Some(2)).await;
    let a2 = grant(&*store, client.id, Some(alice), 3, None).await;
    let b1 = grant(&*store, client.id, Some(bob), 5, None).await;

    let listed = store.grants_of_user(alice, NOW + 1).await.expect("list");
    assert_eq!(
        listed.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        vec![a2, a1]
    );
    assert_eq!(listed[0].client_id, "c");
    assert_eq!(listed[0].client_name, "c app");
    assert_eq!(listed[0].scope, "read write");
    assert_eq!(listed[1].expires_at, NOW + 86400);

    assert!(
        !store
            .revoke_grant_of_user(b1, alice, NOW + 2)
            .await
            .expect("revoke"),
        "not alice's"
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 3).await,
        Some(TokenState::Active)
    );
    assert!(
        store
            .revoke_grant_of_user(a1, alice, NOW + 2)
            .await
            .expect("revoke")
    );
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 2, NOW + 3).await,
        Some(TokenState::Revoked)
    );
    let listed = store.grants_of_user(alice, NOW + 3).await.expect("list");
    assert_eq!(
        listed.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        vec![a2],
        "revoked grants leave the list"
    );
    assert!(
        store
            .grants_of_user(alice, NOW + 3600)
            .await
            .expect("list")
            .is_empty(),
        "expired grants too"
    );
}
