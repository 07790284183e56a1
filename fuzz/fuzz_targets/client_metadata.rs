//! The metadata a dynamic registration sends (RFC 7591, RFC 7592): never a panic, and
//! whatever is accepted keeps every registration rule and serializes as client information.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::client::{AccessTokenFormat, Client, SecretHash, validate_redirect_uri};
use tessera_core::client_metadata::{ClientInformation, Issued, Purpose, parse};
use tessera_core::error::ErrorCode;
use tessera_core::scope::ScopePolicy;

fuzz_target!(|data: &[u8]| {
    let policy = ScopePolicy::default();
    for purpose in [Purpose::Register, Purpose::Update] {
        match parse(data, purpose, &policy) {
            Ok(m) => {
                let reg = &m.registration;
                assert_eq!(reg.check(), Ok(()));
                assert!(!reg.grant_types.is_empty());
                for uri in reg
                    .redirect_uris
                    .iter()
                    .chain(&reg.post_logout_redirect_uris)
                {
                    assert!(validate_redirect_uri(uri).is_ok(), "{uri:?}");
                }
                assert!(!reg.introspect_any);
                let client = Client {
                    id: 1,
                    client_id: "c".into(),
                    name: reg.name.clone().unwrap_or_default(),
                    client_type: reg.client_type,
                    grant_types: reg.grant_types.clone(),
                    secret: SecretHash::None,
                    redirect_uris: reg.redirect_uris.clone(),
                    post_logout_redirect_uris: reg.post_logout_redirect_uris.clone(),
                    allowed_origins: vec![],
                    user_id: None,
                    skip_authorization: false,
                    algorithm: reg.algorithm.clone(),
                    access_token_format: AccessTokenFormat::Opaque,
                    logout_revokes_grants: false,
                    allowed_scopes: reg.allowed_scopes.clone(),
                    introspect_any: false,
                    created_at: 0,
                };
                let info = ClientInformation::new(
                    &client,
                    &m.extra,
                    Issued {
                        client_secret: None,
                        registration_access_token: "tsra_x".into(),
                        registration_client_uri: "https://id.example/o/register/c/",
                    },
                );
                assert!(serde_json::to_vec(&info).is_ok());
            }
            Err(e) => {
                assert!(matches!(
                    e.code,
                    ErrorCode::InvalidClientMetadata
                        | ErrorCode::InvalidRedirectUri
                        | ErrorCode::UnapprovedSoftwareStatement
                ));
                let d = e.description.unwrap_or_default();
                assert!(
                    d.chars()
                        .all(|c| c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\')),
                    "{d:?}"
                );
            }
        }
    }
});
