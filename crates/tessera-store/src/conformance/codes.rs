use super::*;

pub async fn codes_are_redeemed_once(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let code = new_code(1, client.id, alice);
    store.insert_code(code.clone()).await.expect("insert code");
    let found = store
        .find_code(&digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found.code, code);
    assert_eq!((found.used_at, found.grant_id), (None, None));

    let grant_id = store
        .redeem_code(
            &digest(1),
            NOW + 5,
            code_grant(client.id, alice),
            token(2, NOW + 3600),
            Some(token(3, NOW + 86400)),
        )
        .await
        .expect("redeem")
        .expect("redeemed");
    let used = store
        .find_code(&digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(used.used_at, Some(NOW + 5));
    assert_eq!(used.grant_id, Some(grant_id));
    let at = store
        .find_token(TokenType::AccessToken, &digest(2))
        .await
        .expect("find")
        .expect("found");
    assert_eq!((at.grant_id, at.user_id), (grant_id, Some(alice)));
    assert_eq!(
        at.auth_time,
        Some(NOW - 30),
        "the sign-in time reaches the grant, for refreshed ID tokens"
    );

    let again = store
        .redeem_code(
            &digest(1),
            NOW + 6,
            code_grant(client.id, alice),
            token(4, NOW + 3600),
            None,
        )
        .await
        .expect("redeem");
    assert_eq!(again, None, "a code is redeemed once");
    assert!(
        store
            .find_token(TokenType::AccessToken, &digest(4))
            .await
            .expect("find")
            .is_none()
    );

    store
        .insert_code(new_code(5, client.id, alice))
        .await
        .expect("insert");
    let late = store
        .redeem_code(
            &digest(5),
            NOW + 60,
            code_grant(client.id, alice),
            token(6, NOW + 3600),
            None,
        )
        .await
        .expect("redeem");
    assert_eq!(late, None, "expired at its expiry instant");
    assert!(store.find_code(&digest(9)).await.expect("find").is_none());
}

pub async fn concurrent_code_redemptions_have_one_winner(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    store
        .insert_code(new_code(1, client.id, alice))
        .await
        .expect("insert");
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .redeem_code(
                    &digest(1),
                    NOW + 1,
                    code_grant(client.id, alice),
                    token(10 + i, NOW + 3600),
                    None,
                )
                .await
                .expect("redeem")
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.expect("task").is_some() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

/// The grant a code is exchanged for lives as long as the core says (its longest token).
pub async fn redeeming_a_code_records_the_grant_expiry(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    store
        .insert_code(new_code(1, client.id, alice))
        .await
        .expect("insert code");
    let grant_id = store
        .redeem_code(
            &digest(1),
            NOW + 1,
            code_grant(client.id, alice),
            token(2, NOW + 3600),
            Some(token(3, NOW + 86400)),
        )
        .await
        .expect("redeem")
        .expect("redeemed");
    assert_eq!(
        grant_expiry(&*store, alice, grant_id, NOW + 1).await,
        Some(NOW + 86400)
    );
    let record = store
        .find_code(&digest(1))
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(record.grant_id, Some(grant_id));
    assert_eq!(record.used_at, Some(NOW + 1));
}
