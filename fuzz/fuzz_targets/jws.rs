//! Compact JWS decoding: never a panic, never `alg: none`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_jose::jws;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = jws::decode(text) {
        assert!(!token.header.alg.eq_ignore_ascii_case("none"));
        let _ = token.verify_hs256(b"k");
    }
});
