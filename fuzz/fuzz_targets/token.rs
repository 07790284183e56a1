//! Token recognition: never a panic; only text with a known prefix and a valid checksum is
//! recognised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::token::{TokenDigest, recognise};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if recognise(text).is_some() {
        assert!(text.starts_with("ts"), "{text}");
        assert!(text.is_ascii());
    }
    let _ = TokenDigest::of(text);
});
