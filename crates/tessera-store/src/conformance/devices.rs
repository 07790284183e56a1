use tessera_core::device::{DeviceStatus, NewDeviceCode};

use super::*;
use crate::DeviceAnswer;

fn device_code(n: u8, client_pk: i64) -> NewDeviceCode {
    NewDeviceCode {
        digest: digest(n),
        user_code: digest(n.wrapping_add(100)),
        client_pk,
        scope: "openid read".into(),
        interval: 5,
        created_at: NOW,
        expires_at: NOW + 600,
    }
}

fn device_grant(client_pk: i64, user_id: i64) -> NewGrant {
    NewGrant {
        kind: GrantType::DeviceCode,
        ..code_grant(client_pk, user_id)
    }
}

pub async fn device_codes_are_answered_once_and_redeemed_once(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("tv")).await.expect("client");
    let alice = user(&*store, "alice").await;
    let code = device_code(1, client.id);
    store
        .insert_device_code(code.clone())
        .await
        .expect("insert");
    let found = store
        .find_device_code(&digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found.code, code);
    assert_eq!(found.status, DeviceStatus::Pending);
    assert_eq!(
        (found.last_polled_at, found.used_at, found.grant_id),
        (None, None, None)
    );
    let by_user_code = store
        .device_code_by_user_code(&digest(101))
        .await
        .expect("find")
        .expect("found by its user code");
    assert_eq!(by_user_code, found);
    assert!(
        store
            .device_code_by_user_code(&digest(1))
            .await
            .expect("find")
            .is_none(),
        "a device code is not a user code"
    );

    let mut clash = device_code(2, client.id);
    clash.user_code = code.user_code;
    assert!(
        matches!(
            store.insert_device_code(clash).await,
            Err(StoreError::Conflict(_))
        ),
        "no two stored codes share a user code"
    );

    assert_eq!(
        store
            .redeem_device_code(
                &digest(1),
                NOW + 1,
                device_grant(client.id, alice),
                token(3, NOW + 3600),
                None
            )
            .await
            .expect("redeem"),
        None,
        "nothing to redeem before the user approves"
    );
    store
        .record_device_poll(&digest(1), NOW + 2, 10)
        .await
        .expect("poll");
    let polled = store
        .find_device_code(&digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(
        (polled.last_polled_at, polled.code.interval),
        (Some(NOW + 2), 10)
    );

    let approve = DeviceAnswer::Approve {
        user_id: alice,
        auth_time: NOW - 30,
    };
    assert!(
        store
            .answer_device_code(&digest(1), approve, NOW + 3)
            .await
            .expect("answer")
    );
    assert!(
        !store
            .answer_device_code(&digest(1), DeviceAnswer::Deny, NOW + 4)
            .await
            .expect("answer"),
        "the first answer stands"
    );
    let approved = store
        .find_device_code(&digest(1))
        .await
        .expect("find")
        .expect("found");
    assert_eq!(
        approved.status,
        DeviceStatus::Approved {
            user_id: alice,
            auth_time: NOW - 30
        }
    );

    let grant_id = store
        .redeem_device_code(
            &digest(1),
            NOW + 5,
            device_grant(client.id, alice),
            token(4, NOW + 3600),
            Some(token(5, NOW + 86400)),
        )
        .await
        .expect("redeem")
        .expect("redeemed");
    let at = store
        .find_token(TokenType::AccessToken, &digest(4))
        .await
        .expect("find")
        .expect("the device's access token");
    assert_eq!((at.grant_id, at.user_id), (grant_id, Some(alice)));
    let used = store
        .find_device_code(&digest(1))
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(
        (used.used_at, used.grant_id),
        (Some(NOW + 5), Some(grant_id))
    );
    assert_eq!(
        store
            .redeem_device_code(
                &digest(1),
                NOW + 6,
                device_grant(client.id, alice),
                token(6, NOW + 3600),
                None
            )
            .await
            .expect("redeem"),
        None,
        "redeemed once"
    );
    assert!(
        store
            .find_token(TokenType::AccessToken, &digest(6))
            .await
            .expect("find")
            .is_none()
    );

    // An answer or a redemption at or after the expiry changes nothing.
    store
        .insert_device_code(device_code(7, client.id))
        .await
        .expect("insert");
    assert!(
        !store
            .answer_device_code(&digest(7), approve, NOW + 600)
            .await
            .expect("answer")
    );
    store
        .insert_device_code(device_code(8, client.id))
        .await
        .expect("insert");
    assert!(
        store
            .answer_device_code(&digest(8), approve, NOW + 599)
            .await
            .expect("answer")
    );
    assert_eq!(
        store
            .redeem_device_code(
                &digest(8),
                NOW + 600,
                device_grant(client.id, alice),
                token(9, NOW + 3600),
                None
            )
            .await
            .expect("redeem"),
        None,
        "expired at its expiry instant"
    );
    // A denied code is never redeemed.
    store
        .insert_device_code(device_code(10, client.id))
        .await
        .expect("insert");
    assert!(
        store
            .answer_device_code(&digest(10), DeviceAnswer::Deny, NOW + 1)
            .await
            .expect("answer")
    );
    assert_eq!(
        store
            .find_device_code(&digest(10))
            .await
            .expect("find")
            .map(|r| r.status),
        Some(DeviceStatus::Denied)
    );
    assert_eq!(
        store
            .redeem_device_code(
                &digest(10),
                NOW + 2,
                device_grant(client.id, alice),
                token(11, NOW + 3600),
                None
            )
            .await
            .expect("redeem"),
        None
    );
}

pub async fn concurrent_device_redemptions_have_one_winner(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("tv")).await.expect("client");
    let alice = user(&*store, "alice").await;
    store
        .insert_device_code(device_code(1, client.id))
        .await
        .expect("insert");
    let approve = DeviceAnswer::Approve {
        user_id: alice,
        auth_time: NOW,
    };
    assert!(
        store
            .answer_device_code(&digest(1), approve, NOW + 1)
            .await
            .expect("answer")
    );
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .redeem_device_code(
                    &digest(1),
                    NOW + 2,
                    device_grant(client.id, alice),
                    token(20 + i, NOW + 3600),
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
    assert_eq!(wins, 1, "one device code, one token response");
}

pub async fn purge_deletes_expired_device_codes(store: Arc<dyn Store>) {
    let client = store.insert_client(new_client("tv")).await.expect("client");
    store
        .insert_device_code(device_code(1, client.id))
        .await
        .expect("insert");
    let mut later = device_code(2, client.id);
    later.expires_at = NOW + 1200;
    store.insert_device_code(later).await.expect("insert");
    while store.purge(NOW + 600, 100).await.expect("purge").total() > 0 {}
    assert!(
        store
            .find_device_code(&digest(1))
            .await
            .expect("find")
            .is_none(),
        "expired: purged"
    );
    assert!(
        store
            .find_device_code(&digest(2))
            .await
            .expect("find")
            .is_some(),
        "live: kept"
    );
    // Its user code is free again.
    let mut again = device_code(3, client.id);
    again.user_code = digest(101);
    store
        .insert_device_code(again)
        .await
        .expect("a purged user code can be drawn again");
}
