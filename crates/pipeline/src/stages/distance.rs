//! The distance stage: W(a, b) for every pair of categories, once per (instruction embeddings, weights mode),
//! shared by every order and method. Each pair is cached by the content of its two categories' embeddings and
//! weights, so adding a category computes only the new pairs.

use super::{PipelineCtx, node};
use crate::error::PipelineError;
use crate::graph::{Graph, NodeInput, StageCtx};
use crate::tables::{TableBuilder, embeddings, f64s, strings};
use inscl_distance::{PointSet, Solver, wasserstein};
use inscl_store::Outputs;
use std::collections::BTreeMap;

const VERSION: &str = "1";

/// One category's points: its instructions' embeddings and their masses.
struct CategoryPoints {
    data: Vec<f32>,
    weights: Vec<f64>,
    dim: usize,
    /// blake3 over everything W depends on, the pair cache's half-key.
    hash: String,
}

fn by_category(ctx: &StageCtx, uniform: bool) -> Result<BTreeMap<String, CategoryPoints>, PipelineError> {
    let t = ctx.artifact("embeddings")?.table("embeddings")?;
    let name = "embeddings";
    let (cats, w) = (strings(&t, name, "category")?, f64s(&t, name, "weight")?);
    let (data, dim) = embeddings(&t, name, "embedding")?;
    let mut out: BTreeMap<String, CategoryPoints> = BTreeMap::new();
    for (i, c) in cats.iter().enumerate() {
        let p = out.entry(c.clone()).or_insert(CategoryPoints { data: vec![], weights: vec![], dim, hash: String::new() });
        p.data.extend_from_slice(&data[i * dim..(i + 1) * dim]);
        p.weights.push(if uniform { 1.0 } else { w[i] });
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

pub fn solver_of(name: &str, reg: f64) -> Solver {
    match name {
        "sinkhorn" => Solver::Sinkhorn { reg, max_iter: 100_000, tol: 1e-9 },
        _ => Solver::Exact,
    }
}

fn run(ctx: &StageCtx, uniform: bool, solver_name: &str, reg: f64) -> Result<Outputs, PipelineError> {
    let cats = by_category(ctx, uniform)?;
    let solver = solver_of(solver_name, reg);
    let cache = ctx.store.rows("distance-pairs")?;
    let names: Vec<&String> = cats.keys().collect();
    let pairs: Vec<(usize, usize)> = (0..names.len()).flat_map(|a| (a + 1..names.len()).map(move |b| (a, b))).collect();
    let bar = ctx.bar(pairs.len() as u64, "W per category pair");
    let (mut ca, mut cb, mut ws, mut na, mut nb) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut computed, mut reused) = (0usize, 0usize);
    for (a, b) in pairs {
        let (pa, pb) = (&cats[names[a]], &cats[names[b]]);
        let key = blake3::hash(format!("w-pair-v1|{solver:?}|{}|{}", pa.hash, pb.hash).as_bytes()).to_hex().to_string();
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
                .map_err(|e| PipelineError::Invalid(format!("W({}, {}): {e}", names[a], names[b])))?;
                cache.put(&key, &w.to_le_bytes())?;
                computed += 1;
                w
            }
        };
        ca.push(names[a].clone());
        cb.push(names[b].clone());
        ws.push(w);
        na.push(pa.weights.len() as i64);
        nb.push(pb.weights.len() as i64);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let n = ws.len();
    let table = TableBuilder::new()
        .str("category_a", &ca)
        .str("category_b", &cb)
        .f64("w", ws)
        .i64("n_a", na)
        .i64("n_b", nb)
        .str("weights", std::iter::repeat_n(if uniform { "uniform" } else { "real" }, n))
        .str("solver", std::iter::repeat_n(if solver_name == "sinkhorn" { "sinkhorn-log" } else { "exact-emd" }, n))
        .finish()?;
    Ok(Outputs::default().table("distances", table).note("pairs_computed", computed).note("pairs_reused", reused))
}

/// The distance node for one weights mode ("real" or "uniform").
pub fn push(g: &mut Graph, p: &PipelineCtx, embeddings: usize, uniform: bool) -> usize {
    let s = &p.sections.distance;
    let (solver, reg) = (s.solver.clone(), s.sinkhorn_reg);
    let mode = if uniform { "uniform" } else { "real" };
    let params = serde_json::json!({ "weights": mode, "solver": solver, "reg": if solver == "sinkhorn" { Some(reg) } else { None } });
    node(
        g,
        format!("distance/{mode}"),
        "distance",
        VERSION,
        params,
        vec![("embeddings".into(), NodeInput::Node(embeddings))],
        move |ctx| run(ctx, uniform, &solver, reg),
    )
}

/// W between every pair, read back: `w[(a, b)]` for both orientations.
pub fn read_w(ctx: &StageCtx, role: &str) -> Result<BTreeMap<(String, String), f64>, PipelineError> {
    let t = ctx.artifact(role)?.table("distances")?;
    let (a, b, w) = (strings(&t, "distances", "category_a")?, strings(&t, "distances", "category_b")?, f64s(&t, "distances", "w")?);
    let mut out = BTreeMap::new();
    for i in 0..w.len() {
        out.insert((a[i].clone(), b[i].clone()), w[i]);
        out.insert((b[i].clone(), a[i].clone()), w[i]);
    }
    Ok(out)
}
