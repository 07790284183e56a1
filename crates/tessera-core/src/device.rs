//! The device authorization grant (RFC 8628): user codes people can type, device codes, and
//! the decisions of polling (section 3.5) and of a user entering a code (section 3.3).
//!
//! A device code is an opaque token like the others (`tsdc_`, kept as a digest, single use).
//! A user code is eight characters of [`USER_CODE_ALPHABET`], shown as `WDJB-MJHT` and
//! accepted in any case, with or without the dash or spaces; the store keeps the digest of its
//! normalized form. 20^8 codes (about 2^34.6) against a few hundred guesses per address and
//! window within a code's ten minutes (section 5.1) leaves a guess hopeless.

use serde::Serialize;

use crate::UnixTime;
use crate::client::Client;
use crate::entropy::Entropy;
use crate::error::{ErrorCode, OAuthError};
use crate::scope::Scope;
use crate::token::TokenDigest;

/// Consonants only, without the ones read as others (RFC 8628 section 6.1): no vowels (no
/// words), no `0`/`O` or `1`/`I` confusion, no digits at all.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code, shown in two groups of four.
pub const USER_CODE_LENGTH: usize = 8;
/// The polling interval a device is told first (section 3.2: 5 seconds when unspecified).
pub const DEFAULT_INTERVAL: i64 = 5;
/// What `slow_down` adds to a device's interval (section 3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// A user code: its normalized text (`WDJBMJHT`), the grouped form shown to people
/// (`WDJB-MJHT`), and the digest the store keeps.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode {
    pub normalized: String,
    pub digest: TokenDigest,
}

impl std::fmt::Debug for UserCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCode")
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl UserCode {
    /// A fresh random code, without modulo bias.
    pub fn generate(entropy: &dyn Entropy) -> Self {
        let mut normalized = String::with_capacity(USER_CODE_LENGTH);
        let mut buf = [0u8; 16];
        while normalized.len() < USER_CODE_LENGTH {
            entropy.fill(&mut buf);
            for &b in &buf {
                // 240 = 12 * 20: values at or above it would favour the first letters.
                if b < 240 && normalized.len() < USER_CODE_LENGTH {
                    normalized.push(USER_CODE_ALPHABET[(b % 20) as usize] as char);
                }
            }
        }
        Self::from_normalized(normalized)
    }

    /// Reads a code as a person typed it: case, dashes and spaces do not matter. Anything that
    /// is not eight letters of the alphabet is `None` (and no code of this server).
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() > 32 {
            return None;
        }
        let normalized: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\t'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let valid = normalized.len() == USER_CODE_LENGTH
            && normalized.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        valid.then(|| Self::from_normalized(normalized))
    }

    fn from_normalized(normalized: String) -> Self {
        let digest = TokenDigest::of(&normalized);
        Self { normalized, digest }
    }

    /// `WDJB-MJHT`: two groups people can read aloud and compare at a glance.
    pub fn display(&self) -> String {
        let (a, b) = self.normalized.split_at(USER_CODE_LENGTH / 2);
        format!("{a}-{b}")
    }
}

/// A device code to store: digests only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeviceCode {
    pub digest: TokenDigest,
    pub user_code: TokenDigest,
    pub client_pk: i64,
    pub scope: String,
    /// Seconds the device must wait between polls; grows with each `slow_down`.
    pub interval: i64,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// What the user answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    /// Approved by this user, signed in since `auth_time` (the ID token's `auth_time`).
    Approved {
        user_id: i64,
        auth_time: UnixTime,
    },
    Denied,
}

impl DeviceStatus {
    /// The store's `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved { .. } => "approved",
            Self::Denied => "denied",
        }
    }
}

/// A stored device code, as polling and the page find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeRecord {
    pub code: NewDeviceCode,
    pub status: DeviceStatus,
    pub last_polled_at: Option<UnixTime>,
    /// When the tokens were issued: the code is spent.
    pub used_at: Option<UnixTime>,
    pub grant_id: Option<i64>,
}

/// The device authorization response (section 3.2).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

impl std::fmt::Debug for DeviceAuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorizationResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What to do with a poll at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollDecision {
    /// Approved: issue the tokens (once; the store settles a race between two polls).
    Redeem {
        user_id: i64,
        scope: Scope,
        auth_time: UnixTime,
    },
    /// Still pending: record this poll (and the interval, grown for `slow_down`), then
    /// answer `error`.
    Wait {
        interval: i64,
        error: OAuthError,
    },
    Refuse(OAuthError),
}

/// Decides a `urn:ietf:params:oauth:grant-type:device_code` token request (section 3.4) for
/// an authenticated client.
///
/// A spent device code is `invalid_grant` and revokes nothing: unlike an authorization code
/// it never travelled through a browser, and the usual reason to see it again is a device
/// that polled twice at once (two nodes), whose other request got the tokens.
pub fn decide_poll(
    found: Option<&DeviceCodeRecord>,
    client: &Client,
    now: UnixTime,
) -> PollDecision {
    let invalid = |d| PollDecision::Refuse(OAuthError::invalid_grant(d));
    let Some(record) = found else {
        return invalid("The device code is invalid.");
    };
    let code = &record.code;
    if code.client_pk != client.id {
        return invalid("The device code was issued to another client.");
    }
    if record.used_at.is_some() {
        return invalid("The device code was already used.");
    }
    if now >= code.expires_at {
        return PollDecision::Refuse(OAuthError::new(
            ErrorCode::ExpiredToken,
            "The device code has expired: start again.",
        ));
    }
    match record.status {
        DeviceStatus::Denied => PollDecision::Refuse(OAuthError::new(
            ErrorCode::AccessDenied,
            "The user denied the request.",
        )),
        DeviceStatus::Approved { user_id, auth_time } => match Scope::parse(&code.scope) {
            Ok(scope) => PollDecision::Redeem {
                user_id,
                scope,
                auth_time,
            },
            Err(_) => invalid("The device code is invalid."),
        },
        DeviceStatus::Pending => {
            // Section 3.5: polling faster than the interval is `slow_down`, and the interval
            // grows by 5 seconds for this and every later request of this device. Only the
            // time between polls counts: the first poll may follow the authorization at once.
            let too_fast = record
                .last_polled_at
                .is_some_and(|last| now - last < code.interval);
            if too_fast {
                let interval = code.interval + SLOW_DOWN_STEP;
                PollDecision::Wait {
                    interval,
                    error: OAuthError::with_text(
                        ErrorCode::SlowDown,
                        format!("Polling too fast: wait {interval} seconds between requests."),
                    ),
                }
            } else {
                PollDecision::Wait {
                    interval: code.interval,
                    error: OAuthError::new(
                        ErrorCode::AuthorizationPending,
                        "The user has not answered yet.",
                    ),
                }
            }
        }
    }
}

/// What the verification page does with a code the user entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Pending and live: ask the user to approve or deny.
    Ask,
    Expired,
    /// Approved, denied or redeemed already.
    Used,
    /// No such code: a typo or a guess; it counts against the rate limit.
    Unknown,
}

/// Decides what a user's entry of a code leads to.
pub fn decide_entry(found: Option<&DeviceCodeRecord>, now: UnixTime) -> Entry {
    match found {
        None => Entry::Unknown,
        Some(r) if r.used_at.is_some() || r.status != DeviceStatus::Pending => Entry::Used,
        Some(r) if now >= r.code.expires_at => Entry::Expired,
        Some(_) => Entry::Ask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use crate::grant::tests::client;
    use proptest::prelude::*;

    fn record(status: DeviceStatus) -> DeviceCodeRecord {
        DeviceCodeRecord {
            code: NewDeviceCode {
                digest: TokenDigest([1; 32]),
                user_code: TokenDigest([2; 32]),
                client_pk: 1,
                scope: "openid read".into(),
                interval: 5,
                created_at: 1000,
                expires_at: 1600,
            },
            status,
            last_polled_at: None,
            used_at: None,
            grant_id: None,
        }
    }

    fn error_of(d: PollDecision) -> ErrorCode {
        match d {
            PollDecision::Refuse(e) | PollDecision::Wait { error: e, .. } => e.code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn user_codes_are_grouped_and_read_forgivingly() {
        let code = UserCode::generate(&SeededEntropy::new(1));
        assert_eq!(code.normalized.len(), 8);
        assert!(
            code.normalized
                .bytes()
                .all(|b| USER_CODE_ALPHABET.contains(&b))
        );
        let shown = code.display();
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        for typed in [
            shown.clone(),
            shown.to_lowercase(),
            code.normalized.clone(),
            format!(" {} ", shown.replace('-', " ")),
        ] {
            assert_eq!(UserCode::parse(&typed).as_ref(), Some(&code), "{typed:?}");
        }
        assert_eq!(
            UserCode::parse("WDJB-MJHT").map(|c| c.display()).as_deref(),
            Some("WDJB-MJHT")
        );
        for bad in [
            "",
            "WDJB-MJH",
            "WDJB-MJHTX",
            "WDJB-MJH0",
            "AEIO-UBCD",
            "WDJB_MJHT",
            "ẀDJB-MJHT",
        ] {
            assert!(UserCode::parse(bad).is_none(), "{bad:?}");
        }
        assert!(UserCode::parse(&"B".repeat(1000)).is_none());
    }

    #[test]
    fn the_alphabet_has_no_vowels_and_nothing_confusable() {
        for c in b"AEIOUY01" {
            assert!(!USER_CODE_ALPHABET.contains(c), "{}", *c as char);
        }
        assert!(
            USER_CODE_ALPHABET.len().pow(USER_CODE_LENGTH as u32) > 10_000_000_000,
            "about 2^34 codes"
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_round_trips(text in ".{0,40}") {
            if let Some(code) = UserCode::parse(&text) {
                prop_assert_eq!(UserCode::parse(&code.display()), Some(code));
            }
        }
    }

    #[test]
    fn polling_before_an_answer_is_pending_then_slow_down_when_too_fast() {
        let c = client(1);
        let mut r = record(DeviceStatus::Pending);
        assert_eq!(
            decide_poll(Some(&r), &c, 1000),
            PollDecision::Wait {
                interval: 5,
                error: OAuthError::new(
                    ErrorCode::AuthorizationPending,
                    "The user has not answered yet."
                ),
            },
            "the first poll may come at once"
        );
        r.last_polled_at = Some(1000);
        match decide_poll(Some(&r), &c, 1004) {
            PollDecision::Wait { interval, error } => {
                assert_eq!(error.code, ErrorCode::SlowDown);
                assert_eq!(interval, 10, "the interval grows by 5 seconds");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            error_of(decide_poll(Some(&r), &c, 1005)),
            ErrorCode::AuthorizationPending,
            "exactly the interval is fine"
        );
        r.code.interval = 10;
        assert_eq!(
            error_of(decide_poll(Some(&r), &c, 1009)),
            ErrorCode::SlowDown,
            "the grown interval holds for later polls"
        );
    }

    #[test]
    fn answers_after_the_user_decided() {
        let c = client(1);
        let approved = record(DeviceStatus::Approved {
            user_id: 7,
            auth_time: 990,
        });
        assert_eq!(
            decide_poll(Some(&approved), &c, 1001),
            PollDecision::Redeem {
                user_id: 7,
                scope: Scope::parse("openid read").expect("scope"),
                auth_time: 990,
            }
        );
        let mut fast = approved.clone();
        fast.last_polled_at = Some(1000);
        assert!(
            matches!(
                decide_poll(Some(&fast), &c, 1001),
                PollDecision::Redeem { .. }
            ),
            "slow_down is a kind of pending: an approved device gets its tokens"
        );
        assert_eq!(
            error_of(decide_poll(Some(&record(DeviceStatus::Denied)), &c, 1001)),
            ErrorCode::AccessDenied
        );
        assert_eq!(
            error_of(decide_poll(Some(&approved), &c, 1600)),
            ErrorCode::ExpiredToken,
            "expired at its expiry instant, approved or not"
        );
        assert_eq!(
            error_of(decide_poll(Some(&record(DeviceStatus::Pending)), &c, 1600)),
            ErrorCode::ExpiredToken
        );
        let mut used = approved.clone();
        used.used_at = Some(1002);
        used.grant_id = Some(3);
        assert_eq!(
            error_of(decide_poll(Some(&used), &c, 1003)),
            ErrorCode::InvalidGrant,
            "a spent code gets nothing more and revokes nothing"
        );
        assert_eq!(
            error_of(decide_poll(Some(&approved), &client(2), 1001)),
            ErrorCode::InvalidGrant,
            "another client's device code"
        );
        assert_eq!(
            error_of(decide_poll(None, &c, 1001)),
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn entries() {
        let pending = record(DeviceStatus::Pending);
        assert_eq!(decide_entry(Some(&pending), 1599), Entry::Ask);
        assert_eq!(decide_entry(Some(&pending), 1600), Entry::Expired);
        assert_eq!(decide_entry(None, 1000), Entry::Unknown);
        assert_eq!(
            decide_entry(Some(&record(DeviceStatus::Denied)), 1000),
            Entry::Used
        );
        let mut used = record(DeviceStatus::Approved {
            user_id: 1,
            auth_time: 1,
        });
        assert_eq!(decide_entry(Some(&used), 1000), Entry::Used);
        used.used_at = Some(1001);
        assert_eq!(
            decide_entry(Some(&used), 1700),
            Entry::Used,
            "used wins over expired"
        );
    }
}
