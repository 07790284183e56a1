//! The signed-in user's pages: applications and authorized access, over HTTP.

use tessera_core::client::ClientType;
use tessera_web::paths;

use crate::common::{Browser, TestServer, hidden_fields, location};

#[tokio::test]
async fn register_edit_and_delete_an_application() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    server.user("bob", "pw").await;
    let mut alice = Browser::new(&server);
    alice.sign_in("alice", "pw").await;

    let form = alice
        .get(paths::APPLICATION_REGISTER)
        .await
        .text()
        .await
        .expect("form");
    let mut fields = hidden_fields(&form);
    fields.extend([
        ("name".into(), "My <App>".into()),
        ("client_type".into(), "confidential".into()),
        ("grant.authorization-code".into(), "on".into()),
        ("redirect_uris".into(), "https://my.example/cb".into()),
    ]);
    let bad: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "redirect_uris")
        .cloned()
        .collect();
    let r = alice.post_form(paths::APPLICATION_REGISTER, &bad).await;
    assert_eq!(r.status(), 400, "a code application needs a redirect URI");
    assert!(
        r.text()
            .await
            .expect("page")
            .contains("redirect URI is required")
    );

    let r = alice.post_form(paths::APPLICATION_REGISTER, &fields).await;
    assert_eq!(r.status(), 201);
    let page = r.text().await.expect("detail");
    assert!(page.contains("My &lt;App&gt;"), "names are escaped");
    let secret = page
        .split("id=\"client-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("secret shown")
        .to_owned();
    let client_id = page
        .split("id=\"client-id\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("client id")
        .to_owned();
    assert!(secret.starts_with("tscs_"));

    // The secret works, and is never shown again.
    let client = server
        .store
        .client_by_client_id(&client_id)
        .await
        .expect("store")
        .expect("registered");
    let detail = alice
        .get(&paths::application_detail(client.id))
        .await
        .text()
        .await
        .expect("detail");
    assert!(detail.contains(&client_id));
    assert!(!detail.contains(&secret));
    let list = alice
        .get(paths::APPLICATIONS)
        .await
        .text()
        .await
        .expect("list");
    assert!(list.contains(&client_id));

    // Bob can see none of it.
    let mut bob = Browser::new(&server);
    bob.sign_in("bob", "pw").await;
    for path in [
        paths::application_detail(client.id),
        paths::application_update(client.id),
        paths::application_delete(client.id),
    ] {
        let r = bob.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    assert!(
        !bob.get(paths::APPLICATIONS)
            .await
            .text()
            .await
            .expect("list")
            .contains(&client_id)
    );

    // Edit.
    let form = alice
        .get(&paths::application_update(client.id))
        .await
        .text()
        .await
        .expect("form");
    let mut fields = hidden_fields(&form);
    fields.extend([
        ("name".into(), "Renamed".into()),
        ("grant.authorization-code".into(), "on".into()),
        ("grant.password".into(), "on".into()),
        (
            "redirect_uris".into(),
            "https://my.example/cb\nhttps://my.example/cb2".into(),
        ),
    ]);
    let r = alice
        .post_form(&paths::application_update(client.id), &fields)
        .await;
    assert_eq!(r.status(), 303);
    let updated = server
        .store
        .client_by_pk(client.id)
        .await
        .expect("store")
        .expect("exists");
    assert_eq!(updated.name, "Renamed");
    assert_eq!(updated.redirect_uris.len(), 2);

    // Delete: its tokens die with it.
    server.user("carol", "pw").await;
    let tokens = server
        .post(
            paths::TOKEN,
            "grant_type=password&username=carol&password=pw",
            &[(
                "Authorization",
                &crate::common::TestClient {
                    id: client_id.clone(),
                    secret: Some(secret.clone()),
                }
                .basic(),
            )],
        )
        .await;
    assert_eq!(tokens.status(), 200);
    let access = tokens.json::<serde_json::Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("at")
        .to_owned();
    let confirm = alice
        .get(&paths::application_delete(client.id))
        .await
        .text()
        .await
        .expect("confirm");
    let r = alice
        .post_form(
            &paths::application_delete(client.id),
            &hidden_fields(&confirm),
        )
        .await;
    assert_eq!(r.status(), 303);
    let rs = server.confidential().await;
    assert!(!server.is_active(&rs, &access).await);
    assert!(
        server
            .store
            .client_by_pk(client.id)
            .await
            .expect("store")
            .is_none()
    );
}

#[tokio::test]
async fn users_revoke_what_they_granted() {
    let server = TestServer::start().await;
    server.user("alice", "pw").await;
    server.user("bob", "pw").await;
    let app = server.web_app(ClientType::Confidential).await;
    let password_app = server.confidential().await;
    let tokens = server.password_tokens(&password_app, "alice", "pw").await;
    let bobs = server.password_tokens(&password_app, "bob", "pw").await;

    let mut alice = Browser::new(&server);
    alice.sign_in("alice", "pw").await;
    let page = alice
        .get(paths::AUTHORIZED_TOKENS)
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Test app"));
    assert!(page.contains("read write"));
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a revoke form")
        .to_owned();

    // Bob cannot revoke Alice's grant.
    let mut bob = Browser::new(&server);
    bob.sign_in("bob", "pw").await;
    let bob_page = bob
        .get(paths::AUTHORIZED_TOKENS)
        .await
        .text()
        .await
        .expect("page");
    let r = bob.post_form(&action, &hidden_fields(&bob_page)[..1]).await;
    assert_eq!(r.status(), 404);
    assert!(server.is_active(&password_app, &tokens.access()).await);

    let r = alice.post_form(&action, &hidden_fields(&page)[..1]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), paths::AUTHORIZED_TOKENS);
    assert!(!server.is_active(&password_app, &tokens.access()).await);
    assert!(!server.is_active(&password_app, &tokens.refresh()).await);
    assert!(server.is_active(&password_app, &bobs.access()).await);
    let page = alice
        .get(paths::AUTHORIZED_TOKENS)
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("You have not given any application access."));
    let _ = app;
}

#[tokio::test]
async fn user_pages_require_sign_in() {
    let server = TestServer::start().await;
    let mut anonymous = Browser::new(&server);
    for path in [
        paths::APPLICATIONS,
        paths::APPLICATION_REGISTER,
        paths::AUTHORIZED_TOKENS,
        &paths::application_detail(1),
    ] {
        let r = anonymous.get(path).await;
        assert_eq!(r.status(), 302, "{path}");
        assert_eq!(
            location(&r),
            format!("{}?next={}", paths::LOGIN, tessera_core::form::encode(path))
        );
    }
}
