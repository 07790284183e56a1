//! RFC 8414 metadata, health and readiness.

use tessera_web::paths;

#[tokio::test]
async fn authorization_server_metadata_lists_what_is_served() {
    let server = crate::common::TestServer::start().await;
    let r = server
        .http
        .get(server.url(paths::AUTHORIZATION_SERVER_METADATA))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let m: serde_json::Value = r.json().await.expect("json");
    assert_eq!(m["issuer"], server.issuer.as_str(), "RFC 8414 section 3.3");
    assert_eq!(m["token_endpoint"], server.url(paths::TOKEN).as_str());
    assert_eq!(m["revocation_endpoint"], server.url(paths::REVOKE).as_str());
    assert_eq!(
        m["introspection_endpoint"],
        server.url(paths::INTROSPECT).as_str()
    );
    let grants = m["grant_types_supported"].as_array().expect("grant types");
    for g in ["password", "client_credentials", "refresh_token"] {
        assert!(grants.iter().any(|v| v == g), "{g}");
    }
    let methods = m["token_endpoint_auth_methods_supported"]
        .as_array()
        .expect("methods");
    assert!(methods.iter().any(|v| v == "client_secret_basic"));
    assert!(methods.iter().any(|v| v == "client_secret_post"));
    assert!(
        m["scopes_supported"]
            .as_array()
            .expect("scopes")
            .iter()
            .any(|v| v == "read")
    );

    // Every advertised endpoint answers.
    for key in [
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        let url = m[key].as_str().expect("url");
        let r = server
            .http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .expect("request");
        assert_ne!(r.status(), 404, "{key}");
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let server = crate::common::TestServer::start().await;
    for path in [paths::HEALTH, paths::READY, &format!("{}/", paths::HEALTH)] {
        let r = server
            .http
            .get(server.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn both_documents_name_the_device_authorization_endpoint() {
    let server = crate::common::TestServer::start().await;
    for path in [
        paths::AUTHORIZATION_SERVER_METADATA,
        paths::OPENID_CONFIGURATION,
    ] {
        let m: serde_json::Value = server
            .http
            .get(server.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(
            m["device_authorization_endpoint"],
            server.url(paths::DEVICE_AUTHORIZATION).as_str(),
            "{path}: RFC 8628 section 4"
        );
        let grants = m["grant_types_supported"].as_array().expect("grant types");
        assert!(
            grants
                .iter()
                .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code"),
            "{path}"
        );
        assert!(m.get("registration_endpoint").is_none(), "off by default");
    }
}
