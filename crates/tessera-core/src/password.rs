//! Argon2id for user passwords and operator-chosen client secrets.
//!
//! These are slow on purpose (tens of milliseconds); callers on an async runtime run them on
//! a blocking thread.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::entropy::Entropy;

/// Hashes `secret` with Argon2id (the crate's defaults: 19 MiB, 2 passes) into a PHC string.
pub fn hash(secret: &str, entropy: &dyn Entropy) -> Result<String, String> {
    let mut salt = [0u8; 16];
    entropy.fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `secret` matches the PHC string. A malformed hash never matches.
pub fn verify(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify when the user does not exist, so the answer takes as long as for a wrong
/// password and does not reveal which usernames exist. Its salt is fixed: it hashes no
/// secret, and no password can be made to match it on purpose more easily than a random one.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        hash(
            "tessera-dummy",
            &crate::entropy::SeededEntropy::new(0x7465_7373),
        )
        .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn hash_then_verify() {
        let h = hash("correct horse", &SeededEntropy::new(5)).expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsE", &h));
        assert!(!verify("correct horse", "not a hash"));
    }
}
