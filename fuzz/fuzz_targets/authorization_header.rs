//! Basic and Bearer `Authorization` headers: never a panic, and a Basic header that parses
//! names a non-empty client.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::client::{AuthorizationHeader, parse_authorization, presented_credentials};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (header, body) = data.split_at(split);
    let parsed = parse_authorization(header);
    if let Ok(AuthorizationHeader::Basic { client_id, .. }) = &parsed {
        assert!(!client_id.is_empty());
    }
    if let Ok(form) = tessera_core::form::parse(body.get(1..).unwrap_or_default()) {
        let _ = presented_credentials(parsed.as_ref().ok(), &form);
    }
});
