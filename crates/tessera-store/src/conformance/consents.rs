use super::*;

pub async fn consents_are_remembered_until_forgotten_or_expired(store: Arc<dyn Store>) {
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let app = store
        .insert_client(new_client("app"))
        .await
        .expect("client");
    let other = store
        .insert_client(new_client("other"))
        .await
        .expect("client");
    assert_eq!(store.consent(alice, app.id, NOW).await.expect("find"), None);

    store
        .remember_consent(alice, app.id, "openid", NOW, NOW + 100)
        .await
        .expect("remember");
    store
        .remember_consent(alice, app.id, "email openid", NOW + 1, NOW + 200)
        .await
        .expect("replace");
    store
        .remember_consent(alice, other.id, "read", NOW + 2, NOW + 50)
        .await
        .expect("remember");
    assert_eq!(
        store.consent(alice, app.id, NOW + 150).await.expect("find"),
        Some("email openid".into()),
        "the second approval replaced the first"
    );
    assert_eq!(store.consent(bob, app.id, NOW).await.expect("find"), None);
    assert_eq!(
        store.consent(alice, app.id, NOW + 200).await.expect("find"),
        None,
        "expired"
    );

    let listed = store.consents_of_user(alice, NOW + 10).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|c| c.client_id.as_str()).collect();
    assert_eq!(names, vec!["other", "app"], "newest first");
    assert_eq!(listed[1].client_name, "app app");
    assert_eq!(listed[1].scope, "email openid");
    assert_eq!(
        (listed[1].granted_at, listed[1].expires_at),
        (NOW + 1, NOW + 200)
    );

    // Cleanup deletes only what expired.
    store.purge(NOW + 60, 100).await.expect("purge");
    let left = store.consents_of_user(alice, NOW).await.expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].client_id, "app");

    assert!(store.forget_consent(alice, app.id).await.expect("forget"));
    assert!(!store.forget_consent(alice, app.id).await.expect("again"));
    assert_eq!(store.consent(alice, app.id, NOW).await.expect("find"), None);

    // Deleting the client forgets its approvals.
    store
        .remember_consent(bob, other.id, "read", NOW, NOW + 100)
        .await
        .expect("remember");
    store.delete_client(other.id).await.expect("delete");
    assert!(
        store
            .consents_of_user(bob, NOW)
            .await
            .expect("list")
            .is_empty()
    );
}
