use super::*;

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
