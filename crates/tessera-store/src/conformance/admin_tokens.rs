use super::*;

pub async fn admin_tokens_are_found_until_revoked(store: Arc<dyn Store>) {
    let made = store
        .insert_admin_token("ci deploys", &digest(1), NOW)
        .await
        .expect("insert");
    assert_eq!(made.name, "ci deploys");
    assert_eq!(made.revoked_at, None);
    let other = store
        .insert_admin_token("ops", &digest(2), NOW + 1)
        .await
        .expect("insert");
    assert!(
        matches!(
            store.insert_admin_token("dup", &digest(1), NOW).await,
            Err(StoreError::Conflict(_))
        ),
        "one row per digest"
    );
    let found = store
        .active_admin_token(&digest(1))
        .await
        .expect("find")
        .expect("active");
    assert_eq!(found.id, made.id);
    assert!(
        store
            .active_admin_token(&digest(3))
            .await
            .expect("find")
            .is_none()
    );

    assert!(
        store
            .revoke_admin_token(made.id, NOW + 5)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_admin_token(made.id, NOW + 6)
            .await
            .expect("again"),
        "once"
    );
    assert!(
        store
            .active_admin_token(&digest(1))
            .await
            .expect("find")
            .is_none(),
        "a revoked token is refused"
    );
    let all = store.admin_tokens().await.expect("list");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].revoked_at, Some(NOW + 5));
    assert_eq!(all[1].id, other.id);
    assert_eq!(all[1].revoked_at, None);
}
