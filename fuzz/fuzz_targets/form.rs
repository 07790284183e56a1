//! The form decoder never panics, and what it accepts re-encodes to a form that parses to
//! the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::form;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = form::parse(data) {
        let names: Vec<String> = data
            .split(|&b| b == b'&')
            .filter(|s| !s.is_empty())
            .filter_map(|s| {
                let name = s.split(|&b| b == b'=').next()?;
                form::decode(name).ok()
            })
            .collect();
        assert_eq!(names.len(), parsed.len());
        let pairs: Vec<(String, String)> = names
            .iter()
            .map(|n| (n.clone(), parsed.get(n).unwrap_or("").to_owned()))
            .collect();
        let again = form::encode_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let reparsed = form::parse(again.as_bytes()).expect("our own encoding parses");
        for (k, v) in &pairs {
            assert_eq!(reparsed.get(k).unwrap_or(""), v);
        }
    }
});
