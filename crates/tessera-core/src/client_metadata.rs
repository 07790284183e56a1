//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): the client
//! metadata Tessera serves, read strictly from JSON, turned into a
//! [`Registration`](crate::registration::Registration) so every rule of the other
//! registration paths applies, and the client information answered back.
//!
//! Strict where RFC 7591 is lenient: a field Tessera does not serve is refused with
//! `invalid_client_metadata` naming it (section 2 lets a server ignore it, but a client that
//! sent `jwks` or `userinfo_signed_response_alg` would then believe it got what it asked for);
//! a field sent twice is refused too, as a form parameter sent twice is.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::UnixTime;
use crate::authorize::ResponseType;
use crate::client::{AccessTokenFormat, Client, ClientType, GrantType};
use crate::error::{ErrorCode, OAuthError, safe_for_description};
use crate::registration::{Registration, RegistrationError, SecretChoice};
use crate::scope::{Scope, ScopePolicy};
use crate::token_request::DEVICE_CODE_GRANT_TYPE;

/// How a dynamically registered client authenticates at the token endpoint (RFC 7591
/// section 2). Both secret methods are accepted from every confidential client, as for
/// clients an operator makes; the one registered is kept and answered back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client.
    None,
}

impl TokenEndpointAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    pub fn client_type(self) -> ClientType {
        match self {
            Self::None => ClientType::Public,
            _ => ClientType::Confidential,
        }
    }
}

/// The registered metadata that has no place in [`Client`]: kept beside it by the store and
/// answered back on every read. (`scope` has one: the client's allowed scopes.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredMetadata {
    pub auth_method: TokenEndpointAuthMethod,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub contacts: Vec<String>,
}

/// A registration request (or, for RFC 7592 updates, its replacement), read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    /// What the core's registration rules take: the same as from the command line or pages.
    pub registration: Registration,
    pub extra: RegisteredMetadata,
    /// Updates only: the client id the request names (RFC 7592 section 2.2: it must match).
    pub client_id: Option<String>,
    /// Updates only: a client secret, which must then match the current one.
    pub client_secret: Option<String>,
}

/// Whether the metadata registers a new client or replaces an existing client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Update,
}

/// The metadata Tessera serves: RFC 7591 section 2's fields but `jwks`, `jwks_uri` and the
/// software fields, and OpenID Connect's `post_logout_redirect_uris` and
/// `id_token_signed_response_alg`.
const FIELDS: &[&str] = &[
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "contacts",
    "tos_uri",
    "policy_uri",
    "post_logout_redirect_uris",
    "id_token_signed_response_alg",
];

/// Fields the server sets and a client never sends (RFC 7592 section 2.2).
const SERVER_FIELDS: &[&str] = &[
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
];

fn metadata_error(description: String) -> OAuthError {
    OAuthError::with_text(ErrorCode::InvalidClientMetadata, description)
}

fn redirect_error(description: String) -> OAuthError {
    OAuthError::with_text(ErrorCode::InvalidRedirectUri, description)
}

/// A JSON object's fields in order, each name once.
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;

        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if !seen.insert(name.clone()) {
                        return Err(de::Error::custom("a field appears twice"));
                    }
                    out.push((name, value));
                }
                Ok(Fields(out))
            }
        }

        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// The fields of one request, as read.
#[derive(Default)]
struct Raw {
    strings: Vec<(&'static str, String)>,
    lists: Vec<(&'static str, Vec<String>)>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

impl Raw {
    fn string(&self, name: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn list(&self, name: &str) -> Option<&[String]> {
        self.lists
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }
}

fn read_fields(body: &[u8], purpose: Purpose) -> Result<Raw, OAuthError> {
    let Fields(fields) = serde_json::from_slice(body).map_err(|_| {
        metadata_error("The request body must be one JSON object, each field once.".into())
    })?;
    let mut raw = Raw::default();
    for (name, value) in fields {
        // RFC 7592 section 2.2: null or empty means "not registered" (and on update, "remove").
        if value.is_null() || value.as_str() == Some("") {
            continue;
        }
        let shown = safe_for_description(&name, 64);
        match name.as_str() {
            "jwks" | "jwks_uri" => {
                return Err(metadata_error(format!(
                    "{shown} is not accepted: Tessera does not support private_key_jwt, so a client has no keys to register."
                )));
            }
            "software_statement" => {
                return Err(OAuthError::new(
                    ErrorCode::UnapprovedSoftwareStatement,
                    "Software statements are not accepted by this server.",
                ));
            }
            "client_id" | "client_secret" if purpose == Purpose::Register => {
                return Err(metadata_error(format!(
                    "{shown} is not accepted: the server assigns it."
                )));
            }
            "client_id" | "client_secret" => {
                let Some(text) = value.as_str() else {
                    return Err(metadata_error(format!("{shown} must be a string.")));
                };
                if name == "client_id" {
                    raw.client_id = Some(text.to_owned());
                } else {
                    raw.client_secret = Some(text.to_owned());
                }
            }
            n if SERVER_FIELDS.contains(&n) => {
                return Err(metadata_error(format!(
                    "{shown} is set by the server and must not be sent (RFC 7592 section 2.2)."
                )));
            }
            n => {
                let Some(&known) = FIELDS.iter().find(|f| **f == n) else {
                    return Err(metadata_error(format!(
                        "Unknown or unsupported field: {shown}."
                    )));
                };
                let is_list = matches!(
                    known,
                    "redirect_uris"
                        | "grant_types"
                        | "response_types"
                        | "contacts"
                        | "post_logout_redirect_uris"
                );
                if is_list {
                    let items = value.as_array().and_then(|a| {
                        a.iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                    });
                    let Some(items) = items else {
                        return Err(metadata_error(format!(
                            "{known} must be an array of strings."
                        )));
                    };
                    raw.lists.push((known, items));
                } else {
                    let Some(text) = value.as_str() else {
                        return Err(metadata_error(format!("{known} must be a string.")));
                    };
                    raw.strings.push((known, text.to_owned()));
                }
            }
        }
    }
    Ok(raw)
}

/// Tessera's grant types for a set of RFC 7591 `grant_types` and `response_types`, which must
/// agree (section 2.1): `authorization_code` goes with a response type holding `code`,
/// `implicit` with one holding `token` or `id_token`. Whichever list is missing follows from
/// the other; both missing mean the code flow (the RFC's defaults).
fn grant_types_of(
    grant_types: Option<&[String]>,
    response_types: Option<&[String]>,
) -> Result<Vec<GrantType>, OAuthError> {
    let mut code = false;
    let mut implicit = false;
    let mut refresh = false;
    let mut grants = Vec::new();
    if let Some(list) = grant_types {
        for g in list {
            match g.as_str() {
                "authorization_code" => code = true,
                "implicit" => implicit = true,
                "refresh_token" => refresh = true,
                "password" => grants.push(GrantType::Password),
                "client_credentials" => grants.push(GrantType::ClientCredentials),
                DEVICE_CODE_GRANT_TYPE => grants.push(GrantType::DeviceCode),
                other => {
                    return Err(metadata_error(format!(
                        "grant_types: {} is not supported.",
                        safe_for_description(other, 64)
                    )));
                }
            }
        }
    }
    let response_types: Vec<ResponseType> = match (response_types, grant_types) {
        (Some(list), _) => list
            .iter()
            .map(|t| {
                ResponseType::parse(t).ok_or_else(|| {
                    metadata_error(format!(
                        "response_types: {} is not supported.",
                        safe_for_description(t, 64)
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        (None, Some(_)) => code
            .then_some(ResponseType::Code)
            .into_iter()
            .chain(implicit.then_some(ResponseType::Token))
            .collect(),
        (None, None) => {
            code = true;
            vec![ResponseType::Code]
        }
    };
    if grant_types.is_none() {
        code = response_types.iter().any(|r| r.has_code());
        implicit = response_types
            .iter()
            .any(|r| r.has_token() || r.has_id_token());
    }
    let wants_code = response_types.iter().any(|r| r.has_code());
    let wants_implicit = response_types
        .iter()
        .any(|r| r.has_token() || r.has_id_token());
    if wants_code != code || wants_implicit != implicit {
        return Err(metadata_error(
            "grant_types and response_types disagree: authorization_code goes with code, implicit with token and id_token (RFC 7591 section 2.1)."
                .into(),
        ));
    }
    for rt in response_types {
        grants.push(rt.grant_type());
    }
    grants.sort();
    grants.dedup();
    if refresh && !grants.iter().any(|g| g.issues_refresh_tokens()) {
        return Err(metadata_error(
            "grant_types: refresh_token needs a grant that issues refresh tokens (authorization_code, password or the device code grant)."
                .into(),
        ));
    }
    if grants.is_empty() {
        return Err(metadata_error(
            "grant_types must name at least one grant type.".into(),
        ));
    }
    Ok(grants)
}

/// The `grant_types` a registration answers with: what the client may use, `refresh_token`
/// included whenever its grants issue refresh tokens.
pub fn wire_grant_types(grants: &[GrantType]) -> Vec<&'static str> {
    let mut out = Vec::new();
    let has = |g| grants.contains(&g);
    if has(GrantType::AuthorizationCode) || has(GrantType::OpenidHybrid) {
        out.push("authorization_code");
    }
    if has(GrantType::Implicit) || has(GrantType::OpenidHybrid) {
        out.push("implicit");
    }
    if has(GrantType::Password) {
        out.push("password");
    }
    if has(GrantType::ClientCredentials) {
        out.push("client_credentials");
    }
    if has(GrantType::DeviceCode) {
        out.push(DEVICE_CODE_GRANT_TYPE);
    }
    if grants.iter().any(|g| g.issues_refresh_tokens()) {
        out.push("refresh_token");
    }
    out
}

/// The `response_types` a registration answers with: every response type its grants allow.
pub fn wire_response_types(grants: &[GrantType]) -> Vec<&'static str> {
    ResponseType::ALL
        .into_iter()
        .filter(|rt| {
            grants.contains(&rt.grant_type())
                || (*rt == ResponseType::Code && grants.contains(&GrantType::OpenidHybrid))
        })
        .map(ResponseType::as_str)
        .collect()
}

/// A URL shown to people about a client (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`):
/// absolute `https` or `http`, with a host, without user information (which disguises the
/// host) and without spaces or control characters.
pub fn is_web_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty()
        && !authority.contains('@')
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A contact (RFC 7591 section 2: "typically email addresses"): 1 to 320 characters without
/// spaces or control characters.
fn validate_contact(contact: &str) -> bool {
    !contact.is_empty()
        && contact.chars().count() <= 320
        && !contact.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Reads a registration (RFC 7591 section 3.1) or update (RFC 7592 section 2.2) request body
/// and checks it against every registration rule. Redirect URIs that break a rule are
/// `invalid_redirect_uri`; every other refusal is `invalid_client_metadata` naming the field.
pub fn parse(
    body: &[u8],
    purpose: Purpose,
    scopes: &ScopePolicy,
) -> Result<ClientMetadata, OAuthError> {
    let raw = read_fields(body, purpose)?;
    let auth_method = match raw.string("token_endpoint_auth_method") {
        None => TokenEndpointAuthMethod::ClientSecretBasic,
        Some(text) => TokenEndpointAuthMethod::parse(text).ok_or_else(|| {
            metadata_error(format!(
                "token_endpoint_auth_method {} is not supported: use client_secret_basic, client_secret_post or none.",
                safe_for_description(text, 64)
            ))
        })?,
    };
    let client_type = auth_method.client_type();
    let grant_types = grant_types_of(raw.list("grant_types"), raw.list("response_types"))?;
    if client_type == ClientType::Public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(metadata_error(
            "grant_types: client_credentials needs a confidential client (a token_endpoint_auth_method other than none)."
                .into(),
        ));
    }
    // The scopes the client may be granted (its allowed scopes): those the server knows, and
    // never `introspection`, which only an operator grants.
    let scope = match raw.string("scope") {
        None => None,
        Some(text) => {
            let scope =
                Scope::parse(text).map_err(|_| metadata_error("scope is malformed.".into()))?;
            if !scope.is_subset(&scopes.supported) {
                return Err(metadata_error(
                    "scope names a scope this server does not know.".into(),
                ));
            }
            if scope.contains(crate::introspection::INTROSPECTION_SCOPE) {
                return Err(metadata_error(
                    "scope: introspection is granted only by an operator, never at registration."
                        .into(),
                ));
            }
            (!scope.is_empty()).then(|| scope.to_string())
        }
    };
    for name in ["client_uri", "logo_uri", "tos_uri", "policy_uri"] {
        if let Some(url) = raw.string(name)
            && !is_web_url(url)
        {
            return Err(metadata_error(format!(
                "{name} must be an absolute https or http URL with a host and no user information."
            )));
        }
    }
    let contacts = raw.list("contacts").unwrap_or_default().to_vec();
    if contacts.len() > 20 || !contacts.iter().all(|c| validate_contact(c)) {
        return Err(metadata_error(
            "contacts must be at most 20 addresses of 1 to 320 characters without spaces.".into(),
        ));
    }
    let registration = Registration {
        name: raw.string("client_name").map(str::to_owned),
        client_type,
        grant_types,
        redirect_uris: raw.list("redirect_uris").unwrap_or_default().to_vec(),
        post_logout_redirect_uris: raw
            .list("post_logout_redirect_uris")
            .unwrap_or_default()
            .to_vec(),
        allowed_origins: vec![],
        algorithm: raw
            .string("id_token_signed_response_alg")
            .map(str::to_owned),
        access_token_format: AccessTokenFormat::Opaque,
        logout_revokes_grants: false,
        allowed_scopes: scope,
        // Registered by nobody an operator knows: it introspects its own tokens only.
        introspect_any: false,
        client_id: None,
        secret: SecretChoice::Generate,
    };
    registration.check_redirect_uris().map_err(|e| match e {
        RegistrationError::RedirectUriRequired => redirect_error(
            "redirect_uris is required for the authorization_code and implicit grant types.".into(),
        ),
        other => redirect_error(safe_for_description(&other.to_string(), 200)),
    })?;
    registration.check().map_err(|e| match e {
        RegistrationError::Name => {
            metadata_error("client_name must be 1 to 255 characters.".into())
        }
        RegistrationError::Algorithm(_) => {
            metadata_error("id_token_signed_response_alg must be RS256, ES256 or EdDSA.".into())
        }
        RegistrationError::Hs256 => metadata_error(format!(
            "id_token_signed_response_alg: {}",
            RegistrationError::Hs256
        )),
        RegistrationError::NoGrantType => {
            metadata_error("grant_types must name at least one grant type.".into())
        }
        RegistrationError::AllowedScopes(_) | RegistrationError::IntrospectionForPublicClient => {
            metadata_error(format!(
                "scope: {}",
                safe_for_description(&e.to_string(), 200)
            ))
        }
        other => metadata_error(safe_for_description(&other.to_string(), 200)),
    })?;
    Ok(ClientMetadata {
        registration,
        extra: RegisteredMetadata {
            auth_method,
            client_uri: raw.string("client_uri").map(str::to_owned),
            logo_uri: raw.string("logo_uri").map(str::to_owned),
            tos_uri: raw.string("tos_uri").map(str::to_owned),
            policy_uri: raw.string("policy_uri").map(str::to_owned),
            contacts,
        },
        client_id: raw.client_id,
        client_secret: raw.client_secret,
    })
}

/// Checks an update (RFC 7592 section 2.2) against the client it replaces: the same client id,
/// the current secret if one is sent, and the same kind of client (a public client cannot
/// become confidential or the reverse: that is a new registration).
pub fn check_update(update: &ClientMetadata, client: &Client) -> Result<(), OAuthError> {
    if update.client_id.as_deref() != Some(client.client_id.as_str()) {
        return Err(OAuthError::invalid_request(
            "The request must repeat the client's client_id (RFC 7592 section 2.2).",
        ));
    }
    if let Some(secret) = &update.client_secret {
        let presented = crate::client::PresentedCredentials {
            client_id: client.client_id.clone(),
            secret: Some(secret.clone()),
            method: crate::client::AuthMethod::Post,
        };
        if client.check_secret(&presented) != crate::client::SecretCheck::Valid {
            return Err(metadata_error(
                "client_secret does not match the client's current secret; a client cannot choose its secret."
                    .into(),
            ));
        }
    }
    if update.registration.client_type != client.client_type {
        return Err(metadata_error(
            "token_endpoint_auth_method cannot change between none and a secret method: register a new client instead."
                .into(),
        ));
    }
    Ok(())
}

/// The client information response (RFC 7591 section 3.2.1, RFC 7592 section 3).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ClientInformation {
    pub client_id: String,
    /// Only when just generated (registration): Tessera keeps only its digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: UnixTime,
    /// 0: the secret does not expire; only for confidential clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub registration_access_token: String,
    pub registration_client_uri: String,
    pub client_name: String,
    pub token_endpoint_auth_method: &'static str,
    pub grant_types: Vec<&'static str>,
    pub response_types: Vec<&'static str>,
    pub redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
}

impl fmt::Debug for ClientInformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInformation")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Secrets that go out with a client information response, once.
pub struct Issued<'a> {
    pub client_secret: Option<String>,
    pub registration_access_token: String,
    pub registration_client_uri: &'a str,
}

impl ClientInformation {
    pub fn new(client: &Client, extra: &RegisteredMetadata, issued: Issued<'_>) -> Self {
        Self {
            client_id: client.client_id.clone(),
            client_secret: issued.client_secret,
            client_id_issued_at: client.created_at,
            client_secret_expires_at: (client.client_type == ClientType::Confidential).then_some(0),
            registration_access_token: issued.registration_access_token,
            registration_client_uri: issued.registration_client_uri.to_owned(),
            client_name: client.name.clone(),
            token_endpoint_auth_method: extra.auth_method.as_str(),
            grant_types: wire_grant_types(&client.grant_types),
            response_types: wire_response_types(&client.grant_types),
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            scope: client.allowed_scopes.clone(),
            client_uri: extra.client_uri.clone(),
            logo_uri: extra.logo_uri.clone(),
            tos_uri: extra.tos_uri.clone(),
            policy_uri: extra.policy_uri.clone(),
            contacts: extra.contacts.clone(),
            id_token_signed_response_alg: client.algorithm.clone(),
        }
    }
}

/// An initial access token (RFC 7591 section 3), as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessToken {
    pub id: i64,
    /// At most this many clients may be registered with it; `None`: no limit.
    pub max_clients: Option<i64>,
    pub clients_registered: i64,
    pub created_at: UnixTime,
}

impl InitialAccessToken {
    /// Whether one more client may be registered with it.
    pub fn may_register(&self) -> bool {
        self.max_clients
            .is_none_or(|max| self.clients_registered < max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(json: &str) -> Result<ClientMetadata, (ErrorCode, String)> {
        parse(json.as_bytes(), Purpose::Register, &ScopePolicy::default()).map_err(|e| {
            (
                e.code,
                e.description.map(|d| d.into_owned()).unwrap_or_default(),
            )
        })
    }

    fn code_of(json: &str) -> ErrorCode {
        register(json).expect_err(json).0
    }

    #[test]
    fn a_web_application_with_defaults() {
        let m = register(r#"{"redirect_uris":["https://app.example/cb"],"client_name":"Web"}"#)
            .expect("valid");
        assert_eq!(m.registration.client_type, ClientType::Confidential);
        assert_eq!(
            m.registration.grant_types,
            vec![GrantType::AuthorizationCode]
        );
        assert_eq!(m.registration.name.as_deref(), Some("Web"));
        assert_eq!(
            m.extra.auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic
        );
        assert_eq!(m.registration.secret, SecretChoice::Generate);
    }

    #[test]
    fn a_public_tv_application_for_the_device_grant() {
        let m = register(
            r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code","refresh_token"],
                "token_endpoint_auth_method":"none","scope":"openid read","contacts":["ops@tv.example"]}"#,
        )
        .expect("valid");
        assert_eq!(m.registration.client_type, ClientType::Public);
        assert_eq!(m.registration.grant_types, vec![GrantType::DeviceCode]);
        assert!(m.registration.redirect_uris.is_empty());
        assert_eq!(
            m.registration.allowed_scopes.as_deref(),
            Some("openid read")
        );
        assert!(!m.registration.introspect_any, "its own tokens only");
        assert_eq!(
            wire_grant_types(&m.registration.grant_types),
            vec![DEVICE_CODE_GRANT_TYPE, "refresh_token"]
        );
        assert!(wire_response_types(&m.registration.grant_types).is_empty());
    }

    #[test]
    fn grant_and_response_types_must_agree() {
        let hybrid = register(
            r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code","implicit"],"response_types":["code id_token"]}"#,
        )
        .expect("hybrid");
        assert_eq!(
            hybrid.registration.grant_types,
            vec![GrantType::OpenidHybrid]
        );
        let echoed = wire_response_types(&hybrid.registration.grant_types);
        assert!(echoed.contains(&"code") && echoed.contains(&"code id_token token"));
        let implicit = register(
            r#"{"redirect_uris":["https://a.example/cb"],"response_types":["id_token token"]}"#,
        )
        .expect("implicit from the response type alone");
        assert_eq!(implicit.registration.grant_types, vec![GrantType::Implicit]);
        let service =
            register(r#"{"grant_types":["client_credentials"]}"#).expect("no response type");
        assert_eq!(
            service.registration.grant_types,
            vec![GrantType::ClientCredentials]
        );
        for bad in [
            r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code"],"response_types":["token"]}"#,
            r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"],"response_types":["code"]}"#,
            r#"{"grant_types":["client_credentials"],"response_types":["code"]}"#,
            r#"{"grant_types":["client_credentials","refresh_token"]}"#,
            r#"{"grant_types":["urn:ietf:params:oauth:grant-type:jwt-bearer"]}"#,
            r#"{"response_types":["code token id_token none"]}"#,
            r#"{"grant_types":[]}"#,
            r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#,
        ] {
            assert_eq!(code_of(bad), ErrorCode::InvalidClientMetadata, "{bad}");
        }
    }

    #[test]
    fn every_refused_field_is_named() {
        for (json, named) in [
            (r#"{"jwks_uri":"https://a.example/jwks"}"#, "jwks_uri"),
            (r#"{"jwks":{"keys":[]}}"#, "jwks"),
            (r#"{"software_id":"x"}"#, "software_id"),
            (r#"{"application_type":"web"}"#, "application_type"),
            (r#"{"client_id":"mine"}"#, "client_id"),
            (r#"{"client_secret":"mine"}"#, "client_secret"),
            (
                r#"{"registration_access_token":"x"}"#,
                "registration_access_token",
            ),
            (
                r#"{"token_endpoint_auth_method":"private_key_jwt"}"#,
                "private_key_jwt",
            ),
            (r#"{"client_uri":"javascript:alert(1)"}"#, "client_uri"),
            (
                r#"{"logo_uri":"https://user@evil.example/x.png"}"#,
                "logo_uri",
            ),
            (r#"{"tos_uri":"/relative"}"#, "tos_uri"),
            (r#"{"policy_uri":"ftp://a.example/p"}"#, "policy_uri"),
            (r#"{"scope":"read nuke"}"#, "scope"),
            (r#"{"scope":"read introspection"}"#, "introspection"),
            (r#"{"contacts":["a b"]}"#, "contacts"),
            (r#"{"contacts":"ops@a.example"}"#, "contacts"),
            (r#"{"client_name":5}"#, "client_name"),
            (
                r#"{"id_token_signed_response_alg":"HS256","grant_types":["password"]}"#,
                "HS256",
            ),
            (
                r#"{"id_token_signed_response_alg":"none","grant_types":["password"]}"#,
                "id_token_signed_response_alg",
            ),
            (
                r#"{"client_name":"","grant_types":["password"],"x\"y":1}"#,
                "x'y",
            ),
        ] {
            let (code, description) = register(json).expect_err(json);
            assert_eq!(code, ErrorCode::InvalidClientMetadata, "{json}");
            assert!(description.contains(named), "{json}: {description}");
        }
        assert_eq!(
            code_of(r#"{"software_statement":"eyJ..."}"#),
            ErrorCode::UnapprovedSoftwareStatement
        );
    }

    #[test]
    fn redirect_uris_are_held_to_the_registration_rules() {
        for bad in [
            r#"{"redirect_uris":["https://a.example/cb#frag"]}"#,
            r#"{"redirect_uris":["relative/cb"]}"#,
            r#"{"redirect_uris":[]}"#,
            r#"{}"#,
            r#"{"grant_types":["password"],"post_logout_redirect_uris":["https://a.example/out#x"]}"#,
        ] {
            assert_eq!(code_of(bad), ErrorCode::InvalidRedirectUri, "{bad}");
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for bad in [
            "",
            "[]",
            "nope",
            r#"{"client_name":"a","client_name":"b"}"#,
            r#"{"redirect_uris":[1]}"#,
        ] {
            assert_eq!(code_of(bad), ErrorCode::InvalidClientMetadata, "{bad}");
        }
    }

    #[test]
    fn updates_repeat_the_client_id_and_keep_the_client_type() {
        let body = r#"{"client_id":"abc","client_secret":"s","grant_types":["password"]}"#;
        let m = parse(body.as_bytes(), Purpose::Update, &ScopePolicy::default()).expect("valid");
        let mut client = crate::grant::tests::client(1);
        client.client_id = "abc".into();
        assert_eq!(check_update(&m, &client), Ok(()));
        client.client_id = "other".into();
        assert_eq!(
            check_update(&m, &client).map_err(|e| e.code),
            Err(ErrorCode::InvalidRequest)
        );
        client.client_id = "abc".into();
        client.secret = crate::client::SecretHash::sha256_of("t");
        assert_eq!(
            check_update(&m, &client).map_err(|e| e.code),
            Err(ErrorCode::InvalidClientMetadata),
            "a wrong secret"
        );
        client.secret = crate::client::SecretHash::sha256_of("s");
        client.client_type = ClientType::Public;
        assert_eq!(
            check_update(&m, &client).map_err(|e| e.code),
            Err(ErrorCode::InvalidClientMetadata)
        );
    }

    #[test]
    fn initial_access_tokens_count_their_clients() {
        let mut t = InitialAccessToken {
            id: 1,
            max_clients: Some(2),
            clients_registered: 1,
            created_at: 0,
        };
        assert!(t.may_register());
        t.clients_registered = 2;
        assert!(!t.may_register());
        t.max_clients = None;
        assert!(t.may_register());
    }
}
