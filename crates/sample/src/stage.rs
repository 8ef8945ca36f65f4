//! One stage's training mix: the current category's train split plus the replay of earlier ones.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::budget::dynamic_budget;
use crate::insinfo_sampling::insinfo_sample;
use crate::pools::{CategoryPool, category_pools};
use crate::prototype::{
    VectorTable, prototype_data, rank_diverse_instructions, rank_prototype_instructions,
    round_robin,
};
use crate::rng::{category_rng, choose};
use crate::{ReplayMethod, SampleError};

/// The replay budget per earlier category of the paper's experiments.
pub const DEFAULT_ALPHA: usize = 200;

/// One row of the train split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainInstance {
    pub instance_id: String,
    pub category: String,
    pub instruction_id: String,
}

/// Embeddings for the prototype and diverse baselines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Embeddings {
    /// Instruction embeddings by instruction id (`prototype-instruction`, `diverse-instruction`).
    pub instructions: HashMap<String, Vec<f32>>,
    /// Instance embeddings (instruction + input) by instance id (`prototype-data`).
    pub instances: HashMap<String, Vec<f32>>,
}

/// Everything that determines the training mix of one stage.
#[derive(Clone, Copy, Debug)]
pub struct StageInput<'a> {
    /// Part of the RNG key, so that two orders over the same categories draw independently.
    pub order_name: &'a str,
    /// Categories in training order.
    pub order: &'a [String],
    /// 1-based: stage `i` trains on `order[i-1]` and replays from `order[..i-1]`.
    pub stage: usize,
    pub method: ReplayMethod,
    /// Replay instances per earlier category (the dynamic methods split `(i−1)·alpha` instead).
    pub alpha: usize,
    pub seed: u64,
    /// The train split; instances of categories outside `order[..stage]` are ignored.
    pub train: &'a [TrainInstance],
    /// `W(current, j)` for each earlier category `j`, in order; needed by the dynamic methods.
    pub w: Option<&'a [f64]>,
    /// InsInfo share by instruction id (see `inscl-insinfo`); needed by the InsInfo methods.
    pub shares: Option<&'a HashMap<String, f64>>,
    /// Needed by `prototype-data`, `prototype-instruction` and `diverse-instruction`.
    pub embeddings: Option<&'a Embeddings>,
    /// For the round-robin methods: how many of the ranked instructions are drawn from before the
    /// rest join in. `None`: all of them from the start.
    pub instruction_limit: Option<usize>,
}

/// One replayed instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayPick {
    pub source_category: String,
    pub instance_id: String,
}

/// What one earlier category was asked for and what it could give.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryBudget {
    pub category: String,
    pub budget: usize,
    pub picked: usize,
    /// `budget − picked`: non-zero only when the category has fewer train instances than its budget.
    pub shortfall: usize,
}

/// The training mix of one stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSample {
    pub current_category: String,
    /// Every train instance of the current category, in train order.
    pub current: Vec<String>,
    /// Replay picks grouped by earlier category in order, each group in train order.
    pub replay: Vec<ReplayPick>,
    /// One entry per earlier category, in order.
    pub budgets: Vec<CategoryBudget>,
}

/// Builds the training mix of `input.stage`: deterministic for a given input, seed included.
///
/// W, shares and embeddings are only required when the stage has earlier categories.
pub fn sample_stage(input: &StageInput<'_>) -> Result<StageSample, SampleError> {
    check_order(input)?;
    let categories = &input.order[..input.stage];
    let pools = category_pools(input.train, categories)?;
    let (current, earlier) = pools.split_last().ok_or(SampleError::EmptyOrder)?;
    let budgets = budgets(input, &earlier.iter().map(|p| p.name).collect::<Vec<_>>())?;
    if !earlier.is_empty() {
        check_requirements(input)?;
    }

    let mut replay = Vec::new();
    let mut summary = Vec::with_capacity(earlier.len());
    for (pool, &budget) in earlier.iter().zip(&budgets) {
        let mut picks = select(input, pool, current, budget)?;
        picks.sort_unstable();
        replay.extend(picks.iter().map(|&i| ReplayPick {
            source_category: pool.name.to_string(),
            instance_id: input.train[i].instance_id.clone(),
        }));
        summary.push(CategoryBudget {
            category: pool.name.to_string(),
            budget,
            picked: picks.len(),
            shortfall: budget - picks.len(),
        });
    }
    Ok(StageSample {
        current_category: current.name.to_string(),
        current: current
            .instances
            .iter()
            .map(|&i| input.train[i].instance_id.clone())
            .collect(),
        replay,
        budgets: summary,
    })
}

fn check_order(input: &StageInput<'_>) -> Result<(), SampleError> {
    if input.order.is_empty() {
        return Err(SampleError::EmptyOrder);
    }
    if input.stage == 0 || input.stage > input.order.len() {
        return Err(SampleError::StageOutOfRange {
            stage: input.stage,
            len: input.order.len(),
        });
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (k, c) in input.order.iter().enumerate() {
        if let Some(first) = seen.insert(c.as_str(), k) {
            return Err(SampleError::DuplicateCategory {
                category: c.clone(),
                first,
                second: k,
            });
        }
    }
    if input.instruction_limit == Some(0) {
        return Err(SampleError::ZeroInstructionLimit);
    }
    Ok(())
}

fn check_requirements(input: &StageInput<'_>) -> Result<(), SampleError> {
    let method = input.method.name().to_string();
    if input.method.uses_insinfo() && input.shares.is_none() {
        return Err(SampleError::MissingShares { method });
    }
    if input.method.uses_embeddings() && input.embeddings.is_none() {
        return Err(SampleError::MissingEmbeddings { method });
    }
    Ok(())
}

/// The budget of each earlier category.
fn budgets(input: &StageInput<'_>, earlier: &[&str]) -> Result<Vec<usize>, SampleError> {
    let method = input.method;
    if method.replay() == ReplayMethod::None {
        return Ok(vec![0; earlier.len()]);
    }
    if !method.uses_dynamic_budget() || earlier.is_empty() {
        return Ok(vec![input.alpha; earlier.len()]);
    }
    let w = input.w.ok_or_else(|| SampleError::MissingW {
        method: method.name().to_string(),
    })?;
    if w.len() != earlier.len() {
        return Err(SampleError::WLength {
            stage: input.stage,
            expected: earlier.len(),
            got: w.len(),
        });
    }
    if let Some((k, &value)) = w
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(SampleError::BadW {
            category: earlier[k].to_string(),
            value,
        });
    }
    Ok(dynamic_budget(w, earlier.len() * input.alpha))
}

/// The picks (train indices) of one earlier category; exactly `min(n, supply)` of them.
fn select(
    input: &StageInput<'_>,
    pool: &CategoryPool<'_>,
    current: &CategoryPool<'_>,
    n: usize,
) -> Result<Vec<usize>, SampleError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    // The embedding methods check their inputs even when the category is taken whole, so that a
    // missing embedding surfaces whatever the supply.
    let mut rng = category_rng(
        input.seed,
        input.order_name,
        input.stage,
        input.method,
        pool.name,
    );
    let enough = pool.instances.len() > n;
    let embeddings = input.embeddings;
    match input.method {
        ReplayMethod::None | ReplayMethod::Ewc | ReplayMethod::Lwf => Ok(Vec::new()),
        _ if !enough && !input.method.uses_embeddings() => Ok(pool.instances.clone()),
        ReplayMethod::Random | ReplayMethod::Dynamic => {
            Ok(choose(&mut rng, pool.instances.len(), n)
                .into_iter()
                .map(|k| pool.instances[k])
                .collect())
        }
        ReplayMethod::Inscl | ReplayMethod::Insinfo | ReplayMethod::InsclUniform => {
            let shares = input.shares.ok_or_else(|| SampleError::MissingShares {
                method: input.method.name().to_string(),
            })?;
            insinfo_sample(&mut rng, pool, shares, n)
        }
        ReplayMethod::PrototypeData => {
            let e = need(embeddings, input.method)?;
            prototype_data(
                pool,
                input.train,
                &mut VectorTable::instances(&e.instances),
                n,
            )
        }
        ReplayMethod::PrototypeInstruction => {
            let e = need(embeddings, input.method)?;
            let mut table = VectorTable::instructions(&e.instructions);
            let ranked = rank_prototype_instructions(pool, &mut table)?;
            Ok(round_robin(&mut rng, &ranked, n, input.instruction_limit))
        }
        ReplayMethod::DiverseInstruction => {
            let e = need(embeddings, input.method)?;
            let mut table = VectorTable::instructions(&e.instructions);
            let ranked = rank_diverse_instructions(pool, current, &mut table)?;
            Ok(round_robin(&mut rng, &ranked, n, input.instruction_limit))
        }
    }
}

fn need(embeddings: Option<&Embeddings>, method: ReplayMethod) -> Result<&Embeddings, SampleError> {
    embeddings.ok_or_else(|| SampleError::MissingEmbeddings {
        method: method.name().to_string(),
    })
}
