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

use tessera_jose::Kek;

use crate::client_auth::SecretCache;
use crate::keyring::KeyRing;
use crate::ratelimit::{DeviceCookie, RateLimitSettings, RateLimiter};

/// Whether clients may register themselves (RFC 7591), the `dynamic_registration` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DynamicRegistration {
    /// No registration endpoint at all: 404, and the metadata does not name one.
    #[default]
    Off,
    /// Anyone may register a client (rate limited per address).
    Open,
    /// Only with an initial access token (`tessera registration-token create`) as a Bearer.
    Token,
}

impl DynamicRegistration {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "off" => Some(Self::Off),
            "open" => Some(Self::Open),
            "token" => Some(Self::Token),
            _ => None,
        }
    }
}

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
    /// The lifetime of JWT access tokens, short because a resource server that validates them
    /// offline learns of a revocation only when they expire.
    pub jwt_access_token_seconds: i64,
    /// How long a user's approval of an application is remembered.
    pub consent_seconds: i64,
    pub dynamic_registration: DynamicRegistration,
    pub limits: ConnectionLimits,
    /// Reverse proxies whose `X-Forwarded-For` names the client's address.
    pub trusted_proxies: Vec<crate::address::Network>,
    /// Where every node counts failed attempts together; `None`: this node's memory.
    pub redis_url: Option<String>,
    /// Whether `/metrics` is served by the main listener; `false` when `metrics_bind` gives it
    /// a listener of its own, and then the main listener answers 404 there.
    pub metrics_on_main_listener: bool,
}

/// What one client may hold of the server: a slow or idle client costs a bounded amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a request's headers; also how long an idle keep-alive connection may
    /// wait for its next request.
    pub header_read_timeout: std::time::Duration,
    /// Time to send a request's body.
    pub body_read_timeout: std::time::Duration,
    /// Connections served at once; beyond them new ones wait in the kernel's queue.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: std::time::Duration::from_secs(20),
            body_read_timeout: std::time::Duration::from_secs(30),
            max_connections: 4096,
        }
    }
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
            jwt_access_token_seconds: 300,
            consent_seconds: 90 * 24 * 3600,
            dynamic_registration: DynamicRegistration::Off,
            limits: ConnectionLimits::default(),
            trusted_proxies: Vec::new(),
            redis_url: None,
            metrics_on_main_listener: true,
        }
    }

    /// The lifetimes that apply to `client`'s tokens: JWT access tokens live shorter.
    pub fn lifetimes_for(&self, client: &tessera_core::client::Client) -> Lifetimes {
        match client.access_token_format {
            tessera_core::client::AccessTokenFormat::Opaque => self.lifetimes,
            tessera_core::client::AccessTokenFormat::Jwt => Lifetimes {
                access_token: self.jwt_access_token_seconds,
                ..self.lifetimes
            },
        }
    }
}

/// What every handler shares. Cloned for each request (axum's `State`), so it is one `Arc`:
/// one reference count to move instead of one per field (a profile of introspection showed
/// the clone and drop of the old eleven-`Arc` struct at 6% of the server's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    /// The one source of randomness for tokens, codes, secrets and salts.
    pub entropy: Arc<dyn Entropy>,
    pub limiter: Arc<RateLimiter>,
    pub secret_cache: Arc<SecretCache>,
    /// Bounds concurrent Argon2 verifications (each takes ~19 MiB and tens of ms).
    pub argon2_permits: Arc<Semaphore>,
    /// The signing keys, shared with every node through the store.
    pub keys: Arc<KeyRing>,
    /// Signs and checks known-device cookies (a key derived from the key-encryption key).
    pub devices: Arc<DeviceCookie>,
    /// Whether the store holds tokens imported from DOT.
    pub imports: Arc<crate::imported::Imports>,
}

impl AppState {
    /// The binary passes the system clock and the operating system's randomness; tests may
    /// pass a clock they move and a seeded generator.
    /// The key ring is built from the same store and randomness with the deployment's
    /// key-encryption key.
    pub fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        kek: Kek,
    ) -> Self {
        // The process's metrics recorder, before anything is measured.
        crate::metrics::install();
        let limiter = Arc::new(RateLimiter::new(settings.rate_limits));
        if let Some(url) = &settings.redis_url
            && let Err(e) = limiter.use_redis(url)
        {
            tracing::error!(error = %e, "invalid Redis URL: rate limits count on this node alone");
        }
        let devices = Arc::new(DeviceCookie::new(kek.derive("tessera known-device cookie")));
        let keys = Arc::new(KeyRing::new(store.clone(), kek, entropy.clone()));
        Self(Arc::new(Shared {
            keys,
            devices,
            imports: Arc::default(),
            store,
            settings: Arc::new(settings),
            clock,
            entropy,
            limiter,
            secret_cache: Arc::new(SecretCache::new(4096)),
            argon2_permits: Arc::new(Semaphore::new(4)),
        }))
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }
}
