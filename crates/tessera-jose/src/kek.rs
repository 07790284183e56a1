//! The key-encryption key (KEK) that seals private signing keys at rest.
//!
//! Signing keys live in the database; the KEK lives in a file beside the configuration. A
//! database dump alone then yields no usable private key, and rotating the KEK re-seals rows
//! without changing any published key.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use tessera_core::entropy::Entropy;
use zeroize::Zeroizing;

use crate::b64;
use crate::error::JoseError;

/// 32 bytes, the key of AES-256-GCM. Zeroed on drop; its `Debug` shows only the fingerprint.
pub struct Kek(Zeroizing<[u8; 32]>);

impl Kek {
    pub const LEN: usize = 32;

    pub fn generate(entropy: &dyn Entropy) -> Kek {
        let mut bytes = Zeroizing::new([0u8; 32]);
        entropy.fill(bytes.as_mut());
        Kek(bytes)
    }

    /// Exactly 32 bytes: a shorter key would silently weaken every sealed key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Kek, JoseError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| JoseError::KeyEncoding("a key-encryption key is 32 bytes"))?;
        Ok(Kek(Zeroizing::new(array)))
    }

    /// One line of base64url without padding, the format of the KEK file.
    pub fn to_base64(&self) -> String {
        b64::encode(self.0.as_ref())
    }

    /// Reads a KEK file's text. Surrounding whitespace (the file's newline) and `=` padding
    /// are ignored, and the standard alphabet is accepted too, so a key made with
    /// `openssl rand -base64 32` works as well as one written by [`Kek::to_base64`].
    pub fn from_base64(text: &str) -> Result<Kek, JoseError> {
        let text = text.trim().trim_end_matches('=');
        let engine = if text.contains(['+', '/']) {
            &STANDARD_NO_PAD
        } else {
            &URL_SAFE_NO_PAD
        };
        let bytes = Zeroizing::new(
            engine
                .decode(text)
                .map_err(|_| JoseError::KeyEncoding("the key-encryption key is not base64"))?,
        );
        Kek::from_bytes(&bytes)
    }

    /// A short id safe to log: 8 bytes of a domain-separated SHA-256 of the key, base64url.
    /// It tells which KEK a process loaded without revealing anything usable about it.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"tessera-kek-fingerprint\0")
            .chain_update(self.0.as_ref())
            .finalize();
        b64::encode(&digest[..8])
    }

    /// A 32-byte key for another purpose, derived from this one (HMAC-SHA256 of `label`):
    /// every node of a deployment derives the same, and it reveals nothing of the KEK.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&crate::mac_bytes(self.0.as_ref(), label.as_bytes()));
        out
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::entropy::SeededEntropy;

    #[test]
    fn base64_round_trip_tolerates_a_trailing_newline() {
        let kek = Kek::generate(&SeededEntropy::new(1));
        let text = kek.to_base64();
        assert_eq!(text.len(), 43);
        assert!(!text.contains(['=', '+', '/', '\n']));
        let back = Kek::from_base64(&format!("{text}\n")).expect("a valid KEK");
        assert_eq!(back.bytes(), kek.bytes());
        assert_eq!(back.fingerprint(), kek.fingerprint());
    }

    #[test]
    fn from_base64_accepts_the_standard_alphabet_with_padding() {
        let bytes = [0xfb_u8; 32];
        let standard = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(standard.contains('+') || standard.contains('/'));
        assert!(standard.ends_with('='));
        assert_eq!(
            Kek::from_base64(&standard).expect("a valid KEK").bytes(),
            &bytes
        );
    }

    #[test]
    fn wrong_lengths_and_garbage_are_refused() {
        assert!(Kek::from_bytes(&[0; 31]).is_err());
        assert!(Kek::from_bytes(&[0; 33]).is_err());
        assert!(Kek::from_base64("").is_err());
        assert!(Kek::from_base64(&b64::encode([0u8; 16])).is_err());
        assert!(Kek::from_base64("not base64 at all!").is_err());
    }

    #[test]
    fn fingerprint_differs_between_keys_and_is_short() {
        let a = Kek::generate(&SeededEntropy::new(1));
        let b = Kek::generate(&SeededEntropy::new(2));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 11);
    }

    #[test]
    fn debug_shows_the_fingerprint_not_the_key() {
        let kek = Kek::from_bytes(&[0x41; 32]).expect("32 bytes");
        let debug = format!("{kek:?}");
        assert!(debug.contains(&kek.fingerprint()));
        assert!(!debug.contains(&kek.to_base64()));
        // Neither the bytes as numbers (derived Debug) nor their encodings appear.
        assert!(!debug.contains("65, 65"), "{debug}");
        assert!(!debug.contains("QUFB"), "{debug}");
    }
}
