//! Shared state: the store, settings, and the injected clock and randomness.

use std::sync::Arc;

use tessera_core::UnixTime;
use tessera_core::clock::Clock;
use tessera_core::entropy::Entropy;
use tessera_core::grant::Lifetimes;
use tessera_core::pkce::PkcePolicy;
use tessera_core::scope::ScopePolicy;
use tessera_store::Store;
use tokio::sync::Semaphore;

use crate::client_auth::SecretCache;
use crate::ratelimit::{RateLimitSettings, RateLimiter};

/// What the HTTP layer needs to know; the binary builds it from its configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `http://<bind>/o` unless configured; never taken from a request.
    pub issuer: String,
    pub lifetimes: Lifetimes,
    pub scopes: ScopePolicy,
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    pub rate_limits: RateLimitSettings,
    pub pkce: PkcePolicy,
    /// How long a browser session lasts.
    pub session_seconds: i64,
}

impl Settings {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            lifetimes: Lifetimes::default(),
            scopes: ScopePolicy::default(),
            max_body_bytes: 64 * 1024,
            rate_limits: RateLimitSettings::default(),
            pkce: PkcePolicy { allow_plain: false },
            session_seconds: 12 * 3600,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    /// The one source of randomness for tokens, codes, secrets and salts.
    pub entropy: Arc<dyn Entropy>,
    pub limiter: Arc<RateLimiter>,
    pub secret_cache: Arc<SecretCache>,
    /// Bounds concurrent Argon2 verifications (each takes ~19 MiB and tens of ms).
    pub argon2_permits: Arc<Semaphore>,
}

impl AppState {
    /// The binary passes the system clock and the operating system's randomness; tests may
    /// pass a clock they move and a seeded generator.
    pub fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Self {
        let limiter = Arc::new(RateLimiter::new(settings.rate_limits));
        Self {
            store,
            settings: Arc::new(settings),
            clock,
            entropy,
            limiter,
            secret_cache: Arc::new(SecretCache::new(4096)),
            argon2_permits: Arc::new(Semaphore::new(4)),
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }
}
