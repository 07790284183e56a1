//! Opaque tokens: a kind prefix, 256 bits of randomness, and a checksum.
//!
//! `tsat_` access token, `tsrt_` refresh token, `tsac_` authorization code, `tscs_` client
//! secret, `tsse_` browser session, `tsdc_` device code (RFC 8628), `tsra_` registration access
//! token (RFC 7592), `tsia_` initial access token (RFC 7591), `tsad_` admin API token. The prefix makes a leaked value recognisable to a person and to secret scanners;
//! the CRC-32 suffix lets the server refuse a mistyped or made-up value without touching the
//! store. Every character is URL-safe (`A-Z a-z 0-9 - _`), so values can be pasted into a form
//! body unescaped. The store keeps only [`TokenDigest`], the SHA-256 of the whole string.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::entropy::Entropy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    AuthorizationCode,
    ClientSecret,
    /// A browser session cookie.
    Session,
    /// The device code of the device authorization grant (RFC 8628 section 3.2).
    DeviceCode,
    /// What a dynamically registered client manages its registration with (RFC 7592).
    RegistrationAccessToken,
    /// What an operator hands out to allow dynamic registration (RFC 7591 section 3).
    InitialAccessToken,
    /// What an operator's tools present to the admin API.
    AdminToken,
}

impl TokenKind {
    pub const ALL: [TokenKind; 9] = [
        Self::AccessToken,
        Self::RefreshToken,
        Self::AuthorizationCode,
        Self::ClientSecret,
        Self::Session,
        Self::DeviceCode,
        Self::RegistrationAccessToken,
        Self::InitialAccessToken,
        Self::AdminToken,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Self::AccessToken => "tsat_",
            Self::RefreshToken => "tsrt_",
            Self::AuthorizationCode => "tsac_",
            Self::ClientSecret => "tscs_",
            Self::Session => "tsse_",
            Self::DeviceCode => "tsdc_",
            Self::RegistrationAccessToken => "tsra_",
            Self::InitialAccessToken => "tsia_",
            Self::AdminToken => "tsad_",
        }
    }
}

const PREFIX_LEN: usize = 5;
/// 32 random bytes in unpadded base64url.
const BODY_LEN: usize = 43;
/// A CRC-32 in unpadded base64url.
const CHECKSUM_LEN: usize = 6;
/// The length of every token this server issues.
pub const TOKEN_LEN: usize = PREFIX_LEN + BODY_LEN + CHECKSUM_LEN;

/// The SHA-256 of a token's full text: what the store keeps and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    pub fn of(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }
}

impl std::fmt::Debug for TokenDigest {
    /// Only a short fingerprint: enough to correlate log lines, useless to an attacker.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TokenDigest({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// A freshly generated token: the clear text goes to the client once, the digest to the store.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedToken {
    pub kind: TokenKind,
    pub text: String,
    pub digest: TokenDigest,
}

impl std::fmt::Debug for GeneratedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedToken")
            .field("kind", &self.kind)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

pub fn generate(kind: TokenKind, entropy: &dyn Entropy) -> GeneratedToken {
    let mut random = [0u8; 32];
    entropy.fill(&mut random);
    let mut text = String::with_capacity(TOKEN_LEN);
    text.push_str(kind.prefix());
    URL_SAFE_NO_PAD.encode_string(random, &mut text);
    let crc = crc32fast::hash(text.as_bytes());
    URL_SAFE_NO_PAD.encode_string(crc.to_be_bytes(), &mut text);
    let digest = TokenDigest::of(&text);
    GeneratedToken { kind, text, digest }
}

/// Recognises a token of this server: right length, known prefix, valid checksum. Anything
/// else (another server's token, an ID token, a typo) is `None`: unknown, no store lookup.
pub fn recognise(text: &str) -> Option<TokenKind> {
    if text.len() != TOKEN_LEN || !text.is_ascii() {
        return None;
    }
    let kind = TokenKind::ALL
        .into_iter()
        .find(|k| text.starts_with(k.prefix()))?;
    let (signed, checksum) = text.split_at(PREFIX_LEN + BODY_LEN);
    let crc = crc32fast::hash(signed.as_bytes());
    let mut expected = String::with_capacity(CHECKSUM_LEN);
    URL_SAFE_NO_PAD.encode_string(crc.to_be_bytes(), &mut expected);
    (expected == checksum).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use proptest::prelude::*;

    #[test]
    fn generated_tokens_are_recognised_with_their_kind() {
        let e = SeededEntropy::new(42);
        for kind in TokenKind::ALL {
            let t = generate(kind, &e);
            assert_eq!(t.text.len(), TOKEN_LEN);
            assert!(t.text.starts_with(kind.prefix()));
            assert!(
                t.text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(recognise(&t.text), Some(kind));
            assert_eq!(t.digest, TokenDigest::of(&t.text));
        }
    }

    #[test]
    fn altered_tokens_are_not_recognised() {
        let t = generate(TokenKind::AccessToken, &SeededEntropy::new(3));
        let mut bytes = t.text.clone().into_bytes();
        bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).expect("ascii");
        assert_eq!(recognise(&altered), None);
        assert_eq!(recognise(&t.text[..TOKEN_LEN - 1]), None);
        let swapped = t.text.replacen("tsat_", "tsrt_", 1);
        assert_eq!(
            recognise(&swapped),
            None,
            "the prefix is covered by the checksum"
        );
    }

    #[test]
    fn debug_output_never_contains_the_token() {
        let t = generate(TokenKind::RefreshToken, &SeededEntropy::new(9));
        let shown = format!("{t:?}");
        assert!(!shown.contains(&t.text[PREFIX_LEN..PREFIX_LEN + 10]));
    }

    proptest! {
        #[test]
        fn recognise_never_panics(text in ".{0,80}") {
            let _ = recognise(&text);
        }

        #[test]
        fn distinct_seeds_give_distinct_tokens(a in any::<u64>(), b in any::<u64>()) {
            prop_assume!(a | 1 != b | 1);
            let ta = generate(TokenKind::AccessToken, &SeededEntropy::new(a));
            let tb = generate(TokenKind::AccessToken, &SeededEntropy::new(b));
            prop_assert_ne!(ta.text, tb.text);
        }
    }
}
