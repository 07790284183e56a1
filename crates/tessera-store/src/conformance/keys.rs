use super::*;

fn key(kid: &str, algorithm: &str, created_at: i64) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        algorithm: algorithm.into(),
        sealed: vec![1, 2, 3, kid.len() as u8],
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        created_at,
        retired_at: None,
        publish_until: None,
    }
}

fn kids(keys: &[StoredKey]) -> Vec<&str> {
    keys.iter().map(|k| k.kid.as_str()).collect()
}

pub async fn signing_keys_rotate_and_stay_published(store: Arc<dyn Store>) {
    assert!(store.signing_keys().await.expect("list").is_empty());
    assert!(
        store
            .insert_signing_key(key("rsa-1", "RS256", NOW))
            .await
            .expect("insert")
    );
    assert!(
        !store
            .insert_signing_key(key("rsa-race", "RS256", NOW))
            .await
            .expect("insert"),
        "a second node's first key loses: one signing key per algorithm"
    );
    assert!(
        store
            .insert_signing_key(key("ec-1", "ES256", NOW))
            .await
            .expect("another algorithm")
    );
    let stored = store.signing_keys().await.expect("list");
    let rsa = stored.iter().find(|k| k.kid == "rsa-1").expect("kept");
    assert_eq!(
        rsa,
        &key("rsa-1", "RS256", NOW),
        "the sealed bytes come back whole"
    );

    store
        .rotate_signing_key(key("rsa-2", "RS256", NOW + 10), NOW + 10, NOW + 3610)
        .await
        .expect("rotate");
    let stored = store.signing_keys().await.expect("list");
    assert_eq!(
        kids(&stored),
        vec!["rsa-2", "ec-1", "rsa-1"],
        "newest first"
    );
    let signing: Vec<&str> = stored
        .iter()
        .filter(|k| k.is_signing())
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(signing, vec!["rsa-2", "ec-1"]);
    let old = &stored[2];
    assert_eq!(
        (old.retired_at, old.publish_until),
        (Some(NOW + 10), Some(NOW + 3610))
    );
    assert!(old.is_published(NOW + 3609) && !old.is_published(NOW + 3610));

    // Cleanup removes the retired key once nothing it signed can be valid, not before.
    store.purge(NOW + 3609, 100).await.expect("purge");
    assert_eq!(store.signing_keys().await.expect("list").len(), 3);
    store.purge(NOW + 3610, 100).await.expect("purge");
    assert_eq!(
        kids(&store.signing_keys().await.expect("list")),
        vec!["rsa-2", "ec-1"]
    );

    assert!(store.delete_signing_key("ec-1").await.expect("delete"));
    assert!(
        !store
            .delete_signing_key("ec-1")
            .await
            .expect("delete again")
    );
    assert_eq!(
        kids(&store.signing_keys().await.expect("list")),
        vec!["rsa-2"]
    );
}
