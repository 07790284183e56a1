//! Scopes (RFC 6749 section 3.3) and the server's scope policy.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::OAuthError;

/// A set of scope tokens. Ordered, so its text form is canonical and comparable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a space-delimited scope string. Each token must use the characters of RFC 6749
    /// section 3.3 (`%x21 / %x23-5B / %x5D-7E`); repeated spaces are tolerated.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut set = BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_char) {
                return Err(OAuthError::invalid_scope("The scope is malformed."));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn from_tokens<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Self {
        Self(tokens.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn intersection(&self, other: &Scope) -> Scope {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// This scope without `token`.
    pub fn without(&self, token: &str) -> Scope {
        Self(self.0.iter().filter(|t| *t != token).cloned().collect())
    }
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

/// Which scopes the server knows, and which a client gets when it asks for none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePolicy {
    pub supported: Scope,
    pub default: Scope,
}

impl Default for ScopePolicy {
    /// DOT's `read` and `write`, the `introspection` scope that lets a bearer token call the
    /// introspection endpoint, and the OpenID Connect scopes. A client that asks for nothing
    /// gets `read write`, as in DOT.
    fn default() -> Self {
        Self {
            supported: Scope::from_tokens([
                "read",
                "write",
                "introspection",
                "openid",
                "profile",
                "email",
            ]),
            default: Scope::from_tokens(["read", "write"]),
        }
    }
}

impl ScopePolicy {
    /// [`ScopePolicy::resolve`] for a client: the default is narrowed to what the client may
    /// have, and asking for more than that is `invalid_scope` (RFC 6749 section 3.3: the
    /// server may refuse or narrow; refusing says plainly what went wrong).
    pub fn resolve_for(
        &self,
        client: &crate::client::Client,
        requested: Option<&str>,
    ) -> Result<Scope, OAuthError> {
        let allowed = client.allowed_scope(&self.supported);
        let granted = self.resolve(requested)?;
        let asked = requested.is_some_and(|r| !r.trim().is_empty());
        if !asked {
            return Ok(granted.intersection(&allowed));
        }
        if !granted.is_subset(&allowed) {
            return Err(OAuthError::invalid_scope(
                "The requested scope is not allowed for this application.",
            ));
        }
        Ok(granted)
    }

    /// The scope to grant for a request's `scope` parameter (absent or empty means the default).
    /// Asking for a scope the server does not know is `invalid_scope` (RFC 6749 section 5.2).
    pub fn resolve(&self, requested: Option<&str>) -> Result<Scope, OAuthError> {
        let requested = match requested {
            None => return Ok(self.default.intersection(&self.supported)),
            Some(text) => Scope::parse(text)?,
        };
        if requested.is_empty() {
            return Ok(self.default.intersection(&self.supported));
        }
        if !requested.is_subset(&self.supported) {
            return Err(OAuthError::invalid_scope(
                "The requested scope is unknown to this server.",
            ));
        }
        Ok(requested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    #[test]
    fn parse_and_display_are_canonical() {
        let s = Scope::parse("write  read write").expect("valid");
        assert_eq!(s.to_string(), "read write");
    }

    #[test]
    fn rejects_forbidden_characters() {
        for bad in ["read\"", "a\\b", "r\u{e9}ad", "tab\there"] {
            let err = Scope::parse(bad).expect_err(bad);
            assert_eq!(err.code, ErrorCode::InvalidScope);
        }
    }

    #[test]
    fn policy_defaults_and_refuses_unknown() {
        let policy = ScopePolicy::default();
        assert_eq!(
            policy.resolve(None).expect("default").to_string(),
            "read write"
        );
        assert_eq!(
            policy.resolve(Some("")).expect("default").to_string(),
            "read write"
        );
        assert_eq!(
            policy
                .resolve(Some("introspection"))
                .expect("known")
                .to_string(),
            "introspection"
        );
        let err = policy.resolve(Some("read nuke")).expect_err("unknown");
        assert_eq!(err.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn clients_get_only_their_allowed_scopes() {
        use crate::client::ClientType;
        let policy = ScopePolicy::default();
        let mut c = crate::grant::tests::client(1);
        assert_eq!(
            policy.resolve_for(&c, None).expect("default").to_string(),
            "read write"
        );
        let err = policy
            .resolve_for(&c, Some("read introspection"))
            .expect_err("introspection needs an operator's say-so");
        assert_eq!(err.code, ErrorCode::InvalidScope);
        c.allowed_scopes = Some("read introspection".into());
        assert_eq!(
            policy
                .resolve_for(&c, Some("introspection"))
                .expect("allowed")
                .to_string(),
            "introspection"
        );
        assert_eq!(
            policy.resolve_for(&c, None).expect("default").to_string(),
            "read",
            "the default narrowed to what the client may have"
        );
        assert_eq!(
            policy
                .resolve_for(&c, Some("write"))
                .expect_err("not allowed")
                .code,
            ErrorCode::InvalidScope
        );
        c.client_type = ClientType::Public;
        assert_eq!(
            policy
                .resolve_for(&c, Some("introspection"))
                .expect_err("never for a public client")
                .code,
            ErrorCode::InvalidScope
        );
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(tokens in proptest::collection::btree_set("[a-z:]{1,8}", 0..6)) {
            let scope = Scope::from_tokens(tokens.iter().cloned());
            prop_assert_eq!(Scope::parse(&scope.to_string()).expect("valid"), scope);
        }

        #[test]
        fn resolved_scope_is_always_supported(text in "[a-z ]{0,30}") {
            let policy = ScopePolicy::default();
            if let Ok(granted) = policy.resolve(Some(&text)) {
                prop_assert!(granted.is_subset(&policy.supported));
            }
        }
    }
}
