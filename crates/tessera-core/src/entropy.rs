//! Randomness is injected: production passes the operating system's generator, tests a
//! deterministic one, so generated tokens and secrets are reproducible in unit tests.
//! [`OsEntropy`] is the only production source; the binary builds it once and hands it down
//! through the server's state.

/// A source of uniformly random bytes, shared by every request of a server.
pub trait Entropy: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's random generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        // Without OS randomness no token can be issued safely; stopping is the only answer.
        #[allow(clippy::expect_used)]
        getrandom::fill(buf).expect("the operating system's random generator failed");
    }
}

/// Characters allowed in generated identifiers: letters and digits only, so a generated client
/// id never starts with `-` (which a command line would read as a flag).
const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random alphanumeric string of `len` characters, without modulo bias.
pub fn alphanumeric(entropy: &dyn Entropy, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        entropy.fill(&mut buf);
        for &b in &buf {
            // 248 = 4 * 62: values at or above it would favour the first characters.
            if b < 248 && out.len() < len {
                out.push(ALNUM[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// A deterministic generator for tests (xorshift64*; not for production).
#[derive(Debug)]
pub struct SeededEntropy(std::sync::Mutex<u64>);

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        Self(std::sync::Mutex::new(seed | 1))
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) {
        let mut state = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for b in buf {
            *state ^= *state >> 12;
            *state ^= *state << 25;
            *state ^= *state >> 27;
            *b = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_has_requested_length_and_charset() {
        let e = SeededEntropy::new(7);
        for len in [0, 1, 32, 100] {
            let s = alphanumeric(&e, len);
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn seeded_entropy_is_reproducible_and_varies() {
        let a = alphanumeric(&SeededEntropy::new(1), 40);
        let b = alphanumeric(&SeededEntropy::new(1), 40);
        let c = alphanumeric(&SeededEntropy::new(2), 40);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
