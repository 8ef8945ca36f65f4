//! Upper bounds that say little: an expert (or joint model) under 1 Rouge-L point, or below what the untrained
//! base model scores zero-shot, in any seed. Relative Gain divides by such a bound, so RG can reach hundreds of
//! percent without the run having kept anything; the report flags the bound and marks every RG that uses it.

use std::collections::BTreeMap;

use crate::collect::Runs;

/// A bound under this many Rouge-L points is flagged whatever the zero-shot score.
pub(crate) const MIN_BOUND: f64 = 1.0;

pub(crate) struct Flags {
    /// Category → why its expert bound is flagged.
    expert: BTreeMap<String, String>,
    /// (order index, category) → why its joint bound is flagged.
    joint: BTreeMap<(usize, String), String>,
    /// Category → mean zero-shot score over seeds.
    zeroshot: BTreeMap<String, f64>,
}

/// Why `bound` (of one seed) is flagged against `zeroshot`, if it is.
fn reason(bound: f64, zeroshot: Option<f64>, seed: u64) -> Option<String> {
    if bound < MIN_BOUND {
        return Some(format!("{bound:.2} < {MIN_BOUND} point (seed {seed})"));
    }
    match zeroshot {
        Some(z) if bound < z => Some(format!("{bound:.2} below zero-shot {z:.2} (seed {seed})")),
        _ => None,
    }
}

impl Flags {
    pub fn of(runs: &Runs) -> Flags {
        let mut flags = Flags { expert: BTreeMap::new(), joint: BTreeMap::new(), zeroshot: BTreeMap::new() };
        for (o, order) in runs.orders.iter().enumerate() {
            // The mean over seeds, the same for every order and method (collect checks each seed's scores).
            if let Some(mean) = order.runs.first().and_then(|r| r.zeroshot.as_ref()) {
                for (category, &z) in order.categories.iter().zip(mean) {
                    flags.zeroshot.entry(category.clone()).or_insert(z);
                }
            }
            // Bounds and zero-shot scores are the same for every method of a seed; the first method's runs do.
            let Some(per_seed) = order.seeds.first() else { continue };
            for run in per_seed {
                for (j, category) in order.categories.iter().enumerate() {
                    let zs = run.zeroshot.as_ref().map(|z| z[j]);
                    if let Some(why) = reason(run.upbound[j], zs, run.seed) {
                        flags.expert.entry(category.clone()).or_insert(why);
                    }
                    if let Some(why) = run.joint.as_ref().and_then(|b| reason(b[j], zs, run.seed)) {
                        flags.joint.entry((o, category.clone())).or_insert(why);
                    }
                }
            }
        }
        flags
    }

    pub fn any_expert(&self) -> bool {
        !self.expert.is_empty()
    }

    pub fn expert_reason(&self, category: &str) -> Option<&str> {
        self.expert.get(category).map(String::as_str)
    }

    pub fn joint_reason(&self, order: usize, category: &str) -> Option<&str> {
        self.joint.get(&(order, category.to_string())).map(String::as_str)
    }

    pub fn zeroshot(&self, category: &str) -> Option<f64> {
        self.zeroshot.get(category).copied()
    }

    /// Whether RG of (1-based) `stage` of order `o` divides by a flagged expert bound: it averages over the
    /// categories learned at stages `1 … stage − 1`.
    pub fn stage_marked(&self, runs: &Runs, o: usize, stage: usize) -> bool {
        runs.orders[o].categories[..stage.saturating_sub(1)].iter().any(|c| self.expert.contains_key(c))
    }

    /// As [`Flags::stage_marked`], for RG against the joint model.
    pub fn joint_stage_marked(&self, runs: &Runs, o: usize, stage: usize) -> bool {
        runs.orders[o].categories[..stage.saturating_sub(1)].iter().any(|c| self.joint.contains_key(&(o, c.clone())))
    }
}
