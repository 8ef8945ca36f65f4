//! The evaluate stage and the metrics derived from it.
//!
//! * `testset/<category>`: a category's test split, with the prompt fields the model sees.
//! * `evaluate/<checkpoint>/<category>`: greedy answers of one checkpoint on one test set, scored per instance
//!   with Rouge-L (the paper's `rouge_metric`) and SuperNI's stemmed `rougeL`. Keyed by (checkpoint, test set)
//!   content, so appending a stage evaluates only the new checkpoint.
//! * `metrics/<order>/<method>`: the R matrix (Rouge-L F × 100) and everything the paper derives from it.

use super::dataset::{definitions, instances};
use super::{PipelineCtx, node};
use crate::error::PipelineError;
use crate::graph::{Graph, NodeInput, StageCtx};
use crate::tables::{TableBuilder, f64s, string_lists, strings};
use inscl_evaluate::metrics::{RMatrix, metric_rows};
use inscl_store::Outputs;
use std::collections::BTreeMap;

const TESTSET_VERSION: &str = "1";
const EVALUATE_VERSION: &str = "1";
const METRICS_VERSION: &str = "1";

pub fn push_testset(g: &mut Graph, p: &PipelineCtx, category: &str, ingest: usize) -> usize {
    let cap = p.sections.evaluate.max_test_per_category;
    let cat = category.to_string();
    node(
        g,
        format!("testset/{category}"),
        "testset",
        TESTSET_VERSION,
        serde_json::json!({ "category": category, "max_test_per_category": cap }),
        vec![("ingest".into(), NodeInput::Node(ingest))],
        move |ctx| {
            let ingest = ctx.artifact("ingest")?;
            let defs = definitions(ingest)?;
            let mut rows: Vec<_> = instances(ingest)?.into_iter().filter(|r| !r.train && r.category == cat).collect();
            if rows.is_empty() {
                return Err(PipelineError::Invalid(format!("category {cat} has no test instances")));
            }
            // A capped test set must still cover every task of the category: order by a hash of the id (a
            // fixed pseudo-random order) rather than by id, which groups instances by task.
            rows.sort_by_cached_key(|r| blake3::hash(r.id.as_bytes()).to_hex().to_string());
            if let Some(cap) = cap {
                rows.truncate(cap);
            }
            let t = TableBuilder::new()
                .str("instance_id", rows.iter().map(|r| &r.id))
                .str("category", rows.iter().map(|r| &r.category))
                .str("definition", rows.iter().map(|r| defs.get(&r.instruction_id).map(String::as_str).unwrap_or("")))
                .str("input", rows.iter().map(|r| &r.input))
                .str_lists("outputs", &rows.iter().map(|r| r.outputs.clone()).collect::<Vec<_>>())
                .finish()?;
            Ok(Outputs::default().table("test", t))
        },
    )
}

fn run_evaluate(ctx: &StageCtx, p: &crate::sections::EvaluateSection) -> Result<Outputs, PipelineError> {
    let model_err = |e: inscl_model::ModelError| PipelineError::Invalid(format!("evaluate: {e}"));
    let device = inscl_model::device::parse_device(&p.device).map_err(model_err)?;
    let dir = ctx.dir("model")?;
    let model = inscl_model::LlamaModel::load(&dir, device).map_err(model_err)?;
    let t = ctx.artifact("test")?.table("test")?;
    let ids = strings(&t, "test", "instance_id")?;
    let cats = strings(&t, "test", "category")?;
    let (defs, inputs) = (strings(&t, "test", "definition")?, strings(&t, "test", "input")?);
    let refs = string_lists(&t, "test", "outputs")?;
    let mut prompts = Vec::with_capacity(ids.len());
    for (d, i) in defs.iter().zip(&inputs) {
        let mut toks = model.encode(&inscl_finetune::examples::format_prompt(d, i)).map_err(model_err)?;
        // Keep the end of an over-long prompt, as training does: the input sits right before the answer.
        if toks.len() > p.max_prompt_len {
            toks.drain(..toks.len() - p.max_prompt_len);
        }
        prompts.push(toks);
    }
    let bar = ctx.bar(prompts.len() as u64, "greedy answers");
    let progress = |n: usize| bar.inc(n as u64);
    let generated = inscl_model::generate::generate_greedy(&model, &prompts, p.max_new_tokens, p.batch_size, Some(&progress))
        .map_err(model_err)?;
    bar.finish_and_clear();
    let mut preds = Vec::with_capacity(generated.len());
    for g in &generated {
        preds.push(model.decode(g).map_err(model_err)?.trim().to_string());
    }
    let (mut rp, mut rr, mut rf, mut stemmed) = (vec![], vec![], vec![], vec![]);
    for (pred, r) in preds.iter().zip(&refs) {
        let s = inscl_evaluate::rouge_l_instance(pred, r);
        rp.push(s.p);
        rr.push(s.r);
        rf.push(s.f);
        let refs: Vec<&str> = r.iter().map(String::as_str).collect();
        stemmed.push(inscl_evaluate::rouge_score::rouge_l_stemmed(pred, &refs));
    }
    let pairs: Vec<(String, Vec<String>)> = preds.iter().cloned().zip(refs.iter().cloned()).collect();
    let corpus = inscl_evaluate::rouge_l_corpus(&pairs);
    let stemmed_mean = if stemmed.is_empty() { 0.0 } else { stemmed.iter().sum::<f64>() / stemmed.len() as f64 };
    let key = ctx.artifact("model").map(|a| a.key().to_string()).unwrap_or_else(|_| format!("source:{}", dir.display()));
    let n = ids.len();
    let table = TableBuilder::new()
        .str("checkpoint", std::iter::repeat_n(key.as_str(), n))
        .str("category", &cats)
        .str("instance_id", &ids)
        .str("prediction", &preds)
        .f64("rouge_l_p", rp)
        .f64("rouge_l_r", rr)
        .f64("rouge_l_f", rf)
        .f64("rouge_l_stemmed", stemmed)
        .finish()?;
    Ok(Outputs::default()
        .table("predictions", table)
        .note("rouge_l", serde_json::json!({ "p": corpus.p, "r": corpus.r, "f": corpus.f }))
        .note("rouge_l_stemmed", stemmed_mean)
        .note("device", format!("{device:?}")))
}

/// Evaluates checkpoint `model` (a finetune node) on test set `testset`.
pub fn push(g: &mut Graph, p: &PipelineCtx, model: usize, testset: usize) -> usize {
    let e = p.sections.evaluate.clone();
    let id = format!("evaluate/{}/{}", g.nodes[model].id.trim_start_matches("finetune/"), g.nodes[testset].id.trim_start_matches("testset/"));
    let params = serde_json::json!({ "max_new_tokens": e.max_new_tokens, "max_prompt_len": e.max_prompt_len });
    node(
        g,
        id,
        "evaluate",
        EVALUATE_VERSION,
        params,
        vec![("model".into(), NodeInput::Node(model)), ("test".into(), NodeInput::Node(testset))],
        move |ctx| run_evaluate(ctx, &e),
    )
}

/// Rouge-L F × 100 of one evaluate artifact, as the paper's corpus score: F of the mean P and mean R.
fn corpus_f100(ctx: &StageCtx, role: &str) -> Result<f64, PipelineError> {
    let t = ctx.artifact(role)?.table("predictions")?;
    let (p, r) = (f64s(&t, "predictions", "rouge_l_p")?, f64s(&t, "predictions", "rouge_l_r")?);
    let n = p.len().max(1) as f64;
    let (mp, mr) = (p.iter().sum::<f64>() / n, r.iter().sum::<f64>() / n);
    Ok(if mp + mr > 0.0 { 200.0 * mp * mr / (mp + mr) } else { 0.0 })
}

/// `cells`: (stage 0-based, category 0-based, evaluate node); `ups`: (category 0-based, expert evaluate node).
pub fn push_metrics(
    g: &mut Graph,
    _p: &PipelineCtx,
    order: &str,
    method: &str,
    cats: &[String],
    cells: &[(usize, usize, usize)],
    ups: &[(usize, usize)],
) -> usize {
    let mut inputs: Vec<(String, NodeInput)> =
        cells.iter().map(|&(i, j, n)| (format!("r/{:03}/{:03}", i, j), NodeInput::Node(n))).collect();
    inputs.extend(ups.iter().map(|&(j, n)| (format!("up/{j:03}"), NodeInput::Node(n))));
    let (order_s, method_s, cats_v) = (order.to_string(), method.to_string(), cats.to_vec());
    node(
        g,
        format!("metrics/{order}/{method}"),
        "metrics",
        METRICS_VERSION,
        serde_json::json!({ "order": order, "method": method, "categories": cats }),
        inputs,
        move |ctx| {
            let n = cats_v.len();
            let mut r = vec![vec![None; n]; n];
            for (role, _) in ctx.artifacts_with_prefix("r/") {
                let (i, j) = (role[2..5].parse::<usize>().unwrap_or(0), role[6..9].parse::<usize>().unwrap_or(0));
                r[i][j] = Some(corpus_f100(ctx, role)?);
            }
            let mut ups = BTreeMap::new();
            for (role, _) in ctx.artifacts_with_prefix("up/") {
                let j = role[3..6].parse::<usize>().unwrap_or(0);
                ups.insert(cats_v[j].clone(), corpus_f100(ctx, role)?);
            }
            let rm = RMatrix { categories: cats_v.clone(), r };
            let rows = if ups.len() == n && n >= 2 {
                metric_rows(&order_s, &method_s, &rm, &ups)
                    .map_err(|e| PipelineError::Invalid(format!("metrics {order_s}/{method_s}: {e}")))?
            } else {
                r_rows(&order_s, &method_s, &rm)
            };
            Ok(Outputs::default().table("metrics", metrics_table(&rows)?))
        },
    )
}

/// Without experts there is no upper bound, so only the R cells are reported.
fn r_rows(order: &str, method: &str, rm: &RMatrix) -> Vec<inscl_evaluate::metrics::MetricRow> {
    let mut rows = Vec::new();
    for (i, row) in rm.r.iter().enumerate() {
        for (j, v) in row.iter().enumerate().take(i + 1) {
            if let Some(v) = v {
                rows.push(inscl_evaluate::metrics::MetricRow {
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

pub fn metrics_table(rows: &[inscl_evaluate::metrics::MetricRow]) -> Result<arrow::array::RecordBatch, PipelineError> {
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Schema::new(vec![
        Field::new("order", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("stage", DataType::Int64, true),
        Field::new("category", DataType::Utf8, true),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
    ]);
    let cols: Vec<arrow::array::ArrayRef> = vec![
        std::sync::Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.order))),
        std::sync::Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.method))),
        std::sync::Arc::new(rows.iter().map(|r| r.stage.map(|s| s as i64)).collect::<Int64Array>()),
        std::sync::Arc::new(rows.iter().map(|r| r.category.as_deref()).collect::<StringArray>()),
        std::sync::Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.metric))),
        std::sync::Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.value))),
    ];
    arrow::array::RecordBatch::try_new(std::sync::Arc::new(schema), cols)
        .map_err(|e| PipelineError::Invalid(format!("metrics table: {e}")))
}
