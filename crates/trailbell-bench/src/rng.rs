//! A tiny deterministic random number generator (splitmix64) and the few distributions the data
//! generators need. Self-written so that the generated corpus depends on nothing but the seed.

/// splitmix64: a 64-bit state, one add and a finaliser per draw. Good enough statistically for
/// synthetic data, and trivially reproducible across platforms.
#[derive(Clone, Debug)]
pub struct Rng(u64);

/// The splitmix64 finaliser, also used to derive independent per-item seeds.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(mix(seed ^ 0x005E_ED0F_7A11_BE11))
    }

    /// A generator for item `index` of a stream seeded with `seed`: item `i` is the same whatever
    /// the number of items generated, so `--quick` runs see a prefix of the full corpus.
    pub fn for_item(seed: u64, stream: u64, index: u64) -> Rng {
        Rng::new(mix(seed.wrapping_add(mix(stream
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ index))))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A uniform integer in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index chosen with probability proportional to `weights[i]`.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..n).map(|_| HEX[self.below(16)] as char).collect()
    }

    /// `n` characters from `alphabet`.
    pub fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }
}

/// A Zipf distribution over `0..n`: rank `k` has weight `1 / (k + 1)^s`.
#[derive(Clone, Debug)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// Zipf over `n` ranks with exponent `s`.
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let mut cdf = Vec::with_capacity(n);
        for k in 0..n {
            acc += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }

    /// A rank, most often 0.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.unit();
        self.cdf
            .partition_point(|&c| c <= x)
            .min(self.cdf.len() - 1)
    }

    /// The probability of rank `k`.
    pub fn probability(&self, k: usize) -> f64 {
        if k == 0 {
            self.cdf[0]
        } else {
            self.cdf[k] - self.cdf[k - 1]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::for_item(7, 1, 42);
        let mut b = Rng::for_item(7, 1, 42);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(
            Rng::for_item(7, 1, 42).next_u64(),
            Rng::for_item(7, 1, 43).next_u64()
        );
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(1);
        for n in 1..50 {
            assert!(r.below(n) < n);
        }
    }

    #[test]
    fn zipf_favours_low_ranks() {
        let z = Zipf::new(100, 1.0);
        let mut r = Rng::new(3);
        let zeros = (0..10_000).filter(|_| z.sample(&mut r) == 0).count();
        assert!(zeros > 1_000, "{zeros}");
        assert!((z.probability(0) - 0.1928).abs() < 0.01);
    }
}
