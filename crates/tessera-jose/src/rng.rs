//! The RustCrypto crates take a `rand_core` generator; this adapter feeds them from the
//! injected [`Entropy`], so no key or nonce ever comes from an ambient generator.

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};
use tessera_core::entropy::Entropy;

pub(crate) struct EntropyRng<'a>(pub &'a dyn Entropy);

impl TryRng for EntropyRng<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut buf = [0u8; 4];
        self.0.fill(&mut buf);
        Ok(u32::from_le_bytes(buf))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut buf = [0u8; 8];
        self.0.fill(&mut buf);
        Ok(u64::from_le_bytes(buf))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

/// `Entropy` promises uniformly random bytes from the operating system in production.
impl TryCryptoRng for EntropyRng<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;
    use tessera_core::entropy::SeededEntropy;

    #[test]
    fn draws_the_entropys_bytes() {
        let mut direct = [0u8; 16];
        SeededEntropy::new(5).fill(&mut direct);
        let seeded = SeededEntropy::new(5);
        let mut rng = EntropyRng(&seeded);
        let mut via = [0u8; 16];
        rng.fill_bytes(&mut via);
        assert_eq!(via, direct);
        assert_ne!(rng.next_u64(), rng.next_u64());
    }
}
