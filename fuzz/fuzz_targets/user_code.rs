//! Device flow user codes as people type them: never a panic, and a code read back from its
//! grouped form is the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::device::UserCode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(code) = UserCode::parse(text) {
        assert_eq!(code.normalized.len(), 8);
        assert_eq!(UserCode::parse(&code.display()), Some(code));
    }
});
