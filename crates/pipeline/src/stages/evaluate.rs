//! The evaluate stage and the metrics derived from it.
//!
//! * `testset/<category>`: a category's test split, with the prompt fields the model sees.
//! * `evaluate/<checkpoint>/<category>`: greedy answers of one checkpoint on one test set, scored per instance
//!   with Rouge-L (the paper's `rouge_metric`) and SuperNI's stemmed `rougeL`. Keyed by (checkpoint, test set)
//!   content, so appending a stage evaluates only the new checkpoint.
//! * `metrics/<order>/<method>`: the R matrix (Rouge-L F × 100) and everything the paper derives from it, with
//!   the zero-shot scores, forward transfer and the joint bound; its rows carry the replicate's seed.

use super::dataset::{definitions, instances};
use super::PipelineCtx;
use inscl_dag::add;
use crate::device::{DeviceChoice, LIBTORCH_VERSION, Precision};
use inscl_sample::ReplayMethod;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::tables::{read, write};
use inscl_tables::{PredictionRow, TestRow};
use inscl_evaluate::metrics::{ExtraScores, RMatrix, extra_rows, metric_rows};
use inscl_store::Outputs;
use std::collections::BTreeMap;

const TESTSET_VERSION: &str = "1";
// 3: decoding stops at the folder's EOS ids (generation_config.json / config.json) first.
const EVALUATE_VERSION: &str = "3";
// 3: a seed column; zero-shot, FWT and joint-bound rows.
const METRICS_VERSION: &str = "3";

/// A category's test split: the test instances, capped at `max_test_per_category` (a fixed pseudo-random subset).
#[derive(serde::Serialize)]
pub struct TestsetParams {
    category: String,
    max_test_per_category: Option<usize>,
}

pub struct Testset {
    params: TestsetParams,
}

inscl_dag::impl_stage!(Testset, "testset", TESTSET_VERSION, TestsetParams);

impl Testset {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let cat = &self.params.category;
        let ingest = ctx.artifact("ingest")?;
        let defs = definitions(ingest)?;
        let mut rows: Vec<_> = instances(ingest)?.into_iter().filter(|r| !r.train() && &r.category == cat).collect();
        if rows.is_empty() {
            return Err(PipelineError::Empty(format!("category {cat} has no test instances")));
        }
        // A capped test set must still cover every task of the category: order by a hash of the id (a fixed
        // pseudo-random order) rather than by id, which groups instances by task.
        rows.sort_by_cached_key(|r| blake3::hash(r.id.as_bytes()).to_hex().to_string());
        if let Some(cap) = self.params.max_test_per_category {
            rows.truncate(cap);
        }
        let test: Vec<TestRow> = rows
            .into_iter()
            .map(|r| TestRow {
                definition: defs.get(&r.instruction_id).cloned().unwrap_or_default(),
                instance_id: r.id,
                category: r.category,
                input: r.input,
                outputs: r.outputs,
            })
            .collect();
        write(Outputs::default(), &test)
    }
}

pub fn push_testset(g: &mut Graph, p: &PipelineCtx, category: &str, ingest: usize) -> usize {
    let params = TestsetParams { category: category.into(), max_test_per_category: p.sections.evaluate.max_test_per_category };
    add(g, format!("testset/{category}"), Testset { params }, vec![("ingest".into(), NodeInput::Node(ingest))])
}

/// Greedy answers of one checkpoint on one test set: the decoding limits, the precision the device kind implies
/// (bf16 weights on CUDA), and the libtorch. The batch size and the device index are runtime knobs.
#[derive(serde::Serialize)]
pub struct EvaluateParams {
    pub max_new_tokens: usize,
    pub max_prompt_len: usize,
    pub precision: Precision,
    pub libtorch: &'static str,
}

/// Decodes and scores a checkpoint on a test set (run by the executor, which links the model crate).
pub struct Evaluate {
    pub params: EvaluateParams,
    pub device: DeviceChoice,
    pub batch_size: usize,
}

inscl_dag::impl_stage!(Evaluate, "evaluate", EVALUATE_VERSION, EvaluateParams);

/// Evaluates checkpoint `model` (a finetune node) on test set `testset`.
pub fn push_checkpoint(g: &mut Graph, p: &PipelineCtx, model: usize, testset: usize) -> usize {
    let label = g.nodes[model].id.trim_start_matches("finetune/").to_string();
    push(g, p, NodeInput::Node(model), &label, testset)
}

/// Evaluates the model folder of `model` (a checkpoint, or the base model) on test set `testset`; `label`
/// names the model in the id `evaluate/<label>/<category>`.
pub fn push(g: &mut Graph, p: &PipelineCtx, model: NodeInput, label: &str, testset: usize) -> usize {
    let e = &p.sections.evaluate;
    let id = format!("evaluate/{label}/{}", g.nodes[testset].id.trim_start_matches("testset/"));
    let params = EvaluateParams {
        max_new_tokens: e.max_new_tokens,
        max_prompt_len: e.max_prompt_len,
        precision: Precision::of(e.device.kind()),
        libtorch: LIBTORCH_VERSION,
    };
    let stage = Evaluate { params, device: e.device, batch_size: e.batch_size };
    add(g, id, stage, vec![("model".into(), model), ("test".into(), NodeInput::Node(testset))])
}

/// Rouge-L F × 100 of one evaluate artifact, as the paper's corpus score: F of the mean P and mean R.
fn corpus_f100(ctx: &StageCtx, role: &str) -> Result<f64, PipelineError> {
    let rows = read::<PredictionRow>(ctx.artifact(role)?)?;
    let n = rows.len().max(1) as f64;
    let (mp, mr) = (rows.iter().map(|r| r.rouge_l_p).sum::<f64>() / n, rows.iter().map(|r| r.rouge_l_r).sum::<f64>() / n);
    Ok(if mp + mr > 0.0 { 200.0 * mp * mr / (mp + mr) } else { 0.0 })
}

/// The R matrix of one (order, method) and what the paper derives from it. The cells travel as typed params:
/// input role → (stage, category), both 0-based, so nothing is parsed back out of a role name.
#[derive(serde::Serialize)]
pub struct MetricsParams {
    seed: u64,
    order: String,
    method: ReplayMethod,
    categories: Vec<String>,
    /// `r/<i>/<j>` → (i, j): R[i][j] is the evaluate artifact of that role.
    cells: BTreeMap<String, (usize, usize)>,
    /// `up/<j>` → j: the expert of category j.
    upper_bounds: BTreeMap<String, usize>,
    /// `zs/<j>` → j: the base model on category j.
    zeroshot: BTreeMap<String, usize>,
    /// `next/<i>` → (i, i + 1): the model after stage i on the category stage i + 1 learns.
    next: BTreeMap<String, (usize, usize)>,
    /// `joint/<j>` → j: the joint model on category j.
    joint: BTreeMap<String, usize>,
}

pub struct Metrics {
    params: MetricsParams,
}

inscl_dag::impl_stage!(Metrics, "metrics", METRICS_VERSION, MetricsParams);

impl Metrics {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let m = &self.params;
        let n = m.categories.len();
        let mut r = vec![vec![None; n]; n];
        for (role, &(i, j)) in &m.cells {
            r[i][j] = Some(corpus_f100(ctx, role)?);
        }
        // The scores of `roles` (role, index) as a list of `len`; `None` unless every index has one.
        let scores = |roles: Vec<(&String, usize)>, len: usize| -> Result<Option<Vec<f64>>, PipelineError> {
            if roles.len() != len {
                return Ok(None);
            }
            let mut v = vec![0.0; len];
            for (role, k) in roles {
                v[k] = corpus_f100(ctx, role)?;
            }
            Ok(Some(v))
        };
        fn index(map: &BTreeMap<String, usize>) -> Vec<(&String, usize)> {
            map.iter().map(|(role, &j)| (role, j)).collect()
        }
        let by_category = |v: Vec<f64>| -> BTreeMap<String, f64> { m.categories.iter().cloned().zip(v).collect() };
        let ups = scores(index(&m.upper_bounds), n)?.map(by_category);
        let extra = ExtraScores {
            zeroshot: scores(index(&m.zeroshot), n)?,
            next: scores(m.next.iter().map(|(role, &(i, _))| (role, i)).collect(), n.saturating_sub(1))?,
            joint: scores(index(&m.joint), n)?.map(by_category),
        };
        let rm = RMatrix { categories: m.categories.clone(), r };
        let mut rows = if let (Some(ups), true) = (&ups, n >= 2) {
            metric_rows(m.seed, &m.order, m.method.name(), &rm, ups)?
        } else {
            r_rows(m.seed, &m.order, m.method.name(), &rm)
        };
        if n >= 2 {
            rows.extend(extra_rows(m.seed, &m.order, m.method.name(), &rm, &extra)?);
        }
        write(Outputs::default(), &rows)
    }
}

/// The evaluate nodes one run's metrics read, all indices 0-based.
pub struct RunScores<'a> {
    /// (stage, category, node): R[stage][category].
    pub cells: &'a [(usize, usize, usize)],
    /// (category, node): the expert of the category.
    pub upper_bounds: &'a [(usize, usize)],
    /// The base model on each category of the order, in order.
    pub zeroshot: &'a [usize],
    /// The model after stage i on category i + 1, for i < n − 1.
    pub next: &'a [usize],
    /// The joint model on each category of the order, in order (empty without `joint`).
    pub joint: &'a [usize],
}

pub fn push_metrics(g: &mut Graph, p: &PipelineCtx, seed: u64, order: &str, method: ReplayMethod, cats: &[String], s: &RunScores) -> usize {
    let mut inputs: Vec<(String, NodeInput)> = Vec::new();
    let mut params = MetricsParams {
        seed,
        order: order.into(),
        method,
        categories: cats.to_vec(),
        cells: BTreeMap::new(),
        upper_bounds: BTreeMap::new(),
        zeroshot: BTreeMap::new(),
        next: BTreeMap::new(),
        joint: BTreeMap::new(),
    };
    // Each evaluate node becomes an input role, and the role's meaning a param: nothing is parsed back out of it.
    fn wire<T>(inputs: &mut Vec<(String, NodeInput)>, meanings: &mut BTreeMap<String, T>, role: String, meaning: T, node: usize) {
        meanings.insert(role.clone(), meaning);
        inputs.push((role, NodeInput::Node(node)));
    }
    for &(i, j, n) in s.cells {
        wire(&mut inputs, &mut params.cells, format!("r/{i:03}/{j:03}"), (i, j), n);
    }
    for &(j, n) in s.upper_bounds {
        wire(&mut inputs, &mut params.upper_bounds, format!("up/{j:03}"), j, n);
    }
    for (j, &n) in s.zeroshot.iter().enumerate() {
        wire(&mut inputs, &mut params.zeroshot, format!("zs/{j:03}"), j, n);
    }
    for (i, &n) in s.next.iter().enumerate() {
        wire(&mut inputs, &mut params.next, format!("next/{i:03}"), (i, i + 1), n);
    }
    for (j, &n) in s.joint.iter().enumerate() {
        wire(&mut inputs, &mut params.joint, format!("joint/{j:03}"), j, n);
    }
    add(g, format!("metrics/{}{order}/{method}", p.tag), Metrics { params }, inputs)
}

/// Without experts there is no upper bound, so only the R cells are reported.
fn r_rows(seed: u64, order: &str, method: &str, rm: &RMatrix) -> Vec<inscl_evaluate::metrics::MetricRow> {
    let mut rows = Vec::new();
    for (i, row) in rm.r.iter().enumerate() {
        for (j, v) in row.iter().enumerate().take(i + 1) {
            if let Some(v) = v {
                rows.push(inscl_evaluate::metrics::MetricRow {
                    seed,
                    order: order.into(),
                    method: method.into(),
                    stage: Some(i + 1),
                    category: Some(rm.categories[j].clone()),
                    metric: "R".into(),
                    value: *v,
                });
            }
        }
    }
    rows
}
