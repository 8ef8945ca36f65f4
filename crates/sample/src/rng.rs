//! Seeds that depend only on what names the draw, never on process state or platform.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ReplayMethod;

/// A ChaCha8 generator for the draws of one earlier category at one stage, seeded by a stable hash of
/// (seed, order name, stage, method, category). The category is part of the key so that the picks
/// of one category do not shift when another category's supply or budget changes.
pub(crate) fn category_rng(
    seed: u64,
    order_name: &str,
    stage: usize,
    method: ReplayMethod,
    category: &str,
) -> ChaCha8Rng {
    let mut key = Vec::with_capacity(64 + order_name.len() + category.len());
    key.extend_from_slice(b"inscl-sample/v1");
    key.extend_from_slice(&seed.to_le_bytes());
    push_str(&mut key, order_name);
    key.extend_from_slice(&(stage as u64).to_le_bytes());
    push_str(&mut key, method.name());
    push_str(&mut key, category);
    let mut seed_bytes = [0u8; 32];
    for (lane, chunk) in seed_bytes.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&splitmix64(fnv1a64(lane as u8, &key)).to_le_bytes());
    }
    ChaCha8Rng::from_seed(seed_bytes)
}

/// Length-prefixed, so that ("ab", "c") and ("a", "bc") hash apart.
fn push_str(key: &mut Vec<u8>, s: &str) {
    key.extend_from_slice(&(s.len() as u64).to_le_bytes());
    key.extend_from_slice(s.as_bytes());
}

fn fnv1a64(lane: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&lane).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64's finaliser, to spread FNV's weak high bits.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `k` distinct positions of `0..n` (k ≤ n) in draw order: a partial Fisher–Yates shuffle.
pub(crate) fn choose(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let j = rng.random_range(i..n);
        idx.swap(i, j);
    }
    idx.truncate(k.min(n));
    idx
}

/// A uniformly shuffled copy of `items`.
pub(crate) fn shuffled(rng: &mut ChaCha8Rng, items: &[usize]) -> Vec<usize> {
    choose(rng, items.len(), items.len())
        .into_iter()
        .map(|i| items[i])
        .collect()
}
