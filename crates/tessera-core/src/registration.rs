//! Registering a client, from the command line or the applications page: one set of rules,
//! one place that fills in what the registrant did not choose.
//!
//! The rules: a name of 1 to 255 characters; at least one grant type; well-formed redirect
//! URIs (absolute, no fragment: RFC 6749 section 3.1.2), post-logout URIs and origins; a
//! redirect URI for every grant that sends the browser back; a signing algorithm from
//! [`SIGNING_ALGORITHMS`]; a chosen client id of URL-safe characters; a secret only for a
//! confidential client, never empty. Only an operator may choose a client id or a secret.

use crate::client::{
    AccessTokenFormat, ClientType, GrantType, SecretHash, validate_client_id, validate_origin,
    validate_redirect_uri,
};
use crate::entropy::{Entropy, alphanumeric};
use crate::password;
use crate::token::{self, TokenKind};

/// The signing algorithms an application may name for its ID tokens and JWT access tokens.
///
/// HS256 is not among them: it signs with the client's secret as the key (OIDC Core section
/// 10.1), and Tessera keeps only a hash of every client secret, so no client's secret can
/// serve as a key. It is refused with [`RegistrationError::Hs256`], which says why.
pub const SIGNING_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// Length of a generated client id: 40 alphanumeric characters, about 238 bits.
const CLIENT_ID_LENGTH: usize = 40;

/// How a confidential client gets its secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretChoice {
    /// A generated 256-bit secret, verified by SHA-256.
    Generate,
    /// A secret the operator chose, hashed with Argon2id (tens of milliseconds).
    Chosen(String),
}

impl std::fmt::Debug for SecretChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Generate => f.write_str("Generate"),
            Self::Chosen(_) => f.write_str("Chosen(..)"),
        }
    }
}

/// What a registrant asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// `None`: the client id is the name.
    pub name: Option<String>,
    pub client_type: ClientType,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub algorithm: Option<String>,
    pub access_token_format: AccessTokenFormat,
    pub logout_revokes_grants: bool,
    /// The scopes it may be granted, space-separated; `None`: the default (every scope but
    /// `introspection`).
    pub allowed_scopes: Option<String>,
    /// Whether it may introspect every token (an operator's resource server) or only its own.
    pub introspect_any: bool,
    /// `None`: generated.
    pub client_id: Option<String>,
    /// Ignored for public clients unless [`SecretChoice::Chosen`], which is refused for them.
    pub secret: SecretChoice,
}

/// Why a registration is refused. The command line and the pages word it for their users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("the application needs a name of 1 to 255 characters")]
    Name,
    #[error("choose at least one grant type")]
    NoGrantType,
    #[error("unknown signing algorithm {0:?}: expected one of RS256, ES256, EdDSA")]
    Algorithm(String),
    #[error(
        "HS256 is not offered: it signs with the client secret, and Tessera stores only a hash of every client secret, so no client can use it; choose RS256, ES256 or EdDSA"
    )]
    Hs256,
    #[error(
        "a redirect URI is required for authorization-code, implicit and openid-hybrid applications"
    )]
    RedirectUriRequired,
    #[error("a public client has no secret")]
    SecretForPublicClient,
    #[error("the client secret must not be empty")]
    EmptySecret,
    #[error("invalid allowed scopes {0:?}: a space-separated list of scope names")]
    AllowedScopes(String),
    #[error(
        "a public client cannot be allowed the introspection scope: its client_id alone proves nothing"
    )]
    IntrospectionForPublicClient,
    /// A malformed client id, URI or origin; the text says which and why.
    #[error("{0}")]
    Invalid(String),
    /// Hashing the chosen secret failed.
    #[error("cannot hash the client secret: {0}")]
    Hash(String),
}

/// A registration checked and completed: what to store, and the secret to show once.
#[derive(Clone, PartialEq, Eq)]
pub struct Registered {
    pub client_id: String,
    pub name: String,
    pub secret: SecretHash,
    /// The clear secret, to show the registrant once; never stored.
    pub secret_text: Option<String>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// Checks every rule; used as is when an application is edited (its id and secret do not
    /// change).
    pub fn check(&self) -> Result<(), RegistrationError> {
        if let Some(name) = &self.name
            && (name.trim().is_empty() || name.len() > 255)
        {
            return Err(RegistrationError::Name);
        }
        if self.grant_types.is_empty() {
            return Err(RegistrationError::NoGrantType);
        }
        if let Some(alg) = &self.algorithm {
            if alg == "HS256" {
                return Err(RegistrationError::Hs256);
            }
            if !SIGNING_ALGORITHMS.contains(&alg.as_str()) {
                return Err(RegistrationError::Algorithm(alg.clone()));
            }
        }
        if let Some(id) = &self.client_id {
            validate_client_id(id).map_err(RegistrationError::Invalid)?;
        }
        if let Some(list) = &self.allowed_scopes {
            let scope = crate::scope::Scope::parse(list)
                .map_err(|_| RegistrationError::AllowedScopes(list.clone()))?;
            if self.client_type == ClientType::Public
                && scope.contains(crate::introspection::INTROSPECTION_SCOPE)
            {
                return Err(RegistrationError::IntrospectionForPublicClient);
            }
        }
        match (&self.client_type, &self.secret) {
            (ClientType::Public, SecretChoice::Chosen(_)) => {
                return Err(RegistrationError::SecretForPublicClient);
            }
            (ClientType::Confidential, SecretChoice::Chosen(s)) if s.is_empty() => {
                return Err(RegistrationError::EmptySecret);
            }
            _ => {}
        }
        self.check_redirect_uris()?;
        for origin in &self.allowed_origins {
            validate_origin(origin).map_err(RegistrationError::Invalid)?;
        }
        Ok(())
    }

    /// The rules on where a browser may be sent (redirect and post-logout URIs), part of
    /// [`Registration::check`]; apart so that dynamic registration can answer their failures
    /// with `invalid_redirect_uri` (RFC 7591 section 3.2.2).
    pub fn check_redirect_uris(&self) -> Result<(), RegistrationError> {
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
        {
            validate_redirect_uri(uri).map_err(RegistrationError::Invalid)?;
        }
        let redirecting = [
            GrantType::AuthorizationCode,
            GrantType::Implicit,
            GrantType::OpenidHybrid,
        ];
        if self.redirect_uris.is_empty() && self.grant_types.iter().any(|g| redirecting.contains(g))
        {
            return Err(RegistrationError::RedirectUriRequired);
        }
        Ok(())
    }
}

/// What an operator changes in an application (the command line's `application update`, the
/// admin API's `PATCH`): each field given replaces the stored one; `None` keeps it. The
/// client id, its type and its secret never change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationChanges {
    pub name: Option<String>,
    pub grant_types: Option<Vec<GrantType>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    /// `Some(None)`: back to the default, RS256.
    pub algorithm: Option<Option<String>>,
    pub access_token_format: Option<AccessTokenFormat>,
    pub logout_revokes_grants: Option<bool>,
    /// `Some(None)`: back to the default (every scope but `introspection`).
    pub allowed_scopes: Option<Option<String>>,
}

impl ApplicationChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The registration `client` would have with these changes, to be checked by
    /// [`Registration::check`] exactly as a new one is.
    pub fn apply(&self, client: &crate::client::Client) -> Registration {
        Registration {
            name: Some(self.name.clone().unwrap_or_else(|| client.name.clone())),
            client_type: client.client_type,
            grant_types: self
                .grant_types
                .clone()
                .unwrap_or_else(|| client.grant_types.clone()),
            redirect_uris: self
                .redirect_uris
                .clone()
                .unwrap_or_else(|| client.redirect_uris.clone()),
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .clone()
                .unwrap_or_else(|| client.post_logout_redirect_uris.clone()),
            allowed_origins: self
                .allowed_origins
                .clone()
                .unwrap_or_else(|| client.allowed_origins.clone()),
            algorithm: self
                .algorithm
                .clone()
                .unwrap_or_else(|| client.algorithm.clone()),
            access_token_format: self
                .access_token_format
                .unwrap_or(client.access_token_format),
            logout_revokes_grants: self
                .logout_revokes_grants
                .unwrap_or(client.logout_revokes_grants),
            allowed_scopes: self
                .allowed_scopes
                .clone()
                .unwrap_or_else(|| client.allowed_scopes.clone()),
            introspect_any: client.introspect_any,
            // The id was checked when it was chosen (or imported); it does not change.
            client_id: None,
            secret: SecretChoice::Generate,
        }
    }
}

/// Checks `reg` and completes it: a generated client id unless one was chosen, and the
/// secret's hash with its clear text to show once. A chosen secret costs an Argon2id hash:
/// call this off an async runtime's worker threads when `reg.secret` is chosen.
pub fn register(
    reg: &Registration,
    entropy: &dyn Entropy,
) -> Result<Registered, RegistrationError> {
    reg.check()?;
    let client_id = reg
        .client_id
        .clone()
        .unwrap_or_else(|| alphanumeric(entropy, CLIENT_ID_LENGTH));
    let (secret_text, secret) = match (reg.client_type, &reg.secret) {
        (ClientType::Public, _) => (None, SecretHash::None),
        (ClientType::Confidential, SecretChoice::Generate) => {
            let generated = token::generate(TokenKind::ClientSecret, entropy);
            (Some(generated.text), SecretHash::Sha256(generated.digest.0))
        }
        (ClientType::Confidential, SecretChoice::Chosen(chosen)) => {
            let hash = password::hash(chosen, entropy).map_err(RegistrationError::Hash)?;
            (Some(chosen.clone()), SecretHash::Argon2(hash))
        }
    };
    Ok(Registered {
        name: reg.name.clone().unwrap_or_else(|| client_id.clone()),
        client_id,
        secret,
        secret_text,
    })
}

/// A username: 1 to 150 characters (Django's limit) without spaces or control characters,
/// so it reads unambiguously in logs, pages and the command line.
pub fn validate_username(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= 150
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid username {name:?}: use 1 to 150 characters without spaces"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    fn web_app() -> Registration {
        Registration {
            name: Some("Web".into()),
            client_type: ClientType::Confidential,
            grant_types: vec![GrantType::AuthorizationCode],
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            algorithm: None,
            access_token_format: AccessTokenFormat::Opaque,
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: true,
            client_id: None,
            secret: SecretChoice::Generate,
        }
    }

    #[test]
    fn a_generated_registration_gets_an_id_and_a_secret_shown_once() {
        let done = register(&web_app(), &SeededEntropy::new(1)).expect("valid");
        assert_eq!(done.client_id.len(), 40);
        assert!(done.client_id.bytes().all(|b| b.is_ascii_alphanumeric()));
        let text = done
            .secret_text
            .expect("a confidential client has a secret");
        assert_eq!(done.secret, SecretHash::sha256_of(&text));
        assert_eq!(done.name, "Web");
    }

    #[test]
    fn public_clients_have_no_secret_and_may_not_choose_one() {
        let mut reg = web_app();
        reg.client_type = ClientType::Public;
        let done = register(&reg, &SeededEntropy::new(1)).expect("valid");
        assert_eq!((done.secret, done.secret_text), (SecretHash::None, None));
        reg.secret = SecretChoice::Chosen("s".into());
        assert_eq!(reg.check(), Err(RegistrationError::SecretForPublicClient));
    }

    #[test]
    fn a_chosen_id_and_secret_are_kept_and_the_secret_hashed_with_argon2() {
        let mut reg = web_app();
        reg.name = None;
        reg.client_id = Some("billing.v2".into());
        reg.secret = SecretChoice::Chosen("chosen secret".into());
        let done = register(&reg, &SeededEntropy::new(1)).expect("valid");
        assert_eq!(
            (done.client_id.as_str(), done.name.as_str()),
            ("billing.v2", "billing.v2")
        );
        match &done.secret {
            SecretHash::Argon2(phc) => assert!(password::verify("chosen secret", phc)),
            other => panic!("expected an Argon2 hash, got {other:?}"),
        }
        reg.secret = SecretChoice::Chosen(String::new());
        assert_eq!(reg.check(), Err(RegistrationError::EmptySecret));
    }

    #[test]
    fn every_rule_is_checked() {
        let refused = |change: fn(&mut Registration)| {
            let mut reg = web_app();
            change(&mut reg);
            reg.check().expect_err("refused")
        };
        assert_eq!(
            refused(|r| r.name = Some(" ".into())),
            RegistrationError::Name
        );
        assert_eq!(
            refused(|r| r.name = Some("x".repeat(256))),
            RegistrationError::Name
        );
        assert_eq!(
            refused(|r| r.grant_types.clear()),
            RegistrationError::NoGrantType
        );
        assert_eq!(
            refused(|r| r.redirect_uris.clear()),
            RegistrationError::RedirectUriRequired
        );
        assert!(matches!(
            refused(|r| r.algorithm = Some("none".into())),
            RegistrationError::Algorithm(_)
        ));
        assert_eq!(
            refused(|r| {
                r.client_type = ClientType::Public;
                r.secret = SecretChoice::Generate;
                r.allowed_scopes = Some("read introspection".into());
            }),
            RegistrationError::IntrospectionForPublicClient
        );
        assert!(matches!(
            refused(|r| r.allowed_scopes = Some("read \"write".into())),
            RegistrationError::AllowedScopes(_)
        ));
        assert_eq!(
            refused(|r| r.algorithm = Some("HS256".into())),
            RegistrationError::Hs256,
            "no stored secret can be an HMAC key"
        );
        assert!(matches!(
            refused(|r| r.client_id = Some("has space".into())),
            RegistrationError::Invalid(_)
        ));
        assert!(matches!(
            refused(|r| r.redirect_uris = vec!["https://app.example/cb#frag".into()]),
            RegistrationError::Invalid(_)
        ));
        assert!(matches!(
            refused(|r| r.allowed_origins = vec!["https://app.example/path".into()]),
            RegistrationError::Invalid(_)
        ));
        let mut password_only = web_app();
        password_only.grant_types = vec![GrantType::Password];
        password_only.redirect_uris.clear();
        assert_eq!(password_only.check(), Ok(()), "no redirect needed");
    }

    #[test]
    fn usernames() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username(&"é".repeat(150)).is_ok());
        for bad in ["", "a b", "a\tb", "a\u{0}b"] {
            assert!(validate_username(bad).is_err(), "{bad:?}");
        }
        assert!(validate_username(&"a".repeat(151)).is_err());
    }

    #[test]
    fn changes_keep_what_they_do_not_name_and_are_checked_like_a_registration() {
        let client = crate::client::Client {
            id: 1,
            client_id: "web".into(),
            name: "Web".into(),
            client_type: ClientType::Public,
            grant_types: vec![GrantType::AuthorizationCode],
            secret: SecretHash::None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            user_id: None,
            skip_authorization: false,
            algorithm: Some("ES256".into()),
            access_token_format: AccessTokenFormat::Opaque,
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: false,
            created_at: 0,
        };
        assert!(ApplicationChanges::default().is_empty());
        let renamed = ApplicationChanges {
            name: Some("Web 2".into()),
            algorithm: Some(None),
            ..Default::default()
        }
        .apply(&client);
        assert_eq!(renamed.name.as_deref(), Some("Web 2"));
        assert_eq!(renamed.algorithm, None, "back to the default");
        assert_eq!(renamed.redirect_uris, client.redirect_uris, "kept");
        assert_eq!(renamed.check(), Ok(()));
        let no_uris = ApplicationChanges {
            redirect_uris: Some(vec![]),
            ..Default::default()
        }
        .apply(&client);
        assert_eq!(no_uris.check(), Err(RegistrationError::RedirectUriRequired));
        let introspecting = ApplicationChanges {
            allowed_scopes: Some(Some("read introspection".into())),
            ..Default::default()
        }
        .apply(&client);
        assert_eq!(
            introspecting.check(),
            Err(RegistrationError::IntrospectionForPublicClient)
        );
    }
}
