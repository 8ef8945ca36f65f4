//! The distance stage: W(a, b) for every pair of categories, once per (instruction embeddings, weights mode),
//! shared by every order and method. Each pair is cached by the content of its two categories' embeddings and
//! weights, so adding a category computes only the new pairs.

use super::PipelineCtx;
use inscl_dag::add;
use crate::sections::SolverName;
use inscl_sample::Weights;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::tables::{read, write};
use inscl_tables::{DistanceRow, InstructionVector};
use inscl_distance::{PointSet, Solver, wasserstein};
use inscl_store::Outputs;
use std::collections::BTreeMap;

const VERSION: &str = "1";

/// One category's points: its instructions' embeddings and their masses.
pub struct CategoryPoints {
    data: Vec<f32>,
    weights: Vec<f64>,
    dim: usize,
    /// blake3 over everything W depends on, the pair cache's half-key.
    hash: String,
}

fn by_category(ctx: &StageCtx, uniform: bool) -> Result<BTreeMap<String, CategoryPoints>, PipelineError> {
    let rows = read::<InstructionVector>(ctx.artifact("embeddings")?)?;
    let dim = rows.first().map_or(0, |r| r.vector.len());
    let mut out: BTreeMap<String, CategoryPoints> = BTreeMap::new();
    for r in &rows {
        let p = out.entry(r.category.clone()).or_insert(CategoryPoints { data: vec![], weights: vec![], dim, hash: String::new() });
        p.data.extend_from_slice(&r.vector);
        p.weights.push(if uniform { 1.0 } else { r.weight });
    }
    for p in out.values_mut() {
        let mut h = blake3::Hasher::new();
        h.update(&(p.dim as u64).to_le_bytes());
        for v in &p.data {
            h.update(&v.to_le_bytes());
        }
        for v in &p.weights {
            h.update(&v.to_le_bytes());
        }
        p.hash = h.finalize().to_hex().to_string();
    }
    Ok(out)
}

/// The solver a distance key names: the regularisation is part of the key exactly when the solver uses it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "solver", rename_all = "lowercase")]
pub enum SolverKey {
    Exact,
    Sinkhorn { reg: f64 },
}

/// W between every pair of categories under one weights mode. `reg` is only part of the key for Sinkhorn.
#[derive(serde::Serialize)]
pub struct DistanceParams {
    pub weights: Weights,
    #[serde(flatten)]
    pub solver: SolverKey,
}

pub struct Distance {
    pub params: DistanceParams,
}

inscl_dag::impl_stage!(Distance, "distance", VERSION, DistanceParams);

impl Distance {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        run(ctx, self.params.weights, self.params.solver)
    }
}

fn run(ctx: &StageCtx, weights: Weights, solver_key: SolverKey) -> Result<Outputs, PipelineError> {
    let cats = by_category(ctx, weights == Weights::Uniform)?;
    let solver = match solver_key {
        SolverKey::Exact => Solver::Exact,
        SolverKey::Sinkhorn { reg } => Solver::Sinkhorn { reg, max_iter: 100_000, tol: 1e-9 },
    };
    let cache = ctx.store.rows("distance-pairs")?;
    let names: Vec<&String> = cats.keys().collect();
    let pairs: Vec<(usize, usize)> = (0..names.len()).flat_map(|a| (a + 1..names.len()).map(move |b| (a, b))).collect();
    let bar = ctx.bar(pairs.len() as u64, "W per category pair");
    let (mut ca, mut cb, mut ws, mut na, mut nb) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut computed, mut reused) = (0usize, 0usize);
    for (a, b) in pairs {
        let (pa, pb) = (&cats[names[a]], &cats[names[b]]);
        let key = inscl_store::key_of(&("w-pair", format!("{solver:?}"), &pa.hash, &pb.hash)).hex();
        let w = match cache.get(&key)?.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok()) {
            Some(bytes) => {
                reused += 1;
                f64::from_le_bytes(bytes)
            }
            None => {
                let w = wasserstein(
                    &PointSet::with_weights(&pa.data, pa.dim, &pa.weights),
                    &PointSet::with_weights(&pb.data, pb.dim, &pb.weights),
                    &solver,
                )
                .map_err(|source| PipelineError::Pair { a: names[a].clone(), b: names[b].clone(), source })?;
                cache.put(&key, &w.to_le_bytes())?;
                computed += 1;
                w
            }
        };
        ca.push(names[a].clone());
        cb.push(names[b].clone());
        ws.push(w);
        na.push(pa.weights.len());
        nb.push(pb.weights.len());
        bar.inc(1);
    }
    bar.finish_and_clear();
    let solver_label = match solver_key {
        SolverKey::Sinkhorn { .. } => "sinkhorn-log",
        SolverKey::Exact => "exact-emd",
    };
    let table: Vec<DistanceRow> = (0..ws.len())
        .map(|i| DistanceRow {
            category_a: ca[i].clone(),
            category_b: cb[i].clone(),
            w: ws[i],
            n_a: na[i],
            n_b: nb[i],
            weights: weights.name().into(),
            solver: solver_label.into(),
        })
        .collect();
    Ok(write(Outputs::default(), &table)?.note("pairs_computed", computed).note("pairs_reused", reused))
}

/// The distance node for one weights mode.
pub fn push(g: &mut Graph, p: &PipelineCtx, embeddings: usize, weights: Weights) -> usize {
    let s = &p.sections.distance;
    let solver = match s.solver {
        SolverName::Exact => SolverKey::Exact,
        SolverName::Sinkhorn => SolverKey::Sinkhorn { reg: s.sinkhorn_reg },
    };
    let stage = Distance { params: DistanceParams { weights, solver } };
    // The embeddings depend on the seed exactly when they are the LLM-mean of a seed-dependent base model.
    let tag = if p.sections.embed.encoder == crate::sections::Encoder::LlmMean { p.base_tag() } else { "" };
    add(g, format!("distance/{tag}{}", weights.name()), stage, vec![("embeddings".into(), NodeInput::Node(embeddings))])
}

/// W between every pair, read back: `w[(a, b)]` for both orientations.
pub fn read_w(ctx: &StageCtx, role: &str) -> Result<BTreeMap<(String, String), f64>, PipelineError> {
    let mut out = BTreeMap::new();
    for r in read::<DistanceRow>(ctx.artifact(role)?)? {
        out.insert((r.category_a.clone(), r.category_b.clone()), r.w);
        out.insert((r.category_b, r.category_a), r.w);
    }
    Ok(out)
}
