//! `at_hash` and `c_hash` (OIDC Core sections 3.1.3.6 and 3.3.2.11).

use sha2::{Digest, Sha256, Sha512};

use crate::algorithm::Algorithm;
use crate::b64;

/// The left-most half of the hash of the ASCII `value`, base64url without padding. The hash is
/// the one of the ID token's `alg`: SHA-256 for RS256, ES256 and HS256; SHA-512 for EdDSA, since
/// Ed25519 hashes with SHA-512 (what the `openidconnect` crate and other OIDC libraries expect).
pub fn token_hash(alg: Algorithm, value: &str) -> String {
    match alg {
        Algorithm::RS256 | Algorithm::ES256 | Algorithm::HS256 => {
            let digest = Sha256::digest(value.as_bytes());
            b64::encode(&digest[..digest.len() / 2])
        }
        Algorithm::EdDSA => {
            let digest = Sha512::digest(value.as_bytes());
            b64::encode(&digest[..digest.len() / 2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The access token and `at_hash` of OIDC Core's example ID token (appendix A.3).
    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        assert_eq!(
            token_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn is_the_left_half_of_the_algorithms_hash() {
        let value = "SplxlOBeZQQYbYS6WxSbIA";
        let sha256 = Sha256::digest(value.as_bytes());
        let sha512 = Sha512::digest(value.as_bytes());
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::HS256] {
            assert_eq!(token_hash(alg, value), b64::encode(&sha256[..16]));
        }
        assert_eq!(
            token_hash(Algorithm::EdDSA, value),
            b64::encode(&sha512[..32])
        );
        // 16 bytes are 22 characters, 32 bytes 43: no padding.
        assert_eq!(token_hash(Algorithm::RS256, value).len(), 22);
        assert_eq!(token_hash(Algorithm::EdDSA, value).len(), 43);
    }
}
