//! Limits that stop guessing (docs/behaviour.md, "Security").
//!
//! Failed attempts are counted per principal (a client id, a username) at an address, per
//! address, and per principal across every address. Once any of an attempt's counters is over
//! its limit, the attempt is refused with 429 *before* any credential is checked: no Argon2
//! work is spent, and the answer is the same for a right guess as for a wrong one, so an
//! attacker learns nothing by watching for the answer that is not 429.
//!
//! The per-principal limit across addresses would let anyone lock a user out by failing on
//! their name from many places; a browser where that user signed in before carries a signed
//! known-device cookie ([`DeviceCookie`]) and is not held by that one limit (OWASP's device
//! cookies). It is still held by the limits of its own address.
//!
//! Counters live in fixed windows, in Redis when `redis_url` is set (so every node counts
//! together), in memory otherwise. A Redis outage falls back to this node's memory with a
//! warning: never to no limit, never to refusing everyone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use tessera_core::UnixTime;
use tessera_core::token::TokenDigest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Window length in seconds.
    pub window_seconds: i64,
    /// Failures allowed per principal from one address, in one window.
    pub per_principal: u32,
    /// Failures allowed per remote address, whatever the principal, in one window.
    pub per_address: u32,
    /// Failures allowed per principal across every address, in one window; browsers with the
    /// principal's known-device cookie are not held by it.
    pub per_principal_total: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            window_seconds: 60,
            per_principal: 10,
            per_address: 100,
            per_principal_total: 50,
        }
    }
}

/// Who is being guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    Client(&'a str),
    User(&'a str),
    /// User codes of the device flow entered on the verification page, counted per browser
    /// session (a fingerprint of its cookie): the codes themselves are what is guessed, and a
    /// counter shared by every user would let one attacker lock everyone out.
    UserCode(&'a str),
    /// Dynamic client registrations (RFC 7591). Counted, not guessed: every attempt counts,
    /// only per address, in a counter of its own, so registering never spends the address's
    /// budget of failed sign-ins.
    Registration,
}

/// One authentication attempt, as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'a> {
    pub principal: Option<Principal<'a>>,
    pub address: Option<IpAddr>,
    /// The browser carries this principal's known-device cookie.
    pub known_device: bool,
}

/// A counter's identity. Principals are hashed: the counters (and Redis) never hold a
/// username, which may be a password typed in the wrong field.
fn principal_key(p: Principal<'_>) -> String {
    let (kind, name) = match p {
        Principal::Client(c) => ("c", c),
        Principal::User(u) => ("u", u),
        Principal::UserCode(session) => ("d", session),
        Principal::Registration => ("r", ""),
    };
    let digest = TokenDigest::of(name);
    let hex: String = digest.0[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

/// The counters an attempt touches, each with its limit.
fn counters(attempt: &Attempt<'_>, s: &RateLimitSettings) -> Vec<(String, u32)> {
    if attempt.principal == Some(Principal::Registration) {
        let key = principal_key(Principal::Registration);
        return attempt
            .address
            .map(|ip| vec![(format!("{key}@{ip}"), s.per_principal)])
            .unwrap_or_default();
    }
    let mut out = Vec::with_capacity(3);
    let principal = attempt.principal.map(principal_key);
    if let Some(ip) = attempt.address {
        out.push((format!("a:{ip}"), s.per_address));
        if let Some(p) = &principal {
            out.push((format!("{p}@{ip}"), s.per_principal));
        }
    }
    if let Some(p) = principal
        && !attempt.known_device
    {
        out.push((p, s.per_principal_total));
    }
    out
}

/// Fixed-window counters in this node's memory.
#[derive(Default)]
struct Memory {
    windows: Mutex<HashMap<(String, i64), u32>>,
}

/// Entries kept before past windows are swept.
const SWEEP_AT: usize = 50_000;

impl Memory {
    fn get(&self, keys: &[String], window: i64) -> Vec<u32> {
        let Ok(map) = self.windows.lock() else {
            return vec![0; keys.len()];
        };
        keys.iter()
            .map(|k| map.get(&(k.clone(), window)).copied().unwrap_or(0))
            .collect()
    }

    fn incr(&self, keys: &[String], window: i64) {
        let Ok(mut map) = self.windows.lock() else {
            return;
        };
        if map.len() >= SWEEP_AT {
            map.retain(|(_, w), _| *w >= window);
        }
        for k in keys {
            let n = map.entry((k.clone(), window)).or_insert(0);
            *n = n.saturating_add(1);
        }
    }
}

/// Counters shared by every node through Redis.
struct Redis {
    connection: redis::aio::ConnectionManager,
}

impl Redis {
    fn key(k: &str, window: i64) -> String {
        format!("tessera:rl:{window}:{k}")
    }

    async fn get(&self, keys: &[String], window: i64) -> redis::RedisResult<Vec<u32>> {
        let mut c = self.connection.clone();
        let names: Vec<String> = keys.iter().map(|k| Self::key(k, window)).collect();
        let values: Vec<Option<u32>> = redis::cmd("MGET").arg(&names).query_async(&mut c).await?;
        Ok(values.into_iter().map(|v| v.unwrap_or(0)).collect())
    }

    async fn incr(&self, keys: &[String], window: i64, ttl: i64) -> redis::RedisResult<()> {
        let mut c = self.connection.clone();
        let mut pipe = redis::pipe();
        for k in keys {
            let name = Self::key(k, window);
            pipe.cmd("INCR").arg(&name).ignore();
            pipe.cmd("EXPIRE").arg(&name).arg(ttl).ignore();
        }
        pipe.query_async::<()>(&mut c).await
    }
}

pub struct RateLimiter {
    settings: RateLimitSettings,
    memory: Memory,
    /// Set once Redis answers; until then (and during an outage) memory counts.
    redis: std::sync::OnceLock<Redis>,
    /// When the last Redis failure was reported, so an outage warns once a minute, not once
    /// a request.
    warned_at: AtomicI64,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            memory: Memory::default(),
            redis: std::sync::OnceLock::new(),
            warned_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Counts in Redis at `url` from the moment it answers, shared by every node; until then
    /// (Redis may start after this node) this node's memory counts. A malformed URL is an
    /// error now; an unreachable server is retried every few seconds in the background.
    pub fn use_redis(self: &std::sync::Arc<Self>, url: &str) -> redis::RedisResult<()> {
        let client = redis::Client::open(url)?;
        let limiter = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            let mut warned = false;
            loop {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(std::time::Duration::from_millis(500)))
                    .set_response_timeout(Some(std::time::Duration::from_millis(500)))
                    .set_number_of_retries(1);
                let attempt =
                    redis::aio::ConnectionManager::new_with_config(client.clone(), config).await;
                let Some(me) = limiter.upgrade() else { return };
                match attempt {
                    Ok(connection) => {
                        let _ = me.redis.set(Redis { connection });
                        tracing::info!("rate limits count in Redis, shared by every node");
                        return;
                    }
                    Err(e) if !warned => {
                        warned = true;
                        tracing::warn!(error = %e, "Redis is unreachable: rate limits count on this node alone until it answers");
                    }
                    Err(e) => tracing::debug!(error = %e, "Redis still unreachable"),
                }
                drop(me);
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        });
        Ok(())
    }

    /// Whether the counters are in Redis yet.
    pub fn shared(&self) -> bool {
        self.redis.get().is_some()
    }

    fn window(&self, now: UnixTime) -> (i64, i64) {
        let length = self.settings.window_seconds.max(1);
        let index = now.div_euclid(length);
        (index, (index + 1) * length - now)
    }

    fn warn(&self, now: UnixTime, e: &redis::RedisError) {
        let last = self.warned_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 60 {
            self.warned_at.store(now, Ordering::Relaxed);
            tracing::warn!(error = %e, "Redis is unreachable: rate limits count on this node alone until it is back");
        }
    }

    /// Whether `attempt` may go ahead: `Some(seconds)` to wait when any of its counters is
    /// already over its limit. Checked before any credential is looked at.
    pub async fn check(&self, attempt: &Attempt<'_>, now: UnixTime) -> Option<u64> {
        let touched = counters(attempt, &self.settings);
        if touched.is_empty() {
            return None;
        }
        let (window, left) = self.window(now);
        let keys: Vec<String> = touched.iter().map(|(k, _)| k.clone()).collect();
        let counts = match self.redis.get() {
            Some(r) => match r.get(&keys, window).await {
                Ok(c) => c,
                Err(e) => {
                    self.warn(now, &e);
                    self.memory.get(&keys, window)
                }
            },
            None => self.memory.get(&keys, window),
        };
        let over = touched
            .iter()
            .zip(counts)
            .any(|((_, limit), count)| count >= *limit);
        if over {
            let what = match attempt.principal {
                Some(Principal::Client(_)) => "client",
                Some(Principal::User(_)) => "user",
                Some(Principal::UserCode(_)) => "user_code",
                Some(Principal::Registration) => "registration",
                None => "address",
            };
            metrics::counter!("tessera_rate_limited_total", "principal" => what).increment(1);
        }
        over.then(|| left.max(1).unsigned_abs())
    }

    /// Counts one failed attempt.
    pub async fn record_failure(&self, attempt: &Attempt<'_>, now: UnixTime) {
        let keys: Vec<String> = counters(attempt, &self.settings)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        if keys.is_empty() {
            return;
        }
        let (window, left) = self.window(now);
        if let Some(r) = self.redis.get() {
            match r.incr(&keys, window, left + 1).await {
                Ok(()) => return,
                Err(e) => self.warn(now, &e),
            }
        }
        self.memory.incr(&keys, window);
    }
}

/// The known-device cookie: `HMAC(key, username)`, so only this deployment can make one and
/// it names one user. `key` is derived from the key-encryption key, which every node shares.
pub struct DeviceCookie {
    key: [u8; 32],
}

pub const DEVICE_COOKIE: &str = "tessera_device";

impl DeviceCookie {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The cookie value for `username`.
    pub fn value_for(&self, username: &str) -> String {
        tessera_jose::mac(&self.key, format!("known device\0{username}").as_bytes())
    }

    /// Whether `value` is the cookie of `username`.
    pub fn is_for(&self, value: &str, username: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(value.as_bytes().ct_eq(self.value_for(username).as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RateLimitSettings {
        RateLimitSettings {
            window_seconds: 60,
            per_principal: 3,
            per_address: 10,
            per_principal_total: 5,
        }
    }

    fn ip(n: u8) -> Option<IpAddr> {
        Some([10, 0, 0, n].into())
    }

    fn attempt(user: &str, address: Option<IpAddr>, known_device: bool) -> Attempt<'_> {
        Attempt {
            principal: Some(Principal::User(user)),
            address,
            known_device,
        }
    }

    #[tokio::test]
    async fn over_the_limit_every_attempt_waits_right_or_wrong() {
        let limiter = RateLimiter::new(settings());
        let a = attempt("alice", ip(1), false);
        // Windows are aligned: 960..1020 is one.
        for _ in 0..3 {
            assert_eq!(limiter.check(&a, 960).await, None);
            limiter.record_failure(&a, 960).await;
        }
        assert_eq!(
            limiter.check(&a, 970).await,
            Some(50),
            "held before checking"
        );
        assert_eq!(
            limiter.check(&attempt("alice", ip(2), false), 970).await,
            None,
            "another address is not held by this address's count"
        );
        assert_eq!(limiter.check(&a, 980).await, Some(40));
        assert_eq!(limiter.check(&a, 1020).await, None, "a new window");
    }

    #[tokio::test]
    async fn guessing_from_many_addresses_is_held_but_not_the_users_own_browser() {
        let limiter = RateLimiter::new(settings());
        for n in 0..5 {
            limiter
                .record_failure(&attempt("alice", ip(n), false), 0)
                .await;
        }
        assert!(
            limiter
                .check(&attempt("alice", ip(99), false), 1)
                .await
                .is_some(),
            "five addresses of one attacker"
        );
        assert_eq!(
            limiter.check(&attempt("alice", ip(100), true), 1).await,
            None,
            "the user's browser with its known-device cookie"
        );
    }

    #[tokio::test]
    async fn an_address_has_its_own_limit_across_principals() {
        let limiter = RateLimiter::new(settings());
        for n in 0..10 {
            let name = format!("user{n}");
            limiter
                .record_failure(&attempt(&name, ip(7), false), 0)
                .await;
        }
        assert!(
            limiter
                .check(&attempt("someone", ip(7), false), 0)
                .await
                .is_some()
        );
    }

    #[tokio::test]
    async fn user_codes_count_per_session_and_registrations_apart() {
        let limiter = RateLimiter::new(settings());
        let session = |s| Attempt {
            principal: Some(Principal::UserCode(s)),
            address: ip(3),
            known_device: false,
        };
        for _ in 0..3 {
            limiter.record_failure(&session("s1"), 0).await;
        }
        assert!(limiter.check(&session("s1"), 0).await.is_some());
        assert_eq!(
            limiter.check(&session("s2"), 0).await,
            None,
            "another session has its own count"
        );
        let registration = Attempt {
            principal: Some(Principal::Registration),
            address: ip(4),
            known_device: false,
        };
        for _ in 0..3 {
            assert_eq!(limiter.check(&registration, 0).await, None);
            limiter.record_failure(&registration, 0).await;
        }
        assert!(limiter.check(&registration, 0).await.is_some());
        let other = Attempt {
            address: ip(5),
            ..registration
        };
        assert_eq!(limiter.check(&other, 0).await, None, "per address only");
        assert_eq!(
            limiter.check(&attempt("alice", ip(4), false), 0).await,
            None,
            "registrations do not spend the address's budget of failed sign-ins"
        );
    }

    #[test]
    fn device_cookies_name_one_user() {
        let cookies = DeviceCookie::new([9; 32]);
        let v = cookies.value_for("alice");
        assert!(cookies.is_for(&v, "alice"));
        assert!(!cookies.is_for(&v, "bob"));
        assert!(
            !DeviceCookie::new([8; 32]).is_for(&v, "alice"),
            "another key"
        );
    }
}
