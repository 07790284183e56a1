//! Registered clients and client authentication (RFC 6749 sections 2 and 2.3).
//!
//! Authentication is split in two pure steps: [`presented_credentials`] reads what the request
//! offers (HTTP Basic or the body, never both), and [`Client::check_secret`] compares it with
//! the registration. Argon2 verification is slow, so it is only *asked for*
//! ([`SecretCheck::NeedsArgon2`]); the caller runs it off the async workers.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::UnixTime;
use crate::error::OAuthError;
use crate::form::{self, Form};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Confidential,
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "confidential" => Some(Self::Confidential),
            "public" => Some(Self::Public),
            _ => None,
        }
    }
}

/// The grant types an application may be registered for, under DOT's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    AuthorizationCode,
    Implicit,
    Password,
    ClientCredentials,
    OpenidHybrid,
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 6] = [
        Self::AuthorizationCode,
        Self::Implicit,
        Self::Password,
        Self::ClientCredentials,
        Self::OpenidHybrid,
        Self::DeviceCode,
    ];

    /// DOT's registration name (`Application.authorization_grant_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization-code",
            Self::Implicit => "implicit",
            Self::Password => "password",
            Self::ClientCredentials => "client-credentials",
            Self::OpenidHybrid => "openid-hybrid",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// Whether tokens issued under this grant come with a refresh token.
    pub fn issues_refresh_tokens(self) -> bool {
        matches!(
            self,
            Self::AuthorizationCode | Self::Password | Self::OpenidHybrid | Self::DeviceCode
        )
    }
}

/// Parses a comma-separated list of grant types (`authorization-code,password`).
pub fn parse_grant_types(text: &str) -> Result<Vec<GrantType>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let grant = GrantType::parse(item).ok_or_else(|| {
            format!(
                "unknown grant type {item:?} (expected one of: {})",
                GrantType::ALL.map(GrantType::as_str).join(", ")
            )
        })?;
        if !out.contains(&grant) {
            out.push(grant);
        }
    }
    if out.is_empty() {
        return Err("at least one grant type is required".into());
    }
    out.sort();
    Ok(out)
}

/// How a client's secret is kept. Never the clear value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretHash {
    /// A public client: no secret.
    None,
    /// A server-generated, high-entropy secret: a plain SHA-256 is enough and fast.
    Sha256([u8; 32]),
    /// An operator-chosen secret, possibly weak: an Argon2id PHC string.
    Argon2(String),
}

impl SecretHash {
    pub fn sha256_of(secret: &str) -> Self {
        Self::Sha256(Sha256::digest(secret.as_bytes()).into())
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "SecretHash::None",
            Self::Sha256(_) => "SecretHash::Sha256(..)",
            Self::Argon2(_) => "SecretHash::Argon2(..)",
        })
    }
}

/// A registered application, as the store returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The store's key; stable, never shown.
    pub id: i64,
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    pub grant_types: Vec<GrantType>,
    pub secret: SecretHash,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub user_id: Option<i64>,
    pub skip_authorization: bool,
    /// The ID token signing algorithm (`RS256`, `ES256`, `EdDSA`); `None`: the server's
    /// default, RS256.
    pub algorithm: Option<String>,
    pub access_token_format: AccessTokenFormat,
    /// RP-initiated logout through this application also revokes the user's grants of it.
    pub logout_revokes_grants: bool,
    /// The scopes it may be granted, space-separated; `None`: every scope the server knows
    /// but `introspection`, which only an operator grants (see [`Client::allowed_scope`]).
    pub allowed_scopes: Option<String>,
    /// Whether, as an introspection caller, it may learn about every token (a resource
    /// server an operator set up, as in DOT) or only about its own.
    pub introspect_any: bool,
    pub created_at: UnixTime,
}

/// What an application's access tokens look like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccessTokenFormat {
    /// A prefixed random string, meaningful only to this server (introspection).
    #[default]
    Opaque,
    /// An RFC 9068 JWT a resource server can validate offline; still recorded by the digest
    /// of its `jti`, so revocation and introspection treat it as any other token.
    Jwt,
}

impl AccessTokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "opaque" => Some(Self::Opaque),
            "jwt" => Some(Self::Jwt),
            _ => None,
        }
    }
}

/// The outcome of comparing presented credentials with a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretCheck {
    Valid,
    Invalid,
    /// The registration holds an Argon2 hash: verify the secret against it, off the hot path.
    NeedsArgon2 {
        hash: String,
        secret: String,
    },
}

impl Client {
    pub fn has_grant_type(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether the client may use `refresh_token`: only for grants that issue refresh tokens.
    pub fn may_refresh(&self) -> bool {
        self.grant_types.iter().any(|g| g.issues_refresh_tokens())
    }

    /// The scopes this client may be granted, within those the server knows: its registered
    /// list, or everything but `introspection`; never `introspection` for a public client,
    /// whose `client_id` alone proves nothing.
    pub fn allowed_scope(&self, supported: &crate::scope::Scope) -> crate::scope::Scope {
        let listed = self
            .allowed_scopes
            .as_deref()
            .and_then(|s| crate::scope::Scope::parse(s).ok());
        let allowed = match listed {
            Some(list) => list.intersection(supported),
            None => supported.without(crate::introspection::INTROSPECTION_SCOPE),
        };
        if self.client_type == ClientType::Public {
            allowed.without(crate::introspection::INTROSPECTION_SCOPE)
        } else {
            allowed
        }
    }

    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }

    /// Compares presented credentials with this registration (the client ids already match).
    /// A public client authenticates by its id alone and must not send a secret; a
    /// confidential client must send its secret.
    pub fn check_secret(&self, presented: &PresentedCredentials) -> SecretCheck {
        match (&self.secret, presented.secret.as_deref()) {
            (SecretHash::None, None) => SecretCheck::Valid,
            (SecretHash::None, Some(_)) => SecretCheck::Invalid,
            (_, None) => SecretCheck::Invalid,
            (SecretHash::Sha256(expected), Some(secret)) => {
                let actual: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
                if bool::from(actual.ct_eq(expected)) {
                    SecretCheck::Valid
                } else {
                    SecretCheck::Invalid
                }
            }
            (SecretHash::Argon2(hash), Some(secret)) => SecretCheck::NeedsArgon2 {
                hash: hash.clone(),
                secret: secret.to_owned(),
            },
        }
    }
}

/// How the client presented its credentials (RFC 6749 section 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`: the `Authorization: Basic` header.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    Post,
    /// `none`: a public client sending `client_id` only.
    None,
}

/// Credentials as the request presents them, before they are checked.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

impl fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedCredentials")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The `Authorization` header, as far as the endpoints care.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthorizationHeader {
    Basic { client_id: String, secret: String },
    Bearer(String),
}

impl fmt::Debug for AuthorizationHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { client_id, .. } => write!(f, "Basic({client_id:?}, ..)"),
            Self::Bearer(_) => f.write_str("Bearer(..)"),
        }
    }
}

/// Why credentials could not even be read; the first fails the request as `invalid_client`,
/// the second as `invalid_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialError {
    /// A malformed or unsupported `Authorization` header.
    BadHeader,
    /// More than one authentication method in one request (RFC 6749 section 2.3).
    MultipleMethods,
    /// A `client_secret` without a `client_id`.
    SecretWithoutId,
}

impl CredentialError {
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::BadHeader => OAuthError::invalid_client("The Authorization header is malformed."),
            Self::MultipleMethods => OAuthError::invalid_request(
                "The request uses more than one client authentication method.",
            ),
            Self::SecretWithoutId => {
                OAuthError::invalid_client("A client_secret was sent without a client_id.")
            }
        }
    }
}

/// Parses an `Authorization` header value. Basic credentials are form-urlencoded before
/// base64 (RFC 6749 section 2.3.1), so both parts are decoded again here.
pub fn parse_authorization(value: &[u8]) -> Result<AuthorizationHeader, CredentialError> {
    let text = std::str::from_utf8(value).map_err(|_| CredentialError::BadHeader)?;
    let (scheme, rest) = text.split_once(' ').ok_or(CredentialError::BadHeader)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .map_err(|_| CredentialError::BadHeader)?;
        let (id, secret) = decoded
            .iter()
            .position(|&b| b == b':')
            .map(|i| (&decoded[..i], &decoded[i + 1..]))
            .ok_or(CredentialError::BadHeader)?;
        let client_id = form::decode(id).map_err(|_| CredentialError::BadHeader)?;
        let secret = form::decode(secret).map_err(|_| CredentialError::BadHeader)?;
        if client_id.is_empty() {
            return Err(CredentialError::BadHeader);
        }
        Ok(AuthorizationHeader::Basic { client_id, secret })
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        Ok(AuthorizationHeader::Bearer(rest.to_owned()))
    } else {
        Err(CredentialError::BadHeader)
    }
}

/// The client credentials a request presents, or `None` when it presents none.
///
/// With Basic, the body may repeat the same `client_id` (many client libraries add it) but
/// must not carry a `client_secret` or another id: that would be two methods in one request.
/// A public client's Basic header with an empty password is read as `client_id` alone.
pub fn presented_credentials(
    header: Option<&AuthorizationHeader>,
    form: &Form,
) -> Result<Option<PresentedCredentials>, CredentialError> {
    match header {
        Some(AuthorizationHeader::Basic { client_id, secret }) => {
            if form.contains("client_secret") {
                return Err(CredentialError::MultipleMethods);
            }
            if form.get("client_id").is_some_and(|id| id != client_id) {
                return Err(CredentialError::MultipleMethods);
            }
            Ok(Some(PresentedCredentials {
                client_id: client_id.clone(),
                secret: (!secret.is_empty()).then(|| secret.clone()),
                method: AuthMethod::Basic,
            }))
        }
        Some(AuthorizationHeader::Bearer(_)) | None => {
            match (form.get("client_id"), form.get("client_secret")) {
                (Some(id), secret) => Ok(Some(PresentedCredentials {
                    client_id: id.to_owned(),
                    secret: secret.map(str::to_owned),
                    method: if secret.is_some() {
                        AuthMethod::Post
                    } else {
                        AuthMethod::None
                    },
                })),
                (None, Some(_)) => Err(CredentialError::SecretWithoutId),
                (None, None) => Ok(None),
            }
        }
    }
}

/// A client id an operator may choose: 1 to 255 URL-safe characters (`A-Z a-z 0-9 - _ .`),
/// so it can be pasted into a form body or a URL unescaped.
pub fn validate_client_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid client id {id:?}: use 1 to 255 characters from A-Z a-z 0-9 - _ ."
        ))
    }
}

fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let valid_scheme = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid_scheme.then_some((scheme, rest))
}

/// Whether `host` (as written in a URI's authority, port removed) is this machine's loopback
/// interface, the one place plain http is safe for a redirect (RFC 8252 sections 7.3 and 8.3).
fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|rest| {
            rest.split('.').count() == 3 && rest.split('.').all(|o| o.parse::<u8>().is_ok())
        })
}

/// The authority of an `http(s)` URI split into (userinfo present, host without port).
fn authority_host(rest: &str) -> (bool, &str) {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((_, h)) => (true, h),
        None => (false, authority),
    };
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    (userinfo, host)
}

/// The host a user can recognise on the consent page: the authority's host (never the
/// userinfo that could make `https://trusted.example@evil.example/` read as trusted), or the
/// scheme of a native app's private-use URI.
pub fn display_host(uri: &str) -> &str {
    match uri.split_once("://") {
        Some((_, rest)) => authority_host(rest).1,
        None => uri.split(':').next().unwrap_or(uri),
    }
}

/// Where a registered redirect (or post-logout) URI may send the browser:
/// - `https://host/...`, with a host and no userinfo;
/// - `http://` only to the loopback interface (`127.0.0.1`, `[::1]`, `localhost`), for native
///   apps and development (RFC 8252 section 7.3);
/// - a private-use scheme in reverse-domain form (`com.example.app:/callback`) for native apps
///   (RFC 8252 section 7.1); any other scheme (`javascript:`, `data:`, `file:`...) is refused;
/// - never a fragment (RFC 6749 section 3.1.2), spaces or control characters.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid redirect URI {uri:?}: {why}"));
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it must not contain spaces");
    }
    if uri.contains('#') {
        return bad("it must not contain a fragment");
    }
    if let Some((scheme, rest)) = split_scheme(uri) {
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "https" || scheme == "http" {
            let (userinfo, host) = authority_host(rest);
            if host.is_empty() {
                return bad("it has no host");
            }
            if userinfo {
                return bad("it must not contain a user name or password before the host");
            }
            if scheme == "http" && !is_loopback_host(&host.to_ascii_lowercase()) {
                return bad(
                    "plain http is allowed only to 127.0.0.1, [::1] or localhost; use https",
                );
            }
            return Ok(());
        }
    }
    // A private-use scheme: `reverse.domain:/path` (or with `//`).
    let Some((scheme, rest)) = uri.split_once(':') else {
        return bad("it must be an absolute URI such as https://app.example/callback");
    };
    let valid_scheme = scheme.contains('.')
        && scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme || rest.is_empty() {
        return bad(
            "use https, http to a loopback address, or a native app's reverse-domain scheme such as com.example.app:/callback",
        );
    }
    Ok(())
}

/// An allowed origin is `scheme://host[:port]`: nothing after the authority.
pub fn validate_origin(origin: &str) -> Result<(), String> {
    let ok = split_scheme(origin).is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@'])
            && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid origin {origin:?}: expected scheme://host[:port], like https://app.example"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::parse;

    fn client(secret: SecretHash, client_type: ClientType) -> Client {
        Client {
            id: 1,
            client_id: "app".into(),
            name: "App".into(),
            client_type,
            grant_types: vec![GrantType::Password],
            secret,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec!["https://spa.example".into()],
            user_id: None,
            skip_authorization: false,
            algorithm: None,
            access_token_format: AccessTokenFormat::Opaque,
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: true,
            created_at: 0,
        }
    }

    fn basic(id: &str, secret: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes()
    }

    fn creds(id: &str, secret: Option<&str>, method: AuthMethod) -> PresentedCredentials {
        PresentedCredentials {
            client_id: id.into(),
            secret: secret.map(Into::into),
            method,
        }
    }

    #[test]
    fn basic_header_is_decoded_twice() {
        let h = parse_authorization(&basic("my%20app", "s%3Acret+x")).expect("valid");
        assert_eq!(
            h,
            AuthorizationHeader::Basic {
                client_id: "my app".into(),
                secret: "s:cret x".into()
            }
        );
        let lower = format!("basic {}", STANDARD.encode("a:b"));
        assert!(
            parse_authorization(lower.as_bytes()).is_ok(),
            "scheme is case-insensitive"
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            &b"Basic"[..],
            b"Basic !!!",
            b"Basic YWJj",
            b"Digest abc",
            b"Bearer ",
            b"\xff\xfe",
        ] {
            assert_eq!(parse_authorization(bad), Err(CredentialError::BadHeader));
        }
    }

    #[test]
    fn basic_and_body_secret_are_two_methods() {
        let header = parse_authorization(&basic("app", "s")).expect("valid");
        let form = parse(b"client_secret=s").expect("form");
        assert_eq!(
            presented_credentials(Some(&header), &form),
            Err(CredentialError::MultipleMethods)
        );
        let other_id = parse(b"client_id=other").expect("form");
        assert_eq!(
            presented_credentials(Some(&header), &other_id),
            Err(CredentialError::MultipleMethods)
        );
        let same_id = parse(b"client_id=app").expect("form");
        assert_eq!(
            presented_credentials(Some(&header), &same_id),
            Ok(Some(creds("app", Some("s"), AuthMethod::Basic)))
        );
    }

    #[test]
    fn body_credentials_and_public_clients() {
        let post = parse(b"client_id=app&client_secret=s").expect("form");
        assert_eq!(
            presented_credentials(None, &post),
            Ok(Some(creds("app", Some("s"), AuthMethod::Post)))
        );
        let public = parse(b"client_id=app").expect("form");
        assert_eq!(
            presented_credentials(None, &public),
            Ok(Some(creds("app", None, AuthMethod::None)))
        );
        let nothing = parse(b"token=x").expect("form");
        assert_eq!(presented_credentials(None, &nothing), Ok(None));
        let orphan = parse(b"client_secret=s").expect("form");
        assert_eq!(
            presented_credentials(None, &orphan),
            Err(CredentialError::SecretWithoutId)
        );
    }

    #[test]
    fn secret_checks() {
        let confidential = client(SecretHash::sha256_of("right"), ClientType::Confidential);
        assert_eq!(
            confidential.check_secret(&creds("app", Some("right"), AuthMethod::Post)),
            SecretCheck::Valid
        );
        assert_eq!(
            confidential.check_secret(&creds("app", Some("wrong"), AuthMethod::Post)),
            SecretCheck::Invalid
        );
        assert_eq!(
            confidential.check_secret(&creds("app", None, AuthMethod::None)),
            SecretCheck::Invalid,
            "a confidential client without its secret is refused"
        );
        let public = client(SecretHash::None, ClientType::Public);
        assert_eq!(
            public.check_secret(&creds("app", None, AuthMethod::None)),
            SecretCheck::Valid
        );
        assert_eq!(
            public.check_secret(&creds("app", Some("guess"), AuthMethod::Post)),
            SecretCheck::Invalid
        );
        let argon = client(
            SecretHash::Argon2("$argon2id$..".into()),
            ClientType::Confidential,
        );
        assert!(matches!(
            argon.check_secret(&creds("app", Some("x"), AuthMethod::Basic)),
            SecretCheck::NeedsArgon2 { .. }
        ));
    }

    #[test]
    fn grant_type_lists() {
        assert_eq!(
            parse_grant_types("password, client-credentials,password"),
            Ok(vec![GrantType::Password, GrantType::ClientCredentials])
        );
        assert!(parse_grant_types("").is_err());
        assert!(parse_grant_types("password,magic").is_err());
        let c = client(SecretHash::None, ClientType::Public);
        assert!(c.may_refresh());
        assert!(c.allows_origin("https://spa.example"));
        assert!(!c.allows_origin("https://evil.example"));
    }

    #[test]
    fn registration_values() {
        assert!(validate_client_id("my-app_1.0").is_ok());
        assert!(validate_client_id("").is_err());
        assert!(validate_client_id("a b").is_err());
        assert!(validate_client_id("a&b").is_err());
        assert!(validate_client_id(&"x".repeat(256)).is_err());

        assert!(validate_redirect_uri("https://app.example/cb?x=1").is_ok());
        assert!(validate_redirect_uri("http://127.0.0.1/cb").is_ok());
        assert!(validate_redirect_uri("com.example.app://callback").is_ok());
        assert!(validate_redirect_uri("/relative").is_err());
        assert!(validate_redirect_uri("https://app.example/cb#frag").is_err());
        assert!(validate_redirect_uri("https://").is_err());
        for good in [
            "http://127.0.0.1:8080/callback",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
            "HTTPS://App.Example/cb",
        ] {
            assert!(validate_redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "javascript://app.example/%0Aalert(1)",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "http://app.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "https://trusted.example@evil.example/cb",
            "https://user:pw@app.example/cb",
            "myapp://cb",
            "https://app.example/c b",
            "https://app.example/cb\n",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
        assert_eq!(
            display_host("https://trusted.example@evil.example/cb"),
            "evil.example"
        );
        assert_eq!(display_host("https://app.example:8443/cb?x"), "app.example");
        assert_eq!(display_host("http://[::1]:9/cb"), "[::1]");
        assert_eq!(display_host("com.example.app:/cb"), "com.example.app");

        assert!(validate_origin("https://spa.example").is_ok());
        assert!(validate_origin("http://localhost:3000").is_ok());
        assert!(validate_origin("https://spa.example/").is_err());
        assert!(validate_origin("spa.example").is_err());
        assert!(validate_origin("ftp://spa.example").is_err());
    }
}
