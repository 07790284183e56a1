//! Tessera's signing keys and compact JWS: what an ID token, a JWKS document and a signed
//! response need, and nothing more. No IO, no async: key material comes in as bytes or JSON and
//! randomness is injected, so every path is unit-tested with a seeded generator.
//!
//! # Layout
//! - [`algorithm`]: the four JWS algorithms the server speaks, by their RFC 7518 names.
//! - [`key`]: asymmetric [`SigningKey`]s (generate, seal, open, sign, publish as a JWK) and the
//!   public [`VerifyingKey`] read back from a JWK.
//! - [`kek`]: the key-encryption key that seals private keys at rest (AES-256-GCM).
//! - [`jws`]: compact serialization: signing with a key or an HMAC secret, decoding without
//!   trust, and verification that refuses algorithm confusion.
//! - [`hash`]: OIDC `at_hash` / `c_hash`.
//! - [`error`]: one error type for the crate.
//!
//! Randomness reaches the RustCrypto crates only through an adapter over
//! [`tessera_core::entropy::Entropy`] (module `rng`), never from an ambient generator (the
//! workspace builds them without their `getrandom` features): key generation and sealing
//! nonces are reproducible in tests, and production has one source.

// The RustCrypto generation of rsa 0.10 hashes with sha2 0.11, while the rest of the workspace
// is on 0.10; the workspace names this one `sha2-0-11`, and here it is plain `sha2`.
extern crate sha2_0_11 as sha2;

pub mod algorithm;
pub mod error;
pub mod hash;
pub mod jws;
pub mod kek;
pub mod key;
mod rng;
#[cfg(test)]
mod test_keys;

pub use algorithm::Algorithm;
pub use error::JoseError;
pub use hash::token_hash;
pub use kek::Kek;
pub use key::{SigningKey, VerifyingKey, jwks};

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn mac_bytes(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, KeyInit, Mac};
    // HMAC takes a key of any length, so this cannot fail.
    let mut m = match <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

/// HMAC-SHA256 of `message` under `key`, base64url: a tag only the holder of `key` can make
/// (signed cookies).
pub fn mac(key: &[u8], message: &[u8]) -> String {
    b64::encode(mac_bytes(key, message))
}

/// base64url without padding (RFC 7515 section 2), the only encoding JOSE uses.
pub(crate) mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Strict: padding, the standard alphabet and non-canonical trailing bits are refused, so
    /// a token has exactly one encoding.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(text).ok()
    }
}
