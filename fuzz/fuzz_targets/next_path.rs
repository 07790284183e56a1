//! The `next` check: whatever it accepts is a local path a browser cannot turn into another
//! site (no `//` prefix, no backslash, control character or whitespace, before or after
//! percent-decoding the path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::form::{decode, is_local_path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if is_local_path(text) {
        assert!(text.starts_with('/') && !text.starts_with("//"));
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        );
        let path = text.split(['?', '#']).next().unwrap_or(text);
        let decoded = decode(path.as_bytes()).expect("accepted paths decode");
        assert!(!decoded.starts_with("//"));
        assert!(
            !decoded
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        );
    }
});
