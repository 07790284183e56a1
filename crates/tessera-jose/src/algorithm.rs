//! JWS algorithm names (RFC 7518 section 3.1, RFC 8037 for `EdDSA`).

use std::fmt;

/// A JWS algorithm the server signs or verifies with. Anything else, `none` first of all, is
/// refused before any key is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: the one algorithm every OIDC relying party must accept.
    RS256,
    /// ECDSA on P-256 with SHA-256, signature as the fixed 64-byte `r || s`.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// HMAC SHA-256 keyed by a client secret (OIDC Core section 10.1); never a server key.
    HS256,
}

impl Algorithm {
    /// The algorithms of server signing keys, in the order a key set is usually published.
    pub const ASYMMETRIC: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
        }
    }

    /// Exact and case-sensitive, as RFC 7515 section 4.1.1 compares `alg` values.
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s {
            "RS256" => Some(Self::RS256),
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            "HS256" => Some(Self::HS256),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_inverts_as_str_and_is_case_sensitive() {
        for alg in [
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ] {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
        }
        for other in ["rs256", "EDDSA", "none", "RS384", "", " RS256"] {
            assert_eq!(Algorithm::parse(other), None, "{other:?}");
        }
    }
}
