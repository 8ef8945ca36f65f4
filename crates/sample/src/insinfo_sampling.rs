//! InsInfo-guided sampling of `n` instances from one category (InsCL, `insinfo`, `inscl-uniform`).
//!
//! Instructions are ranked by their InsInfo share (descending, ties by instruction id):
//! * `n` below the number of instructions: the top `n` instructions, one random instance each;
//! * otherwise every instruction gets a quota `floor(share · n)`, at least 1 and at most its number
//!   of train instances, drawn uniformly without replacement. A total below `n` is topped up with
//!   random unpicked instances of the category; a total above `n` (the at-least-one rule) loses
//!   random picks, never from an instruction down to its last one.
//!
//! The caller handles a category with no more than `n` instances (all of them are taken).

use std::collections::{HashMap, HashSet};

use rand_chacha::ChaCha8Rng;

use crate::SampleError;
use crate::pools::CategoryPool;
use crate::rng::choose;
use rand::Rng;

/// Exactly `n` train indices from `pool`, which must hold more than `n` instances.
pub(crate) fn insinfo_sample(
    rng: &mut ChaCha8Rng,
    pool: &CategoryPool<'_>,
    shares: &HashMap<String, f64>,
    n: usize,
) -> Result<Vec<usize>, SampleError> {
    let mut ranked = Vec::with_capacity(pool.instructions.len());
    for group in &pool.instructions {
        let share = *shares
            .get(group.id)
            .ok_or_else(|| SampleError::MissingShare {
                category: pool.name.to_string(),
                instruction_id: group.id.to_string(),
            })?;
        if !(share.is_finite() && share >= 0.0) {
            return Err(SampleError::BadShare {
                instruction_id: group.id.to_string(),
                value: share,
            });
        }
        ranked.push((group, share));
    }
    // Instructions are sorted by id already and the sort is stable: ties stay in id order.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));

    if n < ranked.len() {
        return Ok(ranked[..n]
            .iter()
            .map(|(group, _)| group.instances[rng.random_range(0..group.instances.len())])
            .collect());
    }

    let mut picks: Vec<Vec<usize>> = ranked
        .iter()
        .map(|(group, share)| {
            let quota = ((share * n as f64).floor() as usize).clamp(1, group.instances.len());
            choose(rng, group.instances.len(), quota)
                .into_iter()
                .map(|k| group.instances[k])
                .collect()
        })
        .collect();
    let mut total: usize = picks.iter().map(Vec::len).sum();

    let mut top_up = Vec::new();
    if total < n {
        let taken: HashSet<usize> = picks.iter().flatten().copied().collect();
        let unpicked: Vec<usize> = pool
            .instances
            .iter()
            .copied()
            .filter(|i| !taken.contains(i))
            .collect();
        top_up = choose(rng, unpicked.len(), n - total)
            .into_iter()
            .map(|k| unpicked[k])
            .collect();
        total += top_up.len();
    }
    while total > n {
        // Every pick of an instruction holding two or more is equally likely to go. One exists:
        // total > n ≥ number of instructions, each holding at least one.
        let removable: Vec<(usize, usize)> = picks
            .iter()
            .enumerate()
            .filter(|(_, p)| p.len() > 1)
            .flat_map(|(g, p)| (0..p.len()).map(move |k| (g, k)))
            .collect();
        let (g, k) = removable[rng.random_range(0..removable.len())];
        picks[g].swap_remove(k);
        total -= 1;
    }
    let mut out: Vec<usize> = picks.into_iter().flatten().collect();
    out.extend(top_up);
    Ok(out)
}
