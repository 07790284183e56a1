use super::*;

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

pub async fn users_are_listed_given_passwords_and_deleted_with_their_grants(store: Arc<dyn Store>) {
    let alice = user(&*store, "alice").await;
    let nopass = store
        .insert_user(NewUser {
            username: "nopass".into(),
            email: String::new(),
            password_hash: None,
            created_at: NOW,
        })
        .await
        .expect("insert")
        .id;
    let listed = store.all_users().await.expect("list");
    let names: Vec<(&str, bool)> = listed
        .iter()
        .map(|u| (u.username.as_str(), u.has_password))
        .collect();
    assert_eq!(names, [("alice", true), ("nopass", false)], "oldest first");

    assert!(
        store
            .set_password_hash(nopass, "$argon2id$new")
            .await
            .expect("set")
    );
    let found = store.user_by_id(nopass).await.expect("find").expect("user");
    assert_eq!(found.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(!store.set_password_hash(9999, "x").await.expect("set"));

    // Deleting a user takes their grants and tokens; their applications stay, ownerless.
    let mut owned = new_client("owned");
    owned.user_id = Some(alice);
    let owned = store.insert_client(owned).await.expect("client");
    grant(&*store, owned.id, Some(alice), 1, Some(2)).await;
    assert!(store.delete_user(alice).await.expect("delete"));
    assert!(!store.delete_user(alice).await.expect("again"), "once");
    assert!(store.user_by_id(alice).await.expect("find").is_none());
    assert_eq!(state(&*store, TokenType::AccessToken, 1, NOW).await, None);
    assert_eq!(state(&*store, TokenType::RefreshToken, 2, NOW).await, None);
    let kept = store
        .client_by_pk(owned.id)
        .await
        .expect("find")
        .expect("the application stays");
    assert_eq!(kept.user_id, None);
}
