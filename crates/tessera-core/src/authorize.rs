//! The authorization endpoint's request rules (RFC 6749 sections 3.1, 4.1.1, 4.1.2.1, 4.2.1;
//! RFC 7636; OIDC Core 3.1.2.1 `prompt`).
//!
//! Errors come in two kinds: those that must never redirect (unknown client, a redirect URI
//! that is missing, unregistered or malformed) are shown to the user; every other error goes
//! back to the client's verified redirect URI with `error` and `state`.

use crate::UnixTime;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::form::{Form, encode_pairs};
use crate::pkce::{Challenge, PkcePolicy};
use crate::scope::{Scope, ScopePolicy};

/// The parameters of an authorization request, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
    pub response_mode: Option<String>,
    /// OIDC request objects, which are refused (OIDC Core 3.1.2.6).
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

impl AuthorizationRequest {
    pub fn from_form(form: &Form) -> Self {
        let get = |k: &str| form.get(k).map(str::to_owned);
        Self {
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            response_type: get("response_type"),
            scope: get("scope"),
            state: get("state"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            nonce: get("nonce"),
            prompt: get("prompt"),
            max_age: get("max_age"),
            login_hint: get("login_hint"),
            id_token_hint: get("id_token_hint"),
            response_mode: get("response_mode"),
            request: get("request"),
            request_uri: get("request_uri"),
        }
    }

    /// The parameters that are present, for hidden form fields and return URLs.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("response_type", &self.response_type),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("nonce", &self.nonce),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
            ("id_token_hint", &self.id_token_hint),
            ("response_mode", &self.response_mode),
            ("request", &self.request),
            ("request_uri", &self.request_uri),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }

    /// The same request as a query string.
    pub fn to_query(&self) -> String {
        encode_pairs(self.pairs())
    }
}

/// The response types served (RFC 6749 sections 4.1 and 4.2; OIDC Core sections 3.2 and 3.3,
/// and OAuth 2.0 Multiple Response Type Encoding Practices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `code`: the authorization code grant.
    Code,
    /// `token`: the implicit grant (legacy; only for applications registered for it).
    Token,
    /// `id_token`: OIDC implicit, an ID token alone.
    IdToken,
    /// `id_token token`: OIDC implicit with an access token.
    IdTokenToken,
    /// `code id_token`, `code token`, `code id_token token`: OIDC hybrid.
    CodeIdToken,
    CodeToken,
    CodeIdTokenToken,
}

impl ResponseType {
    pub const ALL: [ResponseType; 7] = [
        Self::Code,
        Self::Token,
        Self::IdToken,
        Self::IdTokenToken,
        Self::CodeIdToken,
        Self::CodeToken,
        Self::CodeIdTokenToken,
    ];

    /// The canonical spelling, as listed in the metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Token => "token",
            Self::IdToken => "id_token",
            Self::IdTokenToken => "id_token token",
            Self::CodeIdToken => "code id_token",
            Self::CodeToken => "code token",
            Self::CodeIdTokenToken => "code id_token token",
        }
    }

    /// A space-separated set of values, in any order (OAuth 2.0 Multiple Response Types,
    /// section 3); an unknown or repeated value is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut values: Vec<&str> = text.split(' ').collect();
        values.sort_unstable();
        let n = values.len();
        values.dedup();
        if values.len() != n {
            return None;
        }
        Self::ALL.into_iter().find(|rt| {
            let mut mine: Vec<&str> = rt.as_str().split(' ').collect();
            mine.sort_unstable();
            mine == values
        })
    }

    pub fn has_code(self) -> bool {
        matches!(
            self,
            Self::Code | Self::CodeIdToken | Self::CodeToken | Self::CodeIdTokenToken
        )
    }

    /// Whether an access token is issued at the authorization endpoint.
    pub fn has_token(self) -> bool {
        matches!(
            self,
            Self::Token | Self::IdTokenToken | Self::CodeToken | Self::CodeIdTokenToken
        )
    }

    pub fn has_id_token(self) -> bool {
        matches!(
            self,
            Self::IdToken | Self::IdTokenToken | Self::CodeIdToken | Self::CodeIdTokenToken
        )
    }

    /// Every response type but `code` answers in the fragment (Multiple Response Types,
    /// section 5: never the query for a response carrying a token).
    pub fn fragment(self) -> bool {
        self != Self::Code
    }

    /// The grant type an application must be registered for to use it.
    pub fn grant_type(self) -> GrantType {
        match self {
            Self::Code => GrantType::AuthorizationCode,
            Self::Token | Self::IdToken | Self::IdTokenToken => GrantType::Implicit,
            Self::CodeIdToken | Self::CodeToken | Self::CodeIdTokenToken => GrantType::OpenidHybrid,
        }
    }

    /// OIDC flows other than the code flow (and plain OAuth `token`) need the `openid` scope
    /// and a `nonce` (OIDC Core 3.2.2.1 and 3.3.2.11).
    pub fn is_oidc_only(self) -> bool {
        !matches!(self, Self::Code | Self::Token)
    }
}

/// OIDC `prompt` values that change what the endpoint does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    fn parse(text: Option<&str>) -> Result<Self, OAuthError> {
        let mut p = Self::default();
        for value in text.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                // select_account and unknown values do not change anything here.
                _ => {}
            }
        }
        if p.none && (p.login || p.consent) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values.",
            ));
        }
        Ok(p)
    }
}

/// A request that passed every check: what the consent page shows and the code records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAuthorization {
    pub client: Client,
    pub redirect_uri: String,
    /// Whether the request named the redirect URI: then the token request must repeat it
    /// (RFC 6749 section 4.1.3).
    pub redirect_uri_explicit: bool,
    pub response_type: ResponseType,
    pub scope: Scope,
    pub state: Option<String>,
    pub pkce: Option<Challenge>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    /// Whether the answer goes in the fragment: every response type but `code`, and `code`
    /// with `response_mode=fragment`.
    pub fragment: bool,
    /// OIDC `max_age`: the longest time since sign-in the user may have, in seconds.
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// OIDC `id_token_hint`, still to be verified by whoever holds the keys.
    pub id_token_hint: Option<String>,
}

impl ValidAuthorization {
    /// Whether the user must sign in again before this request is answered: `prompt=login`,
    /// or a sign-in older than `max_age` (OIDC Core 3.1.2.1). `signed_in_at` is the session's
    /// sign-in time; `None` when nobody is signed in.
    pub fn needs_sign_in(&self, signed_in_at: Option<UnixTime>, now: UnixTime) -> bool {
        match signed_in_at {
            None => true,
            Some(_) if self.prompt.login => true,
            Some(at) => self.max_age.is_some_and(|max| now - at > max),
        }
    }

    /// Whether the `openid` scope makes this an OpenID Connect request.
    pub fn is_openid(&self) -> bool {
        self.scope.contains("openid")
    }
}

/// An error to send back to the client's verified redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: OAuthError,
    pub state: Option<String>,
    /// Implicit responses carry their parameters in the fragment.
    pub fragment: bool,
}

impl ErrorRedirect {
    pub fn location(&self, issuer: &str) -> String {
        let mut params = vec![("error", self.error.code.as_str())];
        if let Some(d) = &self.error.description {
            params.push(("error_description", d));
        }
        if let Some(s) = &self.state {
            params.push(("state", s));
        }
        params.push(("iss", issuer));
        append_params(&self.redirect_uri, &params, self.fragment)
    }
}

/// Why an authorization request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the user, never redirected: the client or its redirect URI cannot be trusted.
    Page(&'static str),
    Redirect(ErrorRedirect),
}

/// Appends parameters to a redirect URI's query (or fragment), keeping what it already has.
pub fn append_params(uri: &str, params: &[(&str, &str)], fragment: bool) -> String {
    let encoded = encode_pairs(params.iter().copied());
    let sep = if fragment {
        '#'
    } else if uri.contains('?') {
        if uri.ends_with('?') || uri.ends_with('&') {
            return format!("{uri}{encoded}");
        }
        '&'
    } else {
        '?'
    };
    format!("{uri}{sep}{encoded}")
}

/// Splits `http://127.0.0.1:PORT/rest` or `http://[::1]:PORT/rest` into host and rest.
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let host = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find(|h| rest.starts_with(h))?;
    let after = &rest[host.len()..];
    let after = match after.strip_prefix(':') {
        Some(p) => {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            &p[digits..]
        }
        None => after,
    };
    (after.is_empty() || after.starts_with('/') || after.starts_with('?')).then_some((host, after))
}

/// Matches a requested redirect URI against the registered ones: exact string comparison,
/// except that a registered `http://127.0.0.1` or `http://[::1]` URI matches any port
/// (RFC 8252 section 7.3). Without a requested URI, a single registered one is used.
/// Returns the URI to redirect to and whether the request named it.
pub fn match_redirect_uri(
    registered: &[String],
    requested: Option<&str>,
) -> Option<(String, bool)> {
    let Some(requested) = requested else {
        return match registered {
            [only] => Some((only.clone(), false)),
            _ => None,
        };
    };
    let matches = registered.iter().any(|r| {
        r == requested
            || matches!(
                (loopback_parts(r), loopback_parts(requested)),
                (Some((h1, rest1)), Some((h2, rest2))) if h1 == h2 && rest1 == rest2
            )
    });
    matches.then(|| (requested.to_owned(), true))
}

/// Validates an authorization request for `client` (looked up by the request's `client_id`).
pub fn validate(
    request: &AuthorizationRequest,
    client: Option<&Client>,
    scopes: &ScopePolicy,
    pkce: &PkcePolicy,
) -> Result<ValidAuthorization, AuthorizeError> {
    if request.client_id.is_none() {
        return Err(AuthorizeError::Page(
            "The request does not say which application is asking (client_id is missing).",
        ));
    }
    let Some(client) = client else {
        return Err(AuthorizeError::Page(
            "The application asking for access is not registered here.",
        ));
    };
    let Some((redirect_uri, explicit)) =
        match_redirect_uri(&client.redirect_uris, request.redirect_uri.as_deref())
    else {
        return Err(AuthorizeError::Page(if request.redirect_uri.is_some() {
            "The application asked to return to an address it has not registered."
        } else {
            "The application must say where to return (redirect_uri), as it registered several addresses or none."
        }));
    };
    let response_type = request
        .response_type
        .as_deref()
        .and_then(ResponseType::parse);
    let redirect = |error: OAuthError| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            state: request.state.clone(),
            fragment: response_type.is_some_and(ResponseType::fragment)
                || request.response_mode.as_deref() == Some("fragment"),
        })
    };
    let response_type = match (request.response_type.as_deref(), response_type) {
        (None, _) => {
            return Err(redirect(OAuthError::invalid_request(
                "The response_type parameter is missing.",
            )));
        }
        (Some(_), None) => {
            return Err(redirect(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "The response_type is not supported.",
            )));
        }
        (Some(_), Some(rt)) => rt,
    };
    // A hybrid application may also use the plain code flow.
    let needed = client.has_grant_type(response_type.grant_type())
        || (response_type == ResponseType::Code && client.has_grant_type(GrantType::OpenidHybrid));
    if !needed {
        return Err(redirect(OAuthError::unauthorized_client(
            "The application is not allowed to use this response_type.",
        )));
    }
    if request.request.is_some() {
        return Err(redirect(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "Request objects are not supported.",
        )));
    }
    if request.request_uri.is_some() {
        return Err(redirect(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "The request_uri parameter is not supported.",
        )));
    }
    match request.response_mode.as_deref() {
        None | Some("fragment") => {}
        Some("query") if !response_type.fragment() => {}
        Some("query") => {
            return Err(redirect(OAuthError::invalid_request(
                "response_mode=query cannot carry tokens; use the fragment.",
            )));
        }
        Some(_) => {
            return Err(redirect(OAuthError::invalid_request(
                "The response_mode is not supported: use query or fragment.",
            )));
        }
    }
    let prompt = Prompt::parse(request.prompt.as_deref()).map_err(redirect)?;
    let scope = scopes
        .resolve_for(client, request.scope.as_deref())
        .map_err(redirect)?;
    if response_type.is_oidc_only() {
        if !scope.contains("openid") {
            return Err(redirect(OAuthError::invalid_request(
                "This response_type is OpenID Connect: the scope must include openid.",
            )));
        }
        if request.nonce.as_deref().is_none_or(str::is_empty) {
            return Err(redirect(OAuthError::invalid_request(
                "The nonce parameter is required for the implicit and hybrid flows.",
            )));
        }
    }
    let max_age = match request.max_age.as_deref() {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(redirect(OAuthError::invalid_request(
                    "max_age must be a non-negative number of seconds.",
                )));
            }
        },
    };
    let pkce = if response_type.has_code() {
        pkce.check(
            client.client_type == crate::client::ClientType::Public,
            request.code_challenge.as_deref(),
            request.code_challenge_method.as_deref(),
        )
        .map_err(redirect)?
    } else {
        None
    };
    Ok(ValidAuthorization {
        client: client.clone(),
        redirect_uri,
        redirect_uri_explicit: explicit,
        response_type,
        scope,
        state: request.state.clone(),
        pkce,
        nonce: request.nonce.clone(),
        prompt,
        fragment: response_type.fragment() || request.response_mode.as_deref() == Some("fragment"),
        max_age,
        login_hint: request.login_hint.clone(),
        id_token_hint: request.id_token_hint.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientType, SecretHash};
    use crate::form::parse;

    fn client(client_type: ClientType, grants: Vec<GrantType>, uris: &[&str]) -> Client {
        Client {
            id: 1,
            client_id: "app".into(),
            name: "App".into(),
            client_type,
            grant_types: grants,
            secret: SecretHash::None,
            redirect_uris: uris.iter().map(|u| u.to_string()).collect(),
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            user_id: None,
            skip_authorization: false,
            algorithm: None,
            access_token_format: crate::client::AccessTokenFormat::Opaque,
            logout_revokes_grants: false,
            allowed_scopes: None,
            introspect_any: true,
            created_at: 0,
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request(query: &str) -> AuthorizationRequest {
        AuthorizationRequest::from_form(&parse(query.as_bytes()).expect("form"))
    }

    fn run(c: &Client, query: &str) -> Result<ValidAuthorization, AuthorizeError> {
        validate(
            &request(query),
            Some(c),
            &ScopePolicy::default(),
            &PkcePolicy { allow_plain: false },
        )
    }

    fn redirect_code(r: Result<ValidAuthorization, AuthorizeError>) -> ErrorCode {
        match r {
            Err(AuthorizeError::Redirect(e)) => e.error.code,
            other => panic!("expected an error redirect, got {other:?}"),
        }
    }

    #[test]
    fn redirect_uri_matching() {
        let reg = vec![
            "https://app.example/cb".to_owned(),
            "http://127.0.0.1/cb".to_owned(),
        ];
        assert_eq!(
            match_redirect_uri(&reg, Some("https://app.example/cb")),
            Some(("https://app.example/cb".into(), true))
        );
        for bad in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://app.example/cb#f",
            "https://APP.example/cb",
            "https://app.example/cb/../cb",
            "http://127.0.0.1/other",
            "http://localhost:8080/cb",
            "http://127.0.0.1.evil.example/cb",
        ] {
            assert_eq!(match_redirect_uri(&reg, Some(bad)), None, "{bad}");
        }
        assert_eq!(
            match_redirect_uri(&reg, Some("http://127.0.0.1:51234/cb")),
            Some(("http://127.0.0.1:51234/cb".into(), true)),
            "loopback port exception"
        );
        assert_eq!(
            match_redirect_uri(&reg, None),
            None,
            "two registered, none named"
        );
        let one = vec!["https://app.example/cb".to_owned()];
        assert_eq!(
            match_redirect_uri(&one, None),
            Some(("https://app.example/cb".into(), false))
        );
        let v6 = vec!["http://[::1]/cb".to_owned()];
        assert!(match_redirect_uri(&v6, Some("http://[::1]:9/cb")).is_some());
    }

    #[test]
    fn untrusted_client_or_redirect_never_redirects() {
        let c = client(
            ClientType::Confidential,
            vec![GrantType::AuthorizationCode],
            &["https://app.example/cb"],
        );
        assert!(matches!(
            validate(
                &request("response_type=code"),
                None,
                &ScopePolicy::default(),
                &PkcePolicy { allow_plain: false }
            ),
            Err(AuthorizeError::Page(_))
        ));
        assert!(matches!(
            validate(
                &request("client_id=app&response_type=code"),
                None,
                &ScopePolicy::default(),
                &PkcePolicy { allow_plain: false }
            ),
            Err(AuthorizeError::Page(_))
        ));
        assert!(matches!(
            run(
                &c,
                "client_id=app&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
            ),
            Err(AuthorizeError::Page(_))
        ));
        assert!(
            matches!(
                run(
                    &c,
                    "client_id=app&response_type=nonsense&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
                ),
                Err(AuthorizeError::Page(_))
            ),
            "the redirect URI is checked before anything else"
        );
    }

    #[test]
    fn other_errors_redirect_with_state() {
        let c = client(
            ClientType::Confidential,
            vec![GrantType::AuthorizationCode],
            &["https://app.example/cb"],
        );
        let r = run(&c, "client_id=app&state=xyz");
        match &r {
            Err(AuthorizeError::Redirect(e)) => {
                assert_eq!(e.error.code, ErrorCode::InvalidRequest);
                assert_eq!(e.state.as_deref(), Some("xyz"));
                let loc = e.location("http://issuer/o");
                assert!(
                    loc.starts_with("https://app.example/cb?error=invalid_request&"),
                    "{loc}"
                );
                assert!(loc.contains("state=xyz"));
                assert!(loc.contains("iss=http%3A%2F%2Fissuer%2Fo"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            redirect_code(run(&c, "client_id=app&response_type=code+code")),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            redirect_code(run(
                &c,
                "client_id=app&response_type=id_token&scope=openid&nonce=n"
            )),
            ErrorCode::UnauthorizedClient,
            "OIDC implicit needs an implicit application"
        );
        assert_eq!(
            redirect_code(run(&c, "client_id=app&response_type=code&request=eyJ")),
            ErrorCode::RequestNotSupported
        );
        assert_eq!(
            redirect_code(run(&c, "client_id=app&response_type=token")),
            ErrorCode::UnauthorizedClient
        );
        assert_eq!(
            redirect_code(run(&c, "client_id=app&response_type=code&scope=nuke")),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            redirect_code(run(
                &c,
                "client_id=app&response_type=code&prompt=none+login"
            )),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn pkce_rules() {
        let public = client(
            ClientType::Public,
            vec![GrantType::AuthorizationCode],
            &["https://app.example/cb"],
        );
        assert_eq!(
            redirect_code(run(&public, "client_id=app&response_type=code")),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirect_code(run(
                &public,
                &format!("client_id=app&response_type=code&code_challenge={CHALLENGE}")
            )),
            ErrorCode::InvalidRequest,
            "plain by default is refused"
        );
        let ok = run(&public, &format!("client_id=app&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=read&state=s"))
            .expect("valid");
        assert_eq!(ok.pkce.map(|p| p.method), Some(crate::pkce::Method::S256));
        assert!(!ok.redirect_uri_explicit);
        assert_eq!(ok.scope.to_string(), "read");
        let confidential = client(
            ClientType::Confidential,
            vec![GrantType::AuthorizationCode],
            &["https://app.example/cb"],
        );
        assert!(
            run(&confidential, "client_id=app&response_type=code")
                .expect("valid")
                .pkce
                .is_none()
        );
    }

    #[test]
    fn implicit_errors_use_the_fragment() {
        let c = client(
            ClientType::Public,
            vec![GrantType::Implicit],
            &["https://app.example/cb"],
        );
        let ok = run(&c, "client_id=app&response_type=token").expect("implicit needs no PKCE");
        assert_eq!(ok.response_type, ResponseType::Token);
        match run(&c, "client_id=app&response_type=token&scope=nuke") {
            Err(AuthorizeError::Redirect(e)) => {
                assert!(e.fragment);
                assert!(
                    e.location("i")
                        .starts_with("https://app.example/cb#error=invalid_scope")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn response_types_are_sets_in_any_order() {
        assert_eq!(
            ResponseType::parse("token id_token code"),
            Some(ResponseType::CodeIdTokenToken)
        );
        assert_eq!(ResponseType::parse("id_token"), Some(ResponseType::IdToken));
        for bad in ["", "code ", "code code", "none", "Code"] {
            assert_eq!(ResponseType::parse(bad), None, "{bad:?}");
        }
        for rt in ResponseType::ALL {
            assert_eq!(ResponseType::parse(rt.as_str()), Some(rt));
            assert_eq!(rt.fragment(), rt != ResponseType::Code);
        }
    }

    #[test]
    fn hybrid_and_implicit_oidc_need_openid_and_a_nonce() {
        let hybrid = client(
            ClientType::Confidential,
            vec![GrantType::OpenidHybrid],
            &["https://app.example/cb"],
        );
        let ok = run(
            &hybrid,
            "client_id=app&response_type=code+id_token&scope=openid&nonce=n1",
        )
        .expect("hybrid");
        assert_eq!(ok.response_type, ResponseType::CodeIdToken);
        assert!(ok.is_openid());
        assert!(
            run(&hybrid, "client_id=app&response_type=code&scope=openid").is_ok(),
            "a hybrid application may use the code flow"
        );
        match run(
            &hybrid,
            "client_id=app&response_type=code+id_token&scope=openid",
        ) {
            Err(AuthorizeError::Redirect(e)) => {
                assert_eq!(e.error.code, ErrorCode::InvalidRequest);
                assert!(e.fragment, "hybrid errors use the fragment");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            redirect_code(run(
                &hybrid,
                "client_id=app&response_type=code+id_token&scope=read&nonce=n"
            )),
            ErrorCode::InvalidRequest,
            "no openid scope"
        );
        assert_eq!(
            redirect_code(run(
                &hybrid,
                "client_id=app&response_type=code+id_token&scope=openid&nonce=n&response_mode=query"
            )),
            ErrorCode::InvalidRequest,
            "tokens never travel in the query"
        );
        let implicit = client(
            ClientType::Public,
            vec![GrantType::Implicit],
            &["https://app.example/cb"],
        );
        assert!(
            run(
                &implicit,
                "client_id=app&response_type=id_token+token&scope=openid&nonce=n"
            )
            .is_ok()
        );
        assert!(
            run(&implicit, "client_id=app&response_type=token").is_ok(),
            "plain OAuth implicit needs no nonce"
        );
    }

    #[test]
    fn max_age_and_prompt_login_ask_for_a_new_sign_in() {
        let c = client(
            ClientType::Confidential,
            vec![GrantType::AuthorizationCode],
            &["https://app.example/cb"],
        );
        let ok = run(&c, "client_id=app&response_type=code&max_age=60").expect("valid");
        assert!(!ok.fragment, "code answers in the query by default");
        let in_fragment = run(
            &c,
            "client_id=app&response_type=code&response_mode=fragment",
        )
        .expect("valid");
        assert!(in_fragment.fragment, "unless response_mode says fragment");
        assert_eq!(ok.max_age, Some(60));
        assert!(
            !ok.needs_sign_in(Some(1000), 1060),
            "exactly max_age is fresh"
        );
        assert!(ok.needs_sign_in(Some(1000), 1061));
        assert!(ok.needs_sign_in(None, 1000));
        let login = run(&c, "client_id=app&response_type=code&prompt=login").expect("valid");
        assert!(login.needs_sign_in(Some(1000), 1000));
        let plain = run(&c, "client_id=app&response_type=code").expect("valid");
        assert!(!plain.needs_sign_in(Some(0), 1_000_000));
        for bad in ["-1", "x", "1.5"] {
            assert_eq!(
                redirect_code(run(
                    &c,
                    &format!("client_id=app&response_type=code&max_age={bad}")
                )),
                ErrorCode::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn append_params_keeps_existing_query() {
        assert_eq!(
            append_params("https://a/cb?x=1", &[("code", "c d")], false),
            "https://a/cb?x=1&code=c%20d"
        );
        assert_eq!(
            append_params("https://a/cb", &[("code", "c")], false),
            "https://a/cb?code=c"
        );
        assert_eq!(
            append_params("https://a/cb", &[("access_token", "t")], true),
            "https://a/cb#access_token=t"
        );
    }
}
