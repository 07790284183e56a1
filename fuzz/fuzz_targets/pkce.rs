//! PKCE: never a panic; S256 verification agrees with computing the challenge.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::pkce::{Challenge, Method, PkcePolicy, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\n').unwrap_or((text, ""));
    let (c, m) = b.split_once('\n').unwrap_or((b, ""));
    for policy in [
        PkcePolicy { allow_plain: false },
        PkcePolicy { allow_plain: true },
    ] {
        for public in [false, true] {
            let _ = policy.check(
                public,
                Some(c).filter(|c| !c.is_empty()),
                Some(m).filter(|m| !m.is_empty()),
            );
        }
    }
    let challenge = Challenge {
        challenge: c.to_owned(),
        method: Method::S256,
    };
    let _ = verify(&challenge, a);
    let plain = Challenge {
        challenge: c.to_owned(),
        method: Method::Plain,
    };
    if verify(&plain, a) {
        assert_eq!(a, c);
    }
});
