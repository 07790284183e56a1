use super::*;
use crate::{ImportBatch, ImportedClient, ImportedGrant, ImportedUser};

fn batch() -> ImportBatch {
    let mut client = new_client("dot-app");
    client.secret = SecretHash::Argon2("pbkdf2_sha256$1000$salt$hash=".into());
    ImportBatch {
        source: "sqlite://dot.sqlite3".into(),
        at: NOW,
        users: vec![ImportedUser {
            username: "alice".into(),
            email: "alice@example.com".into(),
            password_hash: Some("pbkdf2_sha256$1000$salt$hash=".into()),
            created_at: NOW - 100,
        }],
        clients: vec![ImportedClient {
            client,
            owner: Some("alice".into()),
        }],
        grants: vec![
            ImportedGrant {
                client_id: "dot-app".into(),
                username: Some("alice".into()),
                kind: GrantType::Password,
                scope: "read write".into(),
                created_at: NOW - 10,
                expires_at: NOW + 86400,
                access_token: Some(token(1, NOW + 3600)),
                refresh_token: Some(token(2, NOW + 86400)),
            },
            ImportedGrant {
                client_id: "dot-app".into(),
                username: Some("alice".into()),
                kind: GrantType::Password,
                scope: "read".into(),
                created_at: NOW - 10,
                expires_at: NOW + 86400,
                access_token: None,
                refresh_token: Some(token(3, NOW + 86400)),
            },
        ],
    }
}

pub async fn imports_are_atomic_and_idempotent(store: Arc<dyn Store>) {
    assert!(!store.has_imports().await.expect("has"));
    let first = store.import(batch()).await.expect("import");
    assert_eq!(
        (
            first.users_imported,
            first.clients_imported,
            first.grants_imported,
            first.tokens_imported
        ),
        (1, 1, 2, 3)
    );
    assert!(store.has_imports().await.expect("has"));
    let at = store
        .find_token(TokenType::AccessToken, &digest(1))
        .await
        .expect("find")
        .expect("imported");
    assert_eq!(at.client_id, "dot-app");
    assert_eq!(at.username.as_deref(), Some("alice"));
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 3, NOW).await,
        Some(TokenState::Active),
        "a refresh token whose access token expired keeps working"
    );
    let app = store
        .client_by_client_id("dot-app")
        .await
        .expect("find")
        .expect("imported");
    let alice = store
        .user_by_username("alice")
        .await
        .expect("find")
        .expect("imported");
    assert_eq!(app.user_id, Some(alice.id), "on its owner's pages");

    let again = store.import(batch()).await.expect("second import");
    assert!(again.is_noop(), "{again:?}");
    assert_eq!(
        (
            again.users_present,
            again.clients_present,
            again.grants_present
        ),
        (1, 1, 2)
    );

    // A different registration under the same client id: nothing at all is written.
    let mut clash = batch();
    clash.clients[0].client.redirect_uris = vec!["https://other.example/cb".into()];
    clash.users.push(ImportedUser {
        username: "bob".into(),
        email: String::new(),
        password_hash: None,
        created_at: NOW,
    });
    assert!(matches!(
        store.import(clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store.user_by_username("bob").await.expect("find").is_none(),
        "all or nothing"
    );

    // Hashes are upgraded only over the hash they replace.
    let old = alice.password_hash.clone().expect("hash");
    assert!(
        !store
            .upgrade_password_hash(alice.id, "something else", "$argon2id$new")
            .await
            .expect("upgrade")
    );
    assert!(
        store
            .upgrade_password_hash(alice.id, &old, "$argon2id$new")
            .await
            .expect("upgrade")
    );
    let SecretHash::Argon2(secret) = app.secret.clone() else {
        panic!("a slow hash");
    };
    assert!(
        store
            .upgrade_secret_hash(app.id, &secret, "$argon2id$s")
            .await
            .expect("upgrade")
    );
    assert!(
        !store
            .upgrade_secret_hash(app.id, &secret, "$argon2id$t")
            .await
            .expect("upgrade"),
        "only once"
    );
}
