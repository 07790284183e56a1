use tessera_core::client_metadata::{RegisteredMetadata, TokenEndpointAuthMethod};

use super::*;
use crate::RegisterOutcome;

fn metadata() -> RegisteredMetadata {
    RegisteredMetadata {
        auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        client_uri: Some("https://app.example/".into()),
        logo_uri: None,
        tos_uri: Some("https://app.example/tos".into()),
        policy_uri: None,
        contacts: vec!["ops@app.example".into(), "dev@app.example".into()],
    }
}

async fn register(
    store: &dyn Store,
    client_id: &str,
    token_n: u8,
    initial: Option<u8>,
) -> RegisterOutcome {
    store
        .register_client(
            new_client(client_id),
            digest(token_n),
            metadata(),
            initial.map(digest),
        )
        .await
        .expect("register")
}

pub async fn registrations_are_read_renewed_and_deleted_with_their_token(store: Arc<dyn Store>) {
    let RegisterOutcome::Registered(client) = register(&*store, "dyn", 1, None).await else {
        panic!("registered without an initial access token");
    };
    let (found, registration) = store
        .registration_of("dyn")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found, *client);
    assert_eq!(registration.client_pk, client.id);
    assert_eq!(registration.access_token, digest(1));
    assert_eq!(registration.initial_access_token, None);
    assert_eq!(registration.metadata, metadata());

    store
        .insert_client(new_client("operator-made"))
        .await
        .expect("client");
    assert!(
        store
            .registration_of("operator-made")
            .await
            .expect("read")
            .is_none(),
        "a client made by an operator is not managed through RFC 7592"
    );
    assert!(
        store
            .registration_of("nobody")
            .await
            .expect("read")
            .is_none()
    );

    assert!(
        !store
            .renew_registration(client.id, &digest(9), &digest(2), None)
            .await
            .expect("renew"),
        "only with the token in force"
    );
    assert!(
        store
            .renew_registration(client.id, &digest(1), &digest(2), None)
            .await
            .expect("renew")
    );
    assert!(
        !store
            .renew_registration(client.id, &digest(1), &digest(3), None)
            .await
            .expect("renew"),
        "the old token is spent"
    );

    let update = ClientUpdate {
        name: "renamed".into(),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        allowed_origins: vec![],
        algorithm: Some("ES256".into()),
        access_token_format: AccessTokenFormat::Opaque,
        logout_revokes_grants: false,
        allowed_scopes: Some("read".into()),
        updated_at: NOW + 1,
    };
    let mut changed = metadata();
    changed.auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
    changed.contacts.clear();
    assert!(
        store
            .renew_registration(
                client.id,
                &digest(2),
                &digest(3),
                Some((update, changed.clone()))
            )
            .await
            .expect("update")
    );
    let (after, registration) = store
        .registration_of("dyn")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (after.name.as_str(), after.algorithm.as_deref()),
        ("renamed", Some("ES256"))
    );
    assert_eq!(after.grant_types, vec![GrantType::ClientCredentials]);
    assert_eq!(after.allowed_scopes.as_deref(), Some("read"));
    assert_eq!(registration.metadata, changed);
    assert_eq!(registration.access_token, digest(3));

    let g = grant(&*store, client.id, None, 10, Some(11)).await;
    assert!(
        !store
            .delete_registered_client(client.id, &digest(2))
            .await
            .expect("delete"),
        "not with a spent token"
    );
    assert!(
        store
            .delete_registered_client(client.id, &digest(3))
            .await
            .expect("delete")
    );
    assert!(store.registration_of("dyn").await.expect("read").is_none());
    assert!(store.client_by_pk(client.id).await.expect("read").is_none());
    for (tt, n) in [(TokenType::AccessToken, 10), (TokenType::RefreshToken, 11)] {
        assert!(
            store
                .find_token(tt, &digest(n))
                .await
                .expect("find")
                .is_none(),
            "grant {g}: its {tt:?} went with the client"
        );
    }
}

pub async fn initial_access_tokens_count_and_cap_registrations(store: Arc<dyn Store>) {
    let id = store
        .insert_initial_access_token(&digest(50), Some(3), NOW)
        .await
        .expect("insert");
    let t = store
        .initial_access_token(&digest(50))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(
        (t.id, t.max_clients, t.clients_registered),
        (id, Some(3), 0)
    );
    assert!(
        store
            .initial_access_token(&digest(51))
            .await
            .expect("find")
            .is_none()
    );

    let mut tasks = Vec::new();
    for i in 0..10u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            register(&*store, &format!("c{i}"), i, Some(50)).await
        }));
    }
    let mut registered = 0;
    for t in tasks {
        if let RegisterOutcome::Registered(c) = t.await.expect("task") {
            registered += 1;
            let (_, r) = store
                .registration_of(&c.client_id)
                .await
                .expect("read")
                .expect("found");
            assert_eq!(r.initial_access_token, Some(id));
        }
    }
    assert_eq!(registered, 3, "exactly the maximum, however many race");
    let t = store
        .initial_access_token(&digest(50))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(t.clients_registered, 3);
    assert!(!t.may_register());
    assert_eq!(
        register(&*store, "late", 40, Some(50)).await,
        RegisterOutcome::InitialTokenRefused
    );
    assert!(
        store
            .client_by_client_id("late")
            .await
            .expect("read")
            .is_none(),
        "nothing written"
    );
    assert_eq!(
        register(&*store, "unknown", 41, Some(51)).await,
        RegisterOutcome::InitialTokenRefused,
        "an unknown initial access token registers nothing"
    );

    store
        .insert_initial_access_token(&digest(60), None, NOW)
        .await
        .expect("insert");
    for i in 0..5u8 {
        assert!(matches!(
            register(&*store, &format!("u{i}"), 70 + i, Some(60)).await,
            RegisterOutcome::Registered(_)
        ));
    }
    assert!(
        matches!(
            store
                .register_client(new_client("u0"), digest(80), metadata(), None)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a taken client id"
    );
}
