//! The signing keys as one node sees them: read from the store, opened with the
//! deployment's key-encryption key, cached for a few seconds so a rotation made on any node
//! (or by `tessera keys rotate`) reaches every node without a restart.
//!
//! The JWKS document is read from the store on every request, so a new key is published the
//! moment it exists and a retired one disappears the moment it is deleted.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tessera_core::UnixTime;
use tessera_core::entropy::{Entropy, alphanumeric};
use tessera_jose::{Algorithm, JoseError, Kek, SigningKey};
use tessera_store::{Store, StoreError, StoredKey};

use crate::error::ApiError;

/// How long a node signs with the keys it loaded before reading the store again.
pub const REFRESH_SECONDS: i64 = 5;

/// Why the keys could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key that this node's key-encryption key cannot open: the nodes do not share
    /// one key-encryption key, or the row was altered.
    #[error(
        "signing key {kid} cannot be opened with this node's key-encryption key (fingerprint {fingerprint}): {source}"
    )]
    Open {
        kid: String,
        fingerprint: String,
        source: JoseError,
    },
    #[error("signing key {kid}: {source}")]
    Key { kid: String, source: JoseError },
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// What one load of the store gave.
#[derive(Default)]
struct View {
    loaded_at: Option<UnixTime>,
    /// The key that signs, per algorithm.
    signing: HashMap<Algorithm, Arc<SigningKey>>,
    /// Every published key by kid, for verifying what this server signed.
    published: HashMap<String, Arc<SigningKey>>,
}

pub struct KeyRing {
    store: Arc<dyn Store>,
    kek: Arc<Kek>,
    entropy: Arc<dyn Entropy>,
    view: RwLock<Arc<View>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("kek", &self.kek.fingerprint())
            .finish_non_exhaustive()
    }
}

/// A new key of `alg`, ready to store: generated, sealed under `kek`. RSA generation takes a
/// noticeable time; callers on an async runtime run it on a blocking thread.
pub fn new_key(
    alg: Algorithm,
    kek: &Kek,
    entropy: &dyn Entropy,
    now: UnixTime,
) -> Result<(StoredKey, SigningKey), KeyError> {
    let kid = format!(
        "{}-{}",
        alg.as_str().to_ascii_lowercase(),
        alphanumeric(entropy, 16)
    );
    let wrap = |source| KeyError::Key {
        kid: kid.clone(),
        source,
    };
    let key = SigningKey::generate(alg, kid.clone(), entropy).map_err(wrap)?;
    let stored = StoredKey {
        kid: kid.clone(),
        algorithm: alg.as_str().to_owned(),
        sealed: key.seal(kek, entropy).map_err(wrap)?,
        public_jwk: key.public_jwk().to_string(),
        created_at: now,
        retired_at: None,
        publish_until: None,
    };
    Ok((stored, key))
}

impl KeyRing {
    pub fn new(store: Arc<dyn Store>, kek: Kek, entropy: Arc<dyn Entropy>) -> Self {
        Self {
            store,
            kek: Arc::new(kek),
            entropy,
            view: RwLock::new(Arc::new(View::default())),
        }
    }

    /// The key-encryption key, shared (the admin API rotates keys with it).
    pub fn shared_kek(&self) -> Arc<Kek> {
        self.kek.clone()
    }

    pub fn kek(&self) -> &Kek {
        &self.kek
    }

    fn current(&self) -> Arc<View> {
        match self.view.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the store and opens every published key, reusing those already open.
    async fn load(&self, now: UnixTime) -> Result<Arc<View>, KeyError> {
        let old = self.current();
        let mut view = View {
            loaded_at: Some(now),
            ..View::default()
        };
        for stored in self.store.signing_keys().await? {
            if !stored.is_published(now) {
                continue;
            }
            let key = match old.published.get(&stored.kid) {
                Some(k) => k.clone(),
                None => Arc::new(self.open(&stored)?),
            };
            if stored.is_signing() {
                view.signing.insert(key.algorithm(), key.clone());
            }
            view.published.insert(stored.kid.clone(), key);
        }
        let view = Arc::new(view);
        match self.view.write() {
            Ok(mut v) => *v = view.clone(),
            Err(poisoned) => *poisoned.into_inner() = view.clone(),
        }
        Ok(view)
    }

    fn open(&self, stored: &StoredKey) -> Result<SigningKey, KeyError> {
        let alg = Algorithm::parse(&stored.algorithm).ok_or_else(|| KeyError::Key {
            kid: stored.kid.clone(),
            source: JoseError::UnsupportedAlgorithm(stored.algorithm.clone()),
        })?;
        SigningKey::open(&stored.kid, alg, &stored.sealed, &self.kek).map_err(|source| {
            KeyError::Open {
                kid: stored.kid.clone(),
                fingerprint: self.kek.fingerprint(),
                source,
            }
        })
    }

    /// The view, read again from the store when older than [`REFRESH_SECONDS`].
    async fn fresh(&self, now: UnixTime) -> Result<Arc<View>, KeyError> {
        let view = self.current();
        match view.loaded_at {
            Some(at) if now - at < REFRESH_SECONDS && now >= at => Ok(view),
            _ => self.load(now).await,
        }
    }

    /// Opens every stored key: a node whose key-encryption key cannot open them must not
    /// start (it could neither sign nor verify alike with the other nodes).
    pub async fn check(&self, now: UnixTime) -> Result<usize, KeyError> {
        Ok(self.load(now).await?.published.len())
    }

    /// The key that signs for `alg`, made (and stored for every node) if there is none yet.
    pub async fn signer(&self, alg: Algorithm, now: UnixTime) -> Result<Arc<SigningKey>, KeyError> {
        if let Some(key) = self.fresh(now).await?.signing.get(&alg) {
            return Ok(key.clone());
        }
        let kek = self.kek.clone();
        let entropy = self.entropy.clone();
        let (stored, _) = tokio::task::spawn_blocking(move || new_key(alg, &kek, &*entropy, now))
            .await
            .map_err(|e| KeyError::Store(StoreError::unavailable(e.to_string())))??;
        let kid = stored.kid.clone();
        if self.store.insert_signing_key(stored).await? {
            tracing::info!(target: "tessera::audit", event = "signing_key_created", kid = %kid, algorithm = alg.as_str());
        }
        // Whether ours or another node's won, the store now has one signing key of `alg`.
        self.load(now)
            .await?
            .signing
            .get(&alg)
            .cloned()
            .ok_or_else(|| KeyError::Key {
                kid,
                source: JoseError::UnsupportedAlgorithm(alg.as_str().to_owned()),
            })
    }

    /// A published key by kid, to verify what this server signed; the store is read again
    /// for a kid not seen yet (a key another node just made), at most once a second.
    pub async fn published(
        &self,
        kid: &str,
        now: UnixTime,
    ) -> Result<Option<Arc<SigningKey>>, KeyError> {
        let view = self.fresh(now).await?;
        if let Some(key) = view.published.get(kid) {
            return Ok(Some(key.clone()));
        }
        if view.loaded_at.is_some_and(|at| at >= now) {
            return Ok(None);
        }
        Ok(self.load(now).await?.published.get(kid).cloned())
    }

    /// The JWKS document (RFC 7517 section 5): every published public key, newest first. A
    /// key of every algorithm exists before it is first published, so a relying party that
    /// caches the JWKS already holds the key of its first ID token.
    pub async fn jwks(&self, now: UnixTime) -> Result<Value, KeyError> {
        for alg in Algorithm::ASYMMETRIC {
            self.signer(alg, now).await?;
        }
        let keys: Vec<Value> = self
            .store
            .signing_keys()
            .await?
            .into_iter()
            .filter(|k| k.is_published(now))
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }
}
