use super::*;

pub async fn purge_deletes_only_what_cannot_matter(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    // A live grant, rotated once: its old access token is revoked, its old refresh token used.
    grant(&*store, client.id, None, 1, Some(2)).await;
    store
        .rotate_refresh_token(rotation(
            &digest(2),
            NOW + 1,
            token(3, NOW + 3600),
            token(4, NOW + 86400),
        ))
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

/// A revoked token answers exactly like an unknown one, so nothing is kept: the first purge
/// after the revocation deletes it, however far its expiry. (Both backends once differed.)
pub async fn purge_deletes_revoked_tokens_at_once(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let g = grant(&*store, client.id, None, 1, Some(2)).await;
    let kept = grant(&*store, client.id, None, 3, Some(4)).await;
    store.revoke_grant(g, NOW + 5).await.expect("revoke");
    while store.purge(NOW + 5, 100).await.expect("purge").total() > 0 {}
    for (tt, n) in [(TokenType::AccessToken, 1), (TokenType::RefreshToken, 2)] {
        assert!(
            store
                .find_token(tt, &digest(n))
                .await
                .expect("find")
                .is_none(),
            "revoked {tt:?} purged at once"
        );
    }
    for (tt, n) in [(TokenType::AccessToken, 3), (TokenType::RefreshToken, 4)] {
        let found = store.find_token(tt, &digest(n)).await.expect("find");
        assert_eq!(found.map(|t| t.grant_id), Some(kept), "live {tt:?} kept");
    }
}

/// Each purge deletes at most `batch` rows of a kind, so a cleanup never holds the store for
/// long; repeated, it deletes everything.
pub async fn purge_respects_the_batch_size(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    for n in 1..=5 {
        grant(&*store, client.id, None, n, None).await;
    }
    let now = NOW + 3600;
    let first = store.purge(now, 2).await.expect("purge");
    assert_eq!(first.access_tokens, 2, "{first:?}");
    let mut total = first;
    loop {
        let p = store.purge(now, 2).await.expect("purge");
        assert!(p.access_tokens <= 2 && p.grants <= 4, "{p:?}");
        if p.total() == 0 {
            break;
        }
        total.add(p);
    }
    assert_eq!((total.access_tokens, total.grants), (5, 5), "{total:?}");
}

pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("a fresh store answers");
}
