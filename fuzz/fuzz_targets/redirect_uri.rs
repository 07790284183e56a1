//! Redirect URI rules: never a panic; a matched URI is one registered (or a loopback one
//! differing only by port); an accepted registration is never `javascript:`/`data:`/`file:`,
//! never carries userinfo, a fragment or a space.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::authorize::match_redirect_uri;
use tessera_core::client::{display_host, validate_redirect_uri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (registered, requested) = text.split_once('\n').unwrap_or((text, ""));
    let list: Vec<String> = registered.split(' ').map(str::to_owned).collect();
    if let Some((uri, explicit)) = match_redirect_uri(&list, Some(requested)) {
        assert!(explicit);
        assert_eq!(uri, requested);
        assert!(
            list.iter().any(|r| r == requested)
                || (requested.starts_with("http://127.0.0.1")
                    || requested.starts_with("http://[::1]"))
        );
    }
    for uri in &list {
        if validate_redirect_uri(uri).is_ok() {
            let lower = uri.to_ascii_lowercase();
            for scheme in ["javascript:", "data:", "file:", "vbscript:"] {
                assert!(!lower.starts_with(scheme), "{uri}");
            }
            assert!(!uri.contains('#') && !uri.contains(' '), "{uri}");
            if let Some(rest) = lower.strip_prefix("https://") {
                let authority = rest.split(['/', '?']).next().unwrap_or(rest);
                assert!(!authority.contains('@'), "{uri}");
            }
        }
        let _ = display_host(uri);
    }
});
