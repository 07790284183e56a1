//! Signing keys for ID tokens and JWT access tokens, shared by every node of a deployment.
//!
//! The store keeps each private key sealed under the deployment's key-encryption key and
//! never sees it in clear; sealing and opening are `tessera-jose`'s.

use async_trait::async_trait;
use tessera_core::UnixTime;

use crate::StoreResult;

/// A signing key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub algorithm: String,
    /// The private key sealed under the key-encryption key.
    pub sealed: Vec<u8>,
    /// The public JWK, as published.
    pub public_jwk: String,
    pub created_at: UnixTime,
    /// When it stopped signing; `None` while it signs.
    pub retired_at: Option<UnixTime>,
    /// Until when it stays published after retirement: the last expiry of what it signed.
    pub publish_until: Option<UnixTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("publish_until", &self.publish_until)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    /// Whether it signs new tokens.
    pub fn is_signing(&self) -> bool {
        self.retired_at.is_none()
    }

    /// Whether its public key belongs in the JWKS at `now`.
    pub fn is_published(&self, now: UnixTime) -> bool {
        self.publish_until.is_none_or(|until| until > now)
    }
}

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Every stored key, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;

    /// Inserts the first signing key of its algorithm. Returns `false`, changing nothing, if
    /// another node inserted one first (one signing key per algorithm).
    async fn insert_signing_key(&self, key: StoredKey) -> StoreResult<bool>;

    /// Rotation, atomically: the signing key of `key.algorithm` (if any) stops signing at
    /// `now` and stays published until `publish_until`; `key` signs from now on.
    async fn rotate_signing_key(
        &self,
        key: StoredKey,
        now: UnixTime,
        publish_until: UnixTime,
    ) -> StoreResult<()>;

    /// Removes a key at once: it no longer signs nor verifies. Returns whether it existed.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;
}
