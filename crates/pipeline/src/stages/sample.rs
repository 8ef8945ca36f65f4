//! The sample stage instances: the training mix of stage i of (order, method). `replay.parquet` lists what
//! was replayed and why (its source category); `train_mix.parquet` holds the rows the finetune stage trains on,
//! self-contained (definition, input, outputs), with a `replayed` flag.
//!
//! Stage 1 has no replay, so its mix is one node per category (`sample/single/<category>`), shared by every
//! order that starts with it, every method and the category's expert.

use super::dataset::{InstanceRow, definitions, instances};
use super::distance::read_w;
use super::PipelineCtx;
use inscl_dag::add;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::tables::{read, write};
use inscl_tables::{InsInfoRow, InstanceVector, InstructionVector, ReplayRow, TrainMixRow};
use inscl_sample::{Embeddings, ReplayMethod, StageInput, TrainInstance, Weights, sample_stage};
use inscl_store::Outputs;
use std::collections::HashMap;

const VERSION: &str = "1";

/// The rows to train on, in order, flagged replayed or not.
fn mix_rows(ctx: &StageCtx, rows: &[(&InstanceRow, bool)]) -> Result<Vec<TrainMixRow>, PipelineError> {
    let defs = definitions(ctx.artifact("ingest")?)?;
    rows.iter()
        .map(|(r, replayed)| {
            let definition = defs.get(&r.instruction_id).cloned().ok_or_else(|| {
                PipelineError::Input(format!("instance {} names instruction {}, which ingest does not list", r.id, r.instruction_id))
            })?;
            Ok(TrainMixRow {
                instance_id: r.id.clone(),
                category: r.category.clone(),
                instruction_id: r.instruction_id.clone(),
                definition,
                input: r.input.clone(),
                outputs: r.outputs.clone(),
                replayed: *replayed,
            })
        })
        .collect()
}

/// Stage 1's mix (and an expert's): one category's train instances, no replay.
pub struct SingleMix {
    params: SingleParams,
}

#[derive(serde::Serialize)]
pub struct SingleParams {
    category: String,
    replay: ReplayMethod,
}

inscl_dag::impl_stage!(SingleMix, "sample", VERSION, SingleParams);

impl SingleMix {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        categories_mix(ctx, std::slice::from_ref(&self.params.category))
    }
}

/// Every train instance of `categories`, nothing replayed; each category must have at least one.
fn categories_mix(ctx: &StageCtx, categories: &[String]) -> Result<Outputs, PipelineError> {
    let all = instances(ctx.artifact("ingest")?)?;
    let rows: Vec<(&InstanceRow, bool)> =
        all.iter().filter(|r| r.train() && categories.contains(&r.category)).map(|r| (r, false)).collect();
    if let Some(c) = categories.iter().find(|c| !rows.iter().any(|(r, _)| &r.category == *c)) {
        return Err(PipelineError::Empty(format!("category {c} has no train instances")));
    }
    write(Outputs::default(), &mix_rows(ctx, &rows)?)
}

pub fn push_single(g: &mut Graph, _p: &PipelineCtx, category: &str, ingest: usize) -> usize {
    let stage = SingleMix { params: SingleParams { category: category.into(), replay: ReplayMethod::None } };
    add(g, format!("sample/single/{category}"), stage, vec![("ingest".into(), NodeInput::Node(ingest))])
}

/// The nodes a method may read beyond the dataset; each is wired only where [`ReplayMethod::needs`] says the
/// method reads it, so a method's key does not change when an unrelated artifact does.
pub struct SampleNodeInputs {
    pub ingest: usize,
    pub w_real: Option<usize>,
    pub w_uniform: Option<usize>,
    pub insinfo: Option<usize>,
    pub instruction_embeddings: Option<usize>,
    pub instance_embeddings: Option<usize>,
}

fn instruction_vectors(ctx: &StageCtx) -> Result<HashMap<String, Vec<f32>>, PipelineError> {
    Ok(read::<InstructionVector>(ctx.artifact("instruction_embeddings")?)?.into_iter().map(|r| (r.instruction_id, r.vector)).collect())
}

fn instance_vectors(ctx: &StageCtx) -> Result<HashMap<String, Vec<f32>>, PipelineError> {
    Ok(read::<InstanceVector>(ctx.artifact("instance_embeddings")?)?.into_iter().map(|r| (r.instance_id, r.vector)).collect())
}

/// Stage i of (order, method): the key is exactly these params and the wired inputs.
#[derive(serde::Serialize)]
pub struct SampleParams {
    order: String,
    categories: Vec<String>,
    method: ReplayMethod,
    stage: usize,
    alpha: usize,
    seed: u64,
}

pub struct ReplayMix {
    params: SampleParams,
}

inscl_dag::impl_stage!(ReplayMix, "sample", VERSION, SampleParams);

impl ReplayMix {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        run(ctx, &self.params)
    }
}

fn run(ctx: &StageCtx, s: &SampleParams) -> Result<Outputs, PipelineError> {
    let all = instances(ctx.artifact("ingest")?)?;
    let train: Vec<TrainInstance> = all
        .iter()
        .filter(|r| r.train())
        .map(|r| TrainInstance { instance_id: r.id.clone(), category: r.category.clone(), instruction_id: r.instruction_id.clone() })
        .collect();
    let current = &s.categories[s.stage - 1];
    let w: Option<Vec<f64>> = match ctx.inputs.contains_key("w") {
        true => {
            let w = read_w(ctx, "w")?;
            let ws = s.categories[..s.stage - 1]
                .iter()
                .map(|j| w.get(&(current.clone(), j.clone())).copied().ok_or_else(|| PipelineError::Input(format!("the distances hold no W({current}, {j})"))))
                .collect::<Result<_, _>>()?;
            Some(ws)
        }
        false => None,
    };
    let shares: Option<HashMap<String, f64>> = match ctx.inputs.contains_key("insinfo") {
        true => {
            Some(read::<InsInfoRow>(ctx.artifact("insinfo")?)?.into_iter().map(|r| (r.instruction_id, r.share)).collect())
        }
        false => None,
    };
    let mut emb = Embeddings::default();
    if ctx.inputs.contains_key("instruction_embeddings") {
        emb.instructions = instruction_vectors(ctx)?;
    }
    if ctx.inputs.contains_key("instance_embeddings") {
        emb.instances = instance_vectors(ctx)?;
    }
    let input = StageInput {
        order_name: &s.order,
        order: &s.categories,
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
    let mix = sample_stage(&input)?;
    let by_id: HashMap<&str, &InstanceRow> = all.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut rows: Vec<(&InstanceRow, bool)> = mix.current.iter().map(|id| (by_id[id.as_str()], false)).collect();
    rows.extend(mix.replay.iter().map(|p| (by_id[p.instance_id.as_str()], true)));
    let replay: Vec<ReplayRow> = mix
        .replay
        .iter()
        .map(|p| ReplayRow {
            order: s.order.clone(),
            stage: s.stage,
            method: s.method.name().into(),
            source_category: p.source_category.clone(),
            instance_id: p.instance_id.clone(),
        })
        .collect();
    let shortfall: usize = mix.budgets.iter().map(|b| b.shortfall).sum();
    let out = write(write(Outputs::default(), &replay)?, &mix_rows(ctx, &rows)?)?;
    Ok(out.note("budgets", serde_json::to_value(&mix.budgets).expect("budgets serialise")).note("shortfall", shortfall))
}

pub fn push(
    g: &mut Graph,
    p: &PipelineCtx,
    order: &str,
    cats: &[String],
    method: ReplayMethod,
    stage: usize,
    inputs: &SampleNodeInputs,
) -> Result<usize, PipelineError> {
    let needs = method.needs();
    let missing = |what: &str| PipelineError::Input(format!("sample/{order}/{method}/{stage} needs {what}, which the graph did not build"));
    let mut wired = vec![("ingest".to_string(), NodeInput::Node(inputs.ingest))];
    if let Some(weights) = needs.w {
        let w = match weights {
            Weights::Real => inputs.w_real,
            Weights::Uniform => inputs.w_uniform,
        };
        wired.push(("w".into(), NodeInput::Node(w.ok_or_else(|| missing("W"))?)));
    }
    if needs.insinfo {
        wired.push(("insinfo".into(), NodeInput::Node(inputs.insinfo.ok_or_else(|| missing("InsInfo"))?)));
    }
    if needs.instruction_embeddings {
        let n = inputs.instruction_embeddings.ok_or_else(|| missing("instruction embeddings"))?;
        wired.push(("instruction_embeddings".into(), NodeInput::Node(n)));
    }
    if needs.instance_embeddings {
        let n = inputs.instance_embeddings.ok_or_else(|| missing("instance embeddings"))?;
        wired.push(("instance_embeddings".into(), NodeInput::Node(n)));
    }
    let r = &p.sections.replay;
    let params = SampleParams { order: order.into(), categories: cats[..stage].to_vec(), method, stage, alpha: r.alpha, seed: r.seed };
    Ok(add(g, format!("sample/{}{order}/{method}/{stage}", p.tag), ReplayMix { params }, wired))
}

/// The joint upper bound's mix: every train instance of every category of the order, at once. The categories
/// are sorted in the key, so orders of the same categories share it (the training shuffles them anyway).
pub struct JointMix {
    params: JointParams,
}

#[derive(serde::Serialize)]
pub struct JointParams {
    categories: Vec<String>,
}

inscl_dag::impl_stage!(JointMix, "sample", VERSION, JointParams);

impl JointMix {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        categories_mix(ctx, &self.params.categories)
    }
}

pub fn push_joint(g: &mut Graph, _p: &PipelineCtx, order: &str, cats: &[String], ingest: usize) -> usize {
    let mut categories = cats.to_vec();
    categories.sort();
    add(g, format!("sample/joint/{order}"), JointMix { params: JointParams { categories } }, vec![("ingest".into(), NodeInput::Node(ingest))])
}
