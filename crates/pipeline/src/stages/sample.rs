//! The sample stage instances: the training mix of stage i of (order, method). `replay.parquet` lists what
//! was replayed and why (its source category); `train_mix.parquet` holds the rows the finetune stage trains on,
//! self-contained (definition, input, outputs), with a `replayed` flag.
//!
//! Stage 1 has no replay, so its mix is one node per category (`sample/single/<category>`), shared by every
//! order that starts with it, every method and the category's expert.

use super::dataset::{InstanceRow, definitions, instances};
use super::distance::read_w;
use super::{PipelineCtx, node};
use crate::error::PipelineError;
use crate::graph::{Graph, NodeInput, StageCtx};
use crate::tables::{TableBuilder, embeddings, f64s, strings};
use inscl_sample::{Embeddings, ReplayMethod, StageInput, TrainInstance, sample_stage};
use inscl_store::Outputs;
use std::collections::HashMap;

const VERSION: &str = "1";

/// The table of the rows to train on: `ids` in order, flagged replayed or not.
fn mix_table(ctx: &StageCtx, rows: &[(&InstanceRow, bool)]) -> Result<arrow::array::RecordBatch, PipelineError> {
    let defs = definitions(ctx.artifact("ingest")?)?;
    TableBuilder::new()
        .str("instance_id", rows.iter().map(|(r, _)| &r.id))
        .str("category", rows.iter().map(|(r, _)| &r.category))
        .str("instruction_id", rows.iter().map(|(r, _)| &r.instruction_id))
        .str("definition", rows.iter().map(|(r, _)| defs.get(&r.instruction_id).map(String::as_str).unwrap_or("")))
        .str("input", rows.iter().map(|(r, _)| &r.input))
        .str_lists("outputs", &rows.iter().map(|(r, _)| r.outputs.clone()).collect::<Vec<_>>())
        .bool("replayed", rows.iter().map(|(_, b)| *b).collect())
        .finish()
}

pub fn push_single(g: &mut Graph, _p: &PipelineCtx, category: &str, ingest: usize) -> usize {
    let cat = category.to_string();
    node(
        g,
        format!("sample/single/{category}"),
        "sample",
        VERSION,
        serde_json::json!({ "category": category, "replay": "none" }),
        vec![("ingest".into(), NodeInput::Node(ingest))],
        move |ctx| {
            let all = instances(ctx.artifact("ingest")?)?;
            let rows: Vec<(&InstanceRow, bool)> = all.iter().filter(|r| r.train && r.category == cat).map(|r| (r, false)).collect();
            if rows.is_empty() {
                return Err(PipelineError::Invalid(format!("category {cat} has no train instances")));
            }
            Ok(Outputs::default().table("train_mix", mix_table(ctx, &rows)?))
        },
    )
}

/// The inputs a method needs beyond the dataset; each is wired only where the method reads it, so a method's
/// key does not change when an unrelated artifact does.
pub struct SampleNodeInputs {
    pub ingest: usize,
    pub w: Option<usize>,
    pub insinfo: Option<usize>,
    pub instruction_embeddings: Option<usize>,
    pub instance_embeddings: Option<usize>,
}

fn vectors(ctx: &StageCtx, role: &str, id_col: &str) -> Result<HashMap<String, Vec<f32>>, PipelineError> {
    let t = ctx.artifact(role)?.table("embeddings")?;
    let ids = strings(&t, "embeddings", id_col)?;
    let (data, dim) = embeddings(&t, "embeddings", "embedding")?;
    Ok(ids.into_iter().enumerate().map(|(i, id)| (id, data[i * dim..(i + 1) * dim].to_vec())).collect())
}

struct SampleParams {
    order: String,
    cats: Vec<String>,
    method: ReplayMethod,
    stage: usize,
    alpha: usize,
    seed: u64,
}

fn run(ctx: &StageCtx, s: &SampleParams) -> Result<Outputs, PipelineError> {
    let all = instances(ctx.artifact("ingest")?)?;
    let train: Vec<TrainInstance> = all
        .iter()
        .filter(|r| r.train)
        .map(|r| TrainInstance { instance_id: r.id.clone(), category: r.category.clone(), instruction_id: r.instruction_id.clone() })
        .collect();
    let current = &s.cats[s.stage - 1];
    let w: Option<Vec<f64>> = match ctx.inputs.contains_key("w") {
        true => {
            let w = read_w(ctx, "w")?;
            let ws = s.cats[..s.stage - 1]
                .iter()
                .map(|j| w.get(&(current.clone(), j.clone())).copied().ok_or_else(|| PipelineError::Invalid(format!("no W({current}, {j})"))))
                .collect::<Result<_, _>>()?;
            Some(ws)
        }
        false => None,
    };
    let shares: Option<HashMap<String, f64>> = match ctx.inputs.contains_key("insinfo") {
        true => {
            let t = ctx.artifact("insinfo")?.table("insinfo")?;
            let (ids, sh) = (strings(&t, "insinfo", "instruction_id")?, f64s(&t, "insinfo", "share")?);
            Some(ids.into_iter().zip(sh).collect())
        }
        false => None,
    };
    let mut emb = Embeddings::default();
    if ctx.inputs.contains_key("instruction_embeddings") {
        emb.instructions = vectors(ctx, "instruction_embeddings", "instruction_id")?;
    }
    if ctx.inputs.contains_key("instance_embeddings") {
        emb.instances = vectors(ctx, "instance_embeddings", "instance_id")?;
    }
    let input = StageInput {
        order_name: &s.order,
        order: &s.cats,
        stage: s.stage,
        method: s.method,
        alpha: s.alpha,
        seed: s.seed,
        train: &train,
        w: w.as_deref(),
        shares: shares.as_ref(),
        embeddings: Some(&emb),
        instruction_limit: None,
    };
    let mix = sample_stage(&input).map_err(|e| PipelineError::Invalid(format!("sample {}/{}/{}: {e}", s.order, s.method, s.stage)))?;
    let by_id: HashMap<&str, &InstanceRow> = all.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut rows: Vec<(&InstanceRow, bool)> = mix.current.iter().map(|id| (by_id[id.as_str()], false)).collect();
    rows.extend(mix.replay.iter().map(|p| (by_id[p.instance_id.as_str()], true)));
    let n = mix.replay.len();
    let replay = TableBuilder::new()
        .str("order", std::iter::repeat_n(s.order.as_str(), n))
        .i64("stage", vec![s.stage as i64; n])
        .str("method", std::iter::repeat_n(s.method.name(), n))
        .str("source_category", mix.replay.iter().map(|p| &p.source_category))
        .str("instance_id", mix.replay.iter().map(|p| &p.instance_id))
        .finish()?;
    let shortfall: usize = mix.budgets.iter().map(|b| b.shortfall).sum();
    Ok(Outputs::default()
        .table("replay", replay)
        .table("train_mix", mix_table(ctx, &rows)?)
        .note("budgets", serde_json::to_value(&mix.budgets).expect("budgets serialise"))
        .note("shortfall", shortfall))
}

pub fn push(
    g: &mut Graph,
    p: &PipelineCtx,
    order: &str,
    cats: &[String],
    method: &str,
    stage: usize,
    inputs: &SampleNodeInputs,
) -> Result<usize, PipelineError> {
    let m: ReplayMethod = method.parse().map_err(|e| PipelineError::Invalid(format!("method {method}: {e}")))?;
    let r = &p.sections.replay;
    let mut wired = vec![("ingest".to_string(), NodeInput::Node(inputs.ingest))];
    let wants = |names: &[&str]| names.contains(&method);
    if wants(&["inscl", "dynamic", "inscl-uniform"]) {
        wired.push(("w".into(), NodeInput::Node(inputs.w.ok_or_else(|| PipelineError::Invalid(format!("{method} needs W")))?)));
    }
    if wants(&["inscl", "insinfo", "inscl-uniform"]) {
        wired.push(("insinfo".into(), NodeInput::Node(inputs.insinfo.ok_or_else(|| PipelineError::Invalid(format!("{method} needs InsInfo")))?)));
    }
    if wants(&["prototype-instruction", "diverse-instruction"]) {
        let n = inputs.instruction_embeddings.ok_or_else(|| PipelineError::Invalid(format!("{method} needs instruction embeddings")))?;
        wired.push(("instruction_embeddings".into(), NodeInput::Node(n)));
    }
    if wants(&["prototype-data"]) {
        let n = inputs.instance_embeddings.ok_or_else(|| PipelineError::Invalid(format!("{method} needs instance embeddings")))?;
        wired.push(("instance_embeddings".into(), NodeInput::Node(n)));
    }
    let params = SampleParams { order: order.into(), cats: cats[..stage].to_vec(), method: m, stage, alpha: r.alpha, seed: r.seed };
    let key_params = serde_json::json!({
        "order": order, "categories": &cats[..stage], "method": method, "stage": stage, "alpha": r.alpha, "seed": r.seed,
    });
    Ok(node(g, format!("sample/{order}/{method}/{stage}"), "sample", VERSION, key_params, wired, move |ctx| run(ctx, &params)))
}
