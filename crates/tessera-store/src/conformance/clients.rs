use super::*;

pub async fn clients_round_trip(store: Arc<dyn Store>) {
    let mut new = new_client("alpha");
    new.secret = SecretHash::Argon2("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    new.grant_types = vec![GrantType::AuthorizationCode, GrantType::DeviceCode];
    new.redirect_uris = vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()];
    new.skip_authorization = true;
    new.algorithm = Some("RS256".into());
    new.access_token_format = AccessTokenFormat::Jwt;
    new.logout_revokes_grants = true;
    new.allowed_scopes = Some("read introspection".into());
    new.introspect_any = false;
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
    assert_eq!(found.access_token_format, AccessTokenFormat::Jwt);
    assert!(found.logout_revokes_grants);
    assert_eq!(found.allowed_scopes.as_deref(), Some("read introspection"));
    assert!(!found.introspect_any);

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
    c.client_type = ClientType::Public;
    c.secret = SecretHash::None;
    c.allowed_origins = vec!["https://one.example".into(), "https://two.example".into()];
    store.insert_client(c).await.expect("insert");
    let mut server_side = new_client("backend");
    server_side.allowed_origins = vec!["https://backend.example".into()];
    store.insert_client(server_side).await.expect("insert");
    assert!(
        !store
            .origin_allowed("https://backend.example")
            .await
            .expect("q"),
        "a confidential client's origins get no CORS"
    );
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
        algorithm: Some("ES256".into()),
        access_token_format: AccessTokenFormat::Jwt,
        logout_revokes_grants: true,
        allowed_scopes: Some("openid".into()),
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
    assert_eq!(updated.algorithm.as_deref(), Some("ES256"));
    assert_eq!(updated.allowed_scopes.as_deref(), Some("openid"));
    assert_eq!(
        (updated.access_token_format, updated.logout_revokes_grants),
        (AccessTokenFormat::Jwt, true)
    );
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

pub async fn every_client_is_listed(store: Arc<dyn Store>) {
    assert!(store.all_clients().await.expect("list").is_empty());
    let alice = user(&*store, "alice").await;
    store.insert_client(new_client("a")).await.expect("a");
    let mut owned = new_client("b");
    owned.user_id = Some(alice);
    store.insert_client(owned).await.expect("b");
    let ids: Vec<String> = store
        .all_clients()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["a", "b"], "every client, oldest first, owned or not");
}
