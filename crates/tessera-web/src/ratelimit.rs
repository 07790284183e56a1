//! Failure counters: failed client authentications per client id and per address, failed
//! logins per username and per address. Only failures count, so a client or user that
//! authenticates correctly is never slowed or refused (docs/behaviour.md, "Client
//! authentication").
//!
//! Fixed windows in memory, per node. Limits protect CPU and guessing budgets; they do not
//! decide anything about tokens, so a node-local view is enough.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tessera_core::UnixTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Window length in seconds.
    pub window_seconds: i64,
    /// Failures allowed per client id, and per username, in one window.
    pub per_principal: u32,
    /// Failures allowed per remote address in one window.
    pub per_address: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            window_seconds: 60,
            per_principal: 20,
            per_address: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Client(String),
    User(String),
    Address(IpAddr),
    /// A browser session entering device user codes (RFC 8628 section 5.1), by a fingerprint
    /// of its cookie's digest.
    Session(String),
    /// Dynamic client registrations from one address (each attempt counts, not only
    /// failures).
    Registration(IpAddr),
}

/// Entries kept before expired windows are swept.
const SWEEP_AT: usize = 50_000;

pub struct RateLimiter {
    settings: RateLimitSettings,
    windows: Mutex<HashMap<Key, (UnixTime, u32)>>,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn limit(&self, key: &Key) -> u32 {
        match key {
            Key::Address(_) => self.settings.per_address,
            _ => self.settings.per_principal,
        }
    }

    /// The seconds to wait when any key is already over its limit, without counting anything:
    /// checked before a guess is even looked at, so that over the limit a right guess is
    /// answered exactly like a wrong one.
    pub fn retry_after(&self, keys: &[Key], now: UnixTime) -> Option<u64> {
        let window = self.settings.window_seconds.max(1);
        let map = self.windows.lock().ok()?;
        keys.iter()
            .filter_map(|key| {
                let (start, count) = map.get(key)?;
                (now < start + window && *count > self.limit(key))
                    .then(|| (start + window - now).max(1) as u64)
            })
            .max()
    }

    /// Records one failure for each key; returns the seconds to wait when any of them is now
    /// over its limit.
    pub fn record_failure(&self, keys: &[Key], now: UnixTime) -> Option<u64> {
        let window = self.settings.window_seconds.max(1);
        let Ok(mut map) = self.windows.lock() else {
            return None;
        };
        if map.len() >= SWEEP_AT {
            map.retain(|_, (start, _)| now < *start + window);
        }
        let mut wait = None;
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((now, 0));
            if now >= entry.0 + window {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
            if entry.1 > self.limit(key) {
                let left = (entry.0 + window - now).max(1) as u64;
                wait = Some(wait.map_or(left, |w: u64| w.max(left)));
            }
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_until_the_window_ends() {
        let limiter = RateLimiter::new(RateLimitSettings {
            window_seconds: 60,
            per_principal: 3,
            per_address: 10,
        });
        let keys = [Key::Client("app".into())];
        for _ in 0..3 {
            assert_eq!(limiter.record_failure(&keys, 1000), None);
        }
        assert_eq!(limiter.record_failure(&keys, 1010), Some(50));
        assert_eq!(limiter.record_failure(&keys, 1060), None, "a new window");
    }

    #[test]
    fn addresses_have_their_own_limit() {
        let limiter = RateLimiter::new(RateLimitSettings {
            window_seconds: 10,
            per_principal: 100,
            per_address: 2,
        });
        let ip: IpAddr = [127, 0, 0, 1].into();
        for i in 0..2 {
            let keys = [Key::Client(format!("c{i}")), Key::Address(ip)];
            assert_eq!(limiter.record_failure(&keys, 0), None);
        }
        let keys = [Key::Client("c9".into()), Key::Address(ip)];
        assert_eq!(limiter.record_failure(&keys, 3), Some(7));
    }

    #[test]
    fn retry_after_checks_without_counting() {
        let limiter = RateLimiter::new(RateLimitSettings {
            window_seconds: 60,
            per_principal: 2,
            per_address: 10,
        });
        let keys = [Key::Session("s".into())];
        for _ in 0..10 {
            assert_eq!(
                limiter.retry_after(&keys, 1000),
                None,
                "checking counts nothing"
            );
        }
        limiter.record_failure(&keys, 1000);
        limiter.record_failure(&keys, 1000);
        assert_eq!(
            limiter.retry_after(&keys, 1000),
            None,
            "at the limit, not over"
        );
        assert_eq!(limiter.record_failure(&keys, 1000), Some(60));
        assert_eq!(limiter.retry_after(&keys, 1030), Some(30));
        assert_eq!(limiter.retry_after(&keys, 1060), None, "a new window");
    }
}
