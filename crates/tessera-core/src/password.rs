//! Argon2id for user passwords and operator-chosen client secrets; and, for accounts and
//! applications imported from django-oauth-toolkit, the hashes Django made (`pbkdf2_sha256`
//! at any iteration count, `argon2`, `bcrypt_sha256`, `bcrypt`), verified natively and
//! replaced by Argon2id after the first success ([`needs_rehash`]).
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

/// Whether `secret` matches the stored hash: an Argon2 PHC string, or one of Django's
/// formats. A malformed or unknown hash never matches.
pub fn verify(secret: &str, stored: &str) -> bool {
    if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
        return verify_django_pbkdf2(secret, rest);
    }
    if let Some(phc) = stored.strip_prefix("argon2") {
        // Django writes `argon2` followed by the PHC string.
        if phc.starts_with("$argon2") {
            return verify_phc(secret, phc);
        }
    }
    if let Some(bcrypt_hash) = stored.strip_prefix("bcrypt_sha256$") {
        // Django hashes the password with SHA-256 (hex) first, to pass bcrypt's 72-byte limit.
        let prehashed = sha256_hex(secret);
        return bcrypt::verify(prehashed, bcrypt_hash).unwrap_or(false);
    }
    if let Some(bcrypt_hash) = stored.strip_prefix("bcrypt$") {
        return bcrypt::verify(secret, bcrypt_hash).unwrap_or(false);
    }
    verify_phc(secret, stored)
}

fn verify_phc(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (after the prefix).
fn verify_django_pbkdf2(secret: &str, rest: &str) -> bool {
    use base64::Engine;
    use subtle::ConstantTimeEq;
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    // Django has never used fewer than 10,000, nor more than a few million.
    if !(1_000..=100_000_000).contains(&iterations) {
        return false;
    }
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(expected) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret.as_bytes(), salt.as_bytes(), iterations, &mut out);
    bool::from(out.ct_eq(&expected))
}

/// Whether a stored hash should be replaced by Tessera's own (Argon2id with the current
/// parameters) once the secret is known: every imported Django format.
pub fn needs_rehash(stored: &str) -> bool {
    !stored.starts_with("$argon2id$")
}

/// Whether `stored` is a hash this module can verify at all (an import reports the others).
pub fn is_supported(stored: &str) -> bool {
    stored.starts_with("$argon2")
        || stored.starts_with("pbkdf2_sha256$")
        || stored.starts_with("argon2$argon2")
        || stored.starts_with("bcrypt_sha256$")
        || stored.starts_with("bcrypt$")
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
        assert!(!needs_rehash(&h));
    }

    /// Made by Django 5.2 (`make_password`), the formats an imported account may carry.
    #[test]
    fn djangos_hashes_verify_natively() {
        for stored in [
            "pbkdf2_sha256$1000$saltysalt$ogyELkenhssjo9YzB+hLx2dedTg0guGJUM+KVU08H9I=",
            "bcrypt_sha256$$2b$12$e0gYHP0XrVN/vlfdpluXpu1BUFV0EB3DVQImT51l1yKWvFGmO7clS",
            "argon2$argon2id$v=19$m=102400,t=2,p=8$S2dCOGVvVGNGeFd5ODJqTkZVbEM5VQ$2DeQtDllo3YRqq9p72ABzGrHxf2qjm00XM6I2/VAAuM",
            "bcrypt$$2b$12$aDNujMczqSuhQSHNBaFf3.rp7rpuIbnwEHyAP7aK4C9o/pjgRsjfS",
        ] {
            assert!(is_supported(stored), "{stored}");
            assert!(verify("correct horse", stored), "{stored}");
            assert!(!verify("correct horsE", stored), "{stored}");
            assert!(needs_rehash(stored), "{stored}");
        }
        for broken in [
            "pbkdf2_sha256$1000$saltysalt$",
            "pbkdf2_sha256$ten$saltysalt$ogyE",
            "pbkdf2_sha256$1$saltysalt$ogyELkenhssjo9YzB+hLx2dedTg0guGJUM+KVU08H9I=",
            "md5$salt$abc",
            "!unusable",
        ] {
            assert!(!verify("correct horse", broken), "{broken}");
        }
        assert!(!is_supported("md5$salt$abc"));
    }
}
