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
