use super::*;

pub async fn tokens_are_found_with_their_grant(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let grant_id = grant(&*store, client.id, Some(alice), 1, Some(2)).await;

    let at = store
        .find_token(TokenType::AccessToken, &digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(at.token_type, TokenType::AccessToken);
    assert_eq!(at.grant_id, grant_id);
    assert_eq!(at.client_pk, client.id);
    assert_eq!(at.client_id, "c");
    assert_eq!(at.user_id, Some(alice));
    assert_eq!(at.username.as_deref(), Some("alice"));
    assert_eq!(at.scope, "read write");
    assert_eq!((at.issued_at, at.expires_at), (NOW, NOW + 3600));
    assert_eq!(at.state(NOW + 1), TokenState::Active);

    let rt = store
        .find_token(TokenType::RefreshToken, &digest(2))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(rt.grant_id, grant_id);
    assert_eq!(rt.expires_at, NOW + 86400);

    assert!(
        store
            .find_token(TokenType::RefreshToken, &digest(1))
            .await
            .expect("find")
            .is_none(),
        "an access token is not found among refresh tokens"
    );
    // A client's own grant has no user.
    grant(&*store, client.id, None, 3, None).await;
    let own = store
        .find_token(TokenType::AccessToken, &digest(3))
        .await
        .expect("find")
        .expect("found");
    assert_eq!((own.user_id, own.username), (None, None));
}

pub async fn a_client_and_a_token_are_found_together(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let other = store.insert_client(new_client("d")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let grant_id = grant(&*store, client.id, Some(alice), 1, Some(2)).await;

    // The asking client need not be the token's: both are found as they are.
    let (found_client, token) = store
        .client_and_token("d", TokenType::AccessToken, &digest(1))
        .await
        .expect("find");
    assert_eq!(found_client, Some(other.clone()));
    let token = token.expect("the token");
    assert_eq!(
        Some(token.clone()),
        store
            .find_token(TokenType::AccessToken, &digest(1))
            .await
            .expect("find")
    );
    assert_eq!((token.grant_id, token.client_id.as_str()), (grant_id, "c"));
    assert_eq!(token.username.as_deref(), Some("alice"));

    let (found_client, token) = store
        .client_and_token("c", TokenType::RefreshToken, &digest(2))
        .await
        .expect("find");
    assert_eq!(found_client, Some(client.clone()));
    assert_eq!(token.map(|t| t.token_type), Some(TokenType::RefreshToken));

    // An unknown token beside a known client, and an unknown client.
    let (found_client, token) = store
        .client_and_token("c", TokenType::RefreshToken, &digest(1))
        .await
        .expect("find");
    assert_eq!((found_client, token), (Some(client), None));
    let (found_client, token) = store
        .client_and_token("nobody", TokenType::AccessToken, &digest(1))
        .await
        .expect("find");
    assert_eq!((found_client, token), (None, None));
}

pub async fn rotation_happens_once(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    grant(&*store, client.id, None, 1, Some(2)).await;
    let now = NOW + 10;
    let out = store
        .rotate_refresh_token(rotation(
            &digest(2),
            now,
            token(3, now + 3600),
            token(4, now + 86400),
        ))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::Rotated);
    let tt = TokenType::RefreshToken;
    assert_eq!(state(&*store, tt, 2, now).await, Some(TokenState::Used));
    assert_eq!(
        state(&*store, TokenType::AccessToken, 1, now).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 3, now).await,
        Some(TokenState::Active)
    );
    assert_eq!(state(&*store, tt, 4, now).await, Some(TokenState::Active));
    let new_rt = store
        .find_token(tt, &digest(4))
        .await
        .expect("find")
        .expect("found");
    let old_rt = store
        .find_token(tt, &digest(2))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(
        new_rt.grant_id, old_rt.grant_id,
        "rotation stays in the grant"
    );

    let again = store
        .rotate_refresh_token(rotation(
            &digest(2),
            now,
            token(5, now + 3600),
            token(6, now + 86400),
        ))
        .await
        .expect("rotate");
    assert_eq!(again, RotateOutcome::NotActive);
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, now).await,
        None,
        "nothing written"
    );
}

pub async fn concurrent_rotations_have_one_winner(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    grant(&*store, client.id, None, 1, Some(2)).await;
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .rotate_refresh_token(rotation(
                    &digest(2),
                    NOW + 1,
                    token(10 + 2 * i, NOW + 3600),
                    token(11 + 2 * i, NOW + 86400),
                ))
                .await
                .expect("rotate")
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.expect("task") == RotateOutcome::Rotated {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

pub async fn rotation_refuses_expired_and_revoked_tokens(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    grant(&*store, client.id, None, 1, Some(2)).await;
    let late = NOW + 86400;
    let out = store
        .rotate_refresh_token(rotation(
            &digest(2),
            late,
            token(3, late + 1),
            token(4, late + 2),
        ))
        .await
        .expect("rotate");
    assert_eq!(
        out,
        RotateOutcome::NotActive,
        "expired at its expiry instant"
    );

    let g = grant(&*store, client.id, None, 5, Some(6)).await;
    assert!(store.revoke_grant(g, NOW + 1).await.expect("revoke"));
    let out = store
        .rotate_refresh_token(rotation(
            &digest(6),
            NOW + 2,
            token(7, NOW + 9),
            token(8, NOW + 9),
        ))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::NotActive);
    let out = store
        .rotate_refresh_token(rotation(
            &digest(99),
            NOW + 2,
            token(9, NOW + 9),
            token(10, NOW + 9),
        ))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::NotActive, "unknown token");
}

pub async fn revoking_a_grant_revokes_every_token(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let g = grant(&*store, client.id, None, 1, Some(2)).await;
    store
        .rotate_refresh_token(rotation(
            &digest(2),
            NOW + 1,
            token(3, NOW + 3600),
            token(4, NOW + 86400),
        ))
        .await
        .expect("rotate");
    let other = grant(&*store, client.id, None, 5, Some(6)).await;
    assert_ne!(g, other);

    assert!(store.revoke_grant(g, NOW + 2).await.expect("revoke"));
    for (tt, n) in [
        (TokenType::AccessToken, 1),
        (TokenType::RefreshToken, 2),
        (TokenType::AccessToken, 3),
        (TokenType::RefreshToken, 4),
    ] {
        assert_eq!(
            state(&*store, tt, n, NOW + 3).await,
            Some(TokenState::Revoked),
            "token {n}"
        );
    }
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 3).await,
        Some(TokenState::Active)
    );
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 6, NOW + 3).await,
        Some(TokenState::Active)
    );
    assert!(
        !store.revoke_grant(g, NOW + 4).await.expect("again"),
        "already revoked"
    );
    assert!(!store.revoke_grant(424242, NOW + 4).await.expect("unknown"));
}

pub async fn bulk_revocation_by_user_and_client(store: Arc<dyn Store>) {
    let c1 = store.insert_client(new_client("c1")).await.expect("client");
    let c2 = store.insert_client(new_client("c2")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    grant(&*store, c1.id, Some(alice), 1, Some(2)).await;
    grant(&*store, c2.id, Some(alice), 3, Some(4)).await;
    grant(&*store, c1.id, Some(bob), 5, Some(6)).await;
    grant(&*store, c2.id, None, 7, None).await;
    grant(&*store, c2.id, Some(bob), 8, Some(9)).await;

    assert_eq!(
        store
            .revoke_grants_of_user_and_client(bob, c2.id, NOW + 1)
            .await
            .expect("user and client"),
        1,
        "only bob's grant of c2"
    );
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 9, NOW + 2).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 2).await,
        Some(TokenState::Active),
        "bob's grant of c1 stays"
    );

    assert_eq!(
        store
            .revoke_grants_of_user(alice, NOW + 1)
            .await
            .expect("user"),
        2
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 1, NOW + 2).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 4, NOW + 2).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 2).await,
        Some(TokenState::Active)
    );

    assert_eq!(
        store
            .revoke_grants_of_client(c2.id, NOW + 1)
            .await
            .expect("client"),
        1
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 7, NOW + 2).await,
        Some(TokenState::Revoked)
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 2).await,
        Some(TokenState::Active)
    );
    assert_eq!(
        store
            .revoke_grants_of_user(alice, NOW + 3)
            .await
            .expect("user"),
        0
    );
}

pub async fn users_see_and_revoke_only_their_grants(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let bob = user(&*store, "bob").await;
    let a1 = grant(&*store, client.id, Some(alice), 1, Some(2)).await;
    let a2 = grant(&*store, client.id, Some(alice), 3, None).await;
    let b1 = grant(&*store, client.id, Some(bob), 5, None).await;

    let listed = store.grants_of_user(alice, NOW + 1).await.expect("list");
    assert_eq!(
        listed.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        vec![a2, a1]
    );
    assert_eq!(listed[0].client_id, "c");
    assert_eq!(listed[0].client_name, "c app");
    assert_eq!(listed[0].scope, "read write");
    assert_eq!(listed[1].expires_at, NOW + 86400);

    assert!(
        !store
            .revoke_grant_of_user(b1, alice, NOW + 2)
            .await
            .expect("revoke"),
        "not alice's"
    );
    assert_eq!(
        state(&*store, TokenType::AccessToken, 5, NOW + 3).await,
        Some(TokenState::Active)
    );
    assert!(
        store
            .revoke_grant_of_user(a1, alice, NOW + 2)
            .await
            .expect("revoke")
    );
    assert_eq!(
        state(&*store, TokenType::RefreshToken, 2, NOW + 3).await,
        Some(TokenState::Revoked)
    );
    let listed = store.grants_of_user(alice, NOW + 3).await.expect("list");
    assert_eq!(
        listed.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        vec![a2],
        "revoked grants leave the list"
    );
    assert!(
        store
            .grants_of_user(alice, NOW + 3600)
            .await
            .expect("list")
            .is_empty(),
        "expired grants too"
    );
}

/// Rotation extends the grant to cover its new tokens, and never shortens it: a used refresh
/// token issued under a longer lifetime must still find its grant when replayed.
pub async fn rotation_extends_the_grant_and_never_shortens_it(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("c")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let g = grant(&*store, client.id, Some(alice), 1, Some(2)).await;
    assert_eq!(
        grant_expiry(&*store, alice, g, NOW).await,
        Some(NOW + 86400)
    );

    let later = NOW + 1000;
    let out = store
        .rotate_refresh_token(rotation(
            &digest(2),
            later,
            token(3, later + 3600),
            token(4, later + 86400),
        ))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::Rotated);
    assert_eq!(
        grant_expiry(&*store, alice, g, later).await,
        Some(later + 86400)
    );

    // A shorter refresh lifetime (the operator changed it) leaves the grant as it was.
    let out = store
        .rotate_refresh_token(rotation(
            &digest(4),
            later + 1,
            token(5, later + 60),
            token(6, later + 120),
        ))
        .await
        .expect("rotate");
    assert_eq!(out, RotateOutcome::Rotated);
    assert_eq!(
        grant_expiry(&*store, alice, g, later).await,
        Some(later + 86400)
    );
}

pub async fn grants_are_listed_by_user_and_client(store: Arc<dyn Store>) {
    let c1 = store.insert_client(new_client("c1")).await.expect("client");
    let c2 = store.insert_client(new_client("c2")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let g1 = grant(&*store, c1.id, Some(alice), 1, Some(2)).await;
    let g2 = grant(&*store, c1.id, None, 3, None).await;
    let g3 = grant(&*store, c2.id, Some(alice), 4, None).await;
    store.revoke_grant(g3, NOW).await.expect("revoke");

    let of_c1 = store.grants_of_client(c1.id, NOW).await.expect("list");
    let rows: Vec<(i64, Option<&str>, &str)> = of_c1
        .iter()
        .map(|g| (g.grant_id, g.username.as_deref(), g.kind.as_str()))
        .collect();
    assert_eq!(
        rows,
        [(g2, None, "password"), (g1, Some("alice"), "password")],
        "newest first, with the user who granted it"
    );
    let of_alice = store.grants_of_user(alice, NOW).await.expect("list");
    assert_eq!(
        of_alice.iter().map(|g| g.grant_id).collect::<Vec<_>>(),
        [g1],
        "revoked grants are not listed"
    );
    assert!(
        store
            .grants_of_client(c2.id, NOW)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .grants_of_client(c1.id, NOW + 86400)
            .await
            .expect("list")
            .is_empty(),
        "expired grants are not listed"
    );
}
