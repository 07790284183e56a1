//! Keys shared by the unit tests: RSA generation costs enough that each algorithm's key is
//! made once per test binary, from a fixed seed.

use std::sync::OnceLock;

use tessera_core::entropy::SeededEntropy;

use crate::algorithm::Algorithm;
use crate::key::SigningKey;

pub fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: [OnceLock<SigningKey>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match alg {
        Algorithm::RS256 => 0,
        Algorithm::ES256 => 1,
        Algorithm::EdDSA => 2,
        Algorithm::HS256 => panic!("no HS256 signing keys"),
    };
    KEYS[slot].get_or_init(|| {
        SigningKey::generate(alg, format!("{alg}-test"), &SeededEntropy::new(42))
            .expect("generates")
    })
}
