//! How records map to column values, the same in both SQL backends (so a database can be
//! copied from one to the other).

use tessera_core::client::SecretHash;
use tessera_core::grant::TokenType;

pub fn token_table(token_type: TokenType) -> &'static str {
    match token_type {
        TokenType::AccessToken => "access_tokens",
        TokenType::RefreshToken => "refresh_tokens",
    }
}

/// Lists (redirect URIs, origins) are stored space-separated.
pub fn list_column(items: &[String]) -> String {
    items.join(" ")
}

/// The inverse of [`list_column`].
pub fn split_list(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// `(secret_kind, secret_hash)`: a SHA-256 as lowercase hex, an Argon2 PHC string as is.
pub fn secret_columns(secret: &SecretHash) -> (&'static str, Option<String>) {
    match secret {
        SecretHash::None => ("none", None),
        SecretHash::Sha256(d) => (
            "sha256",
            Some(d.iter().map(|b| format!("{b:02x}")).collect()),
        ),
        SecretHash::Argon2(phc) => ("argon2", Some(phc.clone())),
    }
}

/// The inverse of [`secret_columns`]; `None` for a value no backend writes.
pub fn secret_from_columns(kind: &str, hash: Option<String>) -> Option<SecretHash> {
    match (kind, hash) {
        ("none", _) => Some(SecretHash::None),
        ("sha256", Some(h)) if h.len() == 64 => {
            let mut out = [0u8; 32];
            for (i, o) in out.iter_mut().enumerate() {
                *o = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            Some(SecretHash::Sha256(out))
        }
        ("argon2", Some(h)) => Some(SecretHash::Argon2(h)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip() {
        for secret in [
            SecretHash::None,
            SecretHash::sha256_of("s"),
            SecretHash::Argon2("$argon2id$v=19$x".into()),
        ] {
            let (kind, hash) = secret_columns(&secret);
            assert_eq!(secret_from_columns(kind, hash), Some(secret));
        }
        assert_eq!(secret_from_columns("sha256", Some("zz".into())), None);
        assert_eq!(secret_from_columns("rot13", Some("x".into())), None);
    }
}
