//! The stage instances of a pipeline and the DAG that connects them. Each submodule adapts one stage crate:
//! it reads the input artifacts' tables into the crate's plain structs, calls its pure function, and turns the
//! result back into tables.

pub mod annotate;
pub mod base;
pub mod dataset;
pub mod distance;
pub mod embed;
pub mod evaluate;
pub mod insinfo;
pub mod report;
pub mod sample;
pub mod train;

pub use train::FinetuneParams;

use crate::config::Pipeline;
use crate::error::PipelineError;
use inscl_dag::{Graph, Node, NodeInput, StageCtx, node_of};
use crate::sections::Sections;
use crate::validate::Wanted;
use inscl_sample::Weights;
use inscl_data::{CategoryMapping, IngestParams, is_source_file};
use inscl_store::{HashCache, Outputs, SourceTree, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bump when ingest's output for the same input and params changes.
const INGEST_VERSION: &str = "2";

/// The category mapping and the split/cap settings: with the dataset folder's content, the ingest key.
#[derive(serde::Serialize)]
pub struct IngestKey {
    mapping: CategoryMapping,
    ingest: IngestParams,
}

pub struct Ingest {
    params: IngestKey,
    /// How the dataset is named in messages (not in the key: the folder enters by content).
    root: String,
}

inscl_dag::impl_stage!(Ingest, "ingest", INGEST_VERSION, IngestKey);

impl Ingest {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let tree = ctx.source("source")?;
        // One task file in memory at a time, each checked against the hash the key was made of.
        let files = inscl_data::FilesFn { paths: tree.paths().collect(), read: |rel: &str| tree.read_file(rel).map_err(|e| e.into_io()) };
        let out = inscl_data::ingest(&self.root, &files, &self.params.mapping, &self.params.ingest)?;
        let report = serde_json::to_value(&out.report).expect("report serialises");
        let o = crate::tables::write(Outputs::default(), &out.instances)?;
        let o = crate::tables::write(o, &out.instructions)?;
        Ok(crate::tables::write(o, &out.tasks)?.note("ingest_report", report))
    }
}

/// The ingest stage instance of a dataset folder: reads `tasks/*.json` and `splits/default/*_tasks.txt`. The
/// folder is hashed (through the store's hash cache) to key the stage; its files are read only if it runs.
pub fn ingest_node(
    dataset: &Path,
    mapping: &CategoryMapping,
    params: &IngestParams,
    hashes: &HashCache,
) -> Result<Node, PipelineError> {
    let tree = Arc::new(SourceTree::scan(dataset, is_source_file, hashes)?);
    let stage = Ingest { params: IngestKey { mapping: mapping.clone(), ingest: params.clone() }, root: dataset.display().to_string() };
    Ok(node_of("ingest".into(), stage, vec![("source".into(), NodeInput::Source(tree))]))
}

/// What every stage expansion needs: the pipeline, its typed sections, and the model folders scanned once.
pub struct PipelineCtx {
    pub pipeline: Pipeline,
    pub sections: Sections,
    /// The pipeline file's folder: relative paths in sections resolve against it.
    pub base_dir: PathBuf,
    /// The store's hash cache: scanning an unchanged source folder costs a `stat` per file.
    pub hashes: HashCache,
    /// The replicate's part of the ids of its seed-dependent instances: `seed<s>/` when the pipeline names
    /// `seeds`, else empty (ids only; keys change through the seeded params themselves).
    pub tag: String,
    minilm: std::sync::OnceLock<Result<Arc<SourceTree>, String>>,
}

impl PipelineCtx {
    /// Whether the base model depends on the replicate's seed (the tiny model's initialisation does).
    pub fn base_varies(&self) -> bool {
        self.sections.model.base_path(&self.base_dir).is_none()
    }

    /// `tag` where the instance depends on the seed only through the base model, else empty.
    pub fn base_tag(&self) -> &str {
        if self.base_varies() { &self.tag } else { "" }
    }

    /// The MiniLM folder as a source input: its content enters the keys of the stages that use it.
    pub fn minilm(&self) -> Result<NodeInput, PipelineError> {
        let dir = self.sections.embed.minilm_path(&self.base_dir, &self.pipeline.models);
        let tree = self
            .minilm
            .get_or_init(|| model_tree(&dir, &self.hashes).map(Arc::new).map_err(|e| e.to_string()))
            .clone()
            .map_err(PipelineError::Input)?;
        Ok(NodeInput::Source(tree))
    }
}

/// The files of a Hugging Face model folder that determine its outputs, hashed through `hashes`.
pub fn model_tree(dir: &Path, hashes: &HashCache) -> Result<SourceTree, PipelineError> {
    if !dir.join("config.json").is_file() {
        return Err(PipelineError::Input(format!(
            "{}: not a model folder (no config.json); run `make setup` to fetch the models",
            dir.display()
        )));
    }
    // Everything the model crate reads: the config, the tokenizer, the chat template and EOS of
    // tokenizer_config.json, generation_config.json's EOS, and the (possibly sharded) weights.
    const READ: [&str; 5] = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "model.safetensors.index.json"];
    let keep = |name: &str| !name.contains('/') && (READ.contains(&name) || name.ends_with(".safetensors"));
    Ok(SourceTree::scan(dir, keep, hashes)?)
}

/// The DAG of a pipeline: ingest → annotate, embed → distance, insinfo → sample → finetune → evaluate →
/// metrics → report. Stage 1 of every method and the experts share nodes, since they train on the same data.
/// Only what the chosen methods need ([`inscl_sample::ReplayMethod::needs`]) is built. Each seed of `seeds` is
/// a replicate: everything from the base model on is built again with that seed; what no seed changes (ingest,
/// tags, MiniLM embeddings, test sets, stage-1 mixes) is one node for all of them.
pub fn build_graph(pipeline: &Pipeline, store: &Store) -> Result<Graph, PipelineError> {
    let base_dir = pipeline.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut p = PipelineCtx {
        pipeline: pipeline.clone(),
        sections: pipeline.sections.clone(),
        base_dir,
        hashes: store.hash_cache(),
        tag: String::new(),
        minilm: Default::default(),
    };
    let mut g = Graph::default();
    let ingest = g.push(ingest_node(&pipeline.dataset.path, &pipeline.dataset.mapping, &pipeline.dataset.ingest, &p.hashes)?);
    let methods = &pipeline.methods;
    if pipeline.orders.is_empty() || (methods.is_empty() && !pipeline.experts) {
        return Ok(g);
    }
    let mut metrics = Vec::new();
    for &seed in &pipeline.seeds {
        p.sections = pipeline.sections_for(seed);
        p.tag = if pipeline.seeded { format!("seed{seed}/") } else { String::new() };
        metrics.extend(push_replicate(&mut g, &p, ingest, seed)?);
    }
    // Relative Gain needs the experts' upper bounds; without them metrics.parquet holds the R matrix only.
    if !metrics.is_empty() && pipeline.experts {
        report::push(&mut g, &p, &metrics);
    }
    Ok(g)
}

/// One replicate's instances, from the base model to the metrics of every (order, method); returns the
/// metrics nodes. Seed-independent instances are found by id (see [`inscl_dag::add`]) rather than rebuilt.
fn push_replicate(g: &mut Graph, p: &PipelineCtx, ingest: usize, seed: u64) -> Result<Vec<usize>, PipelineError> {
    let pipeline = &p.pipeline;
    let methods = &pipeline.methods;
    let wanted = Wanted::of(methods);
    let base = base::push_base(g, p, ingest)?;
    let (annotate, tag_emb) = if wanted.insinfo {
        let a = annotate::push(g, p, ingest)?;
        (Some(a), Some(embed::push_tags(g, p, a)?))
    } else {
        (None, None)
    };
    let ins_emb = if wanted.instruction_embeddings { Some(embed::push_instructions(g, p, ingest, &base)?) } else { None };
    let dist = |g: &mut Graph, on: bool, w: Weights| match (on, ins_emb) {
        (true, Some(e)) => Some(distance::push(g, p, e, w)),
        _ => None,
    };
    let (w_real, w_uniform) = (dist(g, wanted.w_real, Weights::Real), dist(g, wanted.w_uniform, Weights::Uniform));
    let inst_emb = if wanted.instance_embeddings { Some(embed::push_instances(g, p, ingest, &base)?) } else { None };
    let testset = |g: &mut Graph, cat: &str| evaluate::push_testset(g, p, cat, ingest);
    let tag = &p.tag;
    let cats_all: std::collections::BTreeSet<&String> = pipeline.orders.values().flatten().collect();

    // R[0][j]: the base model before any training, on every category.
    let base_label = format!("{}base", p.base_tag());
    let mut zeroshot = std::collections::BTreeMap::new();
    for &c in &cats_all {
        let ts = testset(g, c);
        zeroshot.insert(c.clone(), evaluate::push(g, p, base.input(), &base_label, ts));
    }
    let mut experts = std::collections::BTreeMap::new();
    if pipeline.experts {
        for &c in &cats_all {
            let mix = sample::push_single(g, p, c, ingest);
            let ft = train::push_finetune(g, p, format!("{tag}single/{c}"), &base, mix, None);
            let ts = testset(g, c);
            experts.insert(c.clone(), evaluate::push_checkpoint(g, p, ft, ts));
        }
    }
    let mut metrics = Vec::new();
    for (order, cats) in &pipeline.orders {
        let insinfo: Vec<Option<usize>> = (0..cats.len())
            .map(|i| match (annotate, tag_emb) {
                (Some(a), Some(t)) if i >= 1 => Some(insinfo::push(g, p, order, &cats[..=i], a, t, ingest)),
                _ => None,
            })
            .collect();
        let joint = if pipeline.joint {
            let mix = sample::push_joint(g, p, order, cats, ingest);
            let ft = train::push_finetune(g, p, format!("{tag}joint/{order}"), &base, mix, None);
            cats.iter().map(|c| { let ts = testset(g, c); evaluate::push_checkpoint(g, p, ft, ts) }).collect()
        } else {
            Vec::new()
        };
        for &method in methods {
            let mut prev = base.clone();
            let mut prev_mix = None;
            let mut cells = Vec::new();
            let mut next = Vec::new();
            for i in 0..cats.len() {
                let (mix, id) = if i == 0 {
                    (sample::push_single(g, p, &cats[0], ingest), format!("{tag}single/{}", cats[0]))
                } else {
                    let inputs = sample::SampleNodeInputs {
                        ingest,
                        w_real,
                        w_uniform,
                        insinfo: insinfo[i],
                        instruction_embeddings: ins_emb,
                        instance_embeddings: inst_emb,
                    };
                    (sample::push(g, p, order, cats, method.replay(), i + 1, &inputs)?, format!("{tag}{order}/{method}/{}", i + 1))
                };
                // Stage 1 trains alike for every method; the regularisers act from stage 2 on.
                let reg = if i == 0 { None } else { train::regularizer(p, method, prev_mix) };
                let ft = train::push_finetune(g, p, id, &prev, mix, reg);
                for (j, c) in cats[..=i].iter().enumerate() {
                    let ts = testset(g, c);
                    cells.push((i, j, evaluate::push_checkpoint(g, p, ft, ts)));
                }
                // FWT: the model after this stage on the category it learns next.
                if let Some(c) = cats.get(i + 1) {
                    let ts = testset(g, c);
                    next.push(evaluate::push_checkpoint(g, p, ft, ts));
                }
                prev = base::Init::Node(ft);
                prev_mix = Some(mix);
            }
            let ups: Vec<(usize, usize)> = cats.iter().enumerate().filter_map(|(j, c)| experts.get(c).map(|&e| (j, e))).collect();
            let zs: Vec<usize> = cats.iter().map(|c| zeroshot[c]).collect();
            let scores = evaluate::RunScores { cells: &cells, upper_bounds: &ups, zeroshot: &zs, next: &next, joint: &joint };
            metrics.push(evaluate::push_metrics(g, p, seed, order, method, cats, &scores));
        }
    }
    Ok(metrics)
}

#[cfg(test)]
mod graph_tests;
