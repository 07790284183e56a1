//! Scopes: never a panic; what parses prints canonically and parses back the same; what a
//! policy grants is something it supports.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::scope::{Scope, ScopePolicy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scope) = Scope::parse(text) {
        let printed = scope.to_string();
        assert_eq!(Scope::parse(&printed).ok(), Some(scope));
    }
    let policy = ScopePolicy::default();
    if let Ok(granted) = policy.resolve(Some(text)) {
        assert!(granted.is_subset(&policy.supported));
    }
});
