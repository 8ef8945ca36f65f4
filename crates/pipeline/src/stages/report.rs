//! The report stage: report.md and its PNGs, from the metrics artifacts of every (order, method) and nothing
//! else. `inscl report` copies the artifact's files to `report/<pipeline>/`.

use super::PipelineCtx;
use inscl_dag::add;
use inscl_sample::ReplayMethod;
use std::collections::BTreeMap;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::tables::read;
use inscl_tables::MetricRow;
use inscl_report::{ArtifactRef, ParamsFormat, ReportInput, render_report};
use inscl_store::Outputs;

// 4: seeds with confidence intervals, significance, zero-shot, FWT, the joint bound and flagged bounds.
const VERSION: &str = "4";

/// The settings a report shows: what decides its numbers, as typed values. Runtime knobs (devices, save cadence,
/// batch sizes, request concurrency) and comments are left out, so changing them leaves the report cached.
#[derive(serde::Serialize)]
pub struct ReportParams {
    pipeline: String,
    description: String,
    methods: Vec<ReplayMethod>,
    experts: bool,
    seeds: Vec<u64>,
    joint: bool,
    orders: BTreeMap<String, Vec<String>>,
    settings: serde_json::Value,
}

fn report_params(p: &PipelineCtx) -> ReportParams {
    let pl = &p.pipeline;
    let mut settings = serde_json::json!({
        "dataset": { "test_fraction": pl.dataset.ingest.test_fraction, "seed": pl.dataset.ingest.seed,
                     "max_per_task": pl.dataset.ingest.max_per_task },
        "annotate": p.sections.annotate, "embed": p.sections.embed, "distance": p.sections.distance,
        "insinfo": p.sections.insinfo, "replay": p.sections.replay, "model": p.sections.model,
        "finetune": p.sections.finetune, "evaluate": p.sections.evaluate,
        "ewc": p.sections.ewc, "lwf": p.sections.lwf,
    });
    // With `seeds`, each replicate sets these itself; the file's value is not what ran.
    if pl.seeded {
        for (section, key) in [("replay", "seed"), ("finetune", "seed"), ("model", "init_seed")] {
            settings[section].as_object_mut().map(|o| o.remove(key));
        }
    }
    for (section, key) in [
        ("annotate", "concurrency"),
        ("embed", "batch_size"),
        ("finetune", "save_every_secs"),
        ("finetune", "device"),
        ("finetune", "gradient_checkpointing"),
        ("evaluate", "batch_size"),
        ("evaluate", "device"),
    ] {
        settings[section].as_object_mut().map(|o| o.remove(key));
    }
    ReportParams {
        pipeline: pl.name.clone(),
        description: pl.description.clone(),
        methods: pl.methods.clone(),
        experts: pl.experts,
        seeds: pl.seeds.clone(),
        joint: pl.joint,
        orders: pl.orders.clone(),
        settings,
    }
}

pub struct Report {
    params: ReportParams,
}

inscl_dag::impl_stage!(Report, "report", VERSION, ReportParams);

impl Report {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let mut rows = Vec::new();
        let mut artifacts = Vec::new();
        for (role, a) in ctx.artifacts_with_prefix("metrics/") {
            rows.extend(read::<MetricRow>(a)?);
            artifacts.push(ArtifactRef { label: role.to_string(), stage: "metrics".into(), key: a.key().to_string() });
        }
        let text = serde_json::to_string_pretty(&self.params).expect("report params serialise");
        let input =
            ReportInput { pipeline: self.params.pipeline.clone(), params: text, params_format: ParamsFormat::Json, rows, artifacts };
        let files = render_report(&input)?;
        Ok(files.into_iter().fold(Outputs::default(), |o, (path, bytes)| o.file(path, bytes)))
    }
}

pub fn push(g: &mut Graph, p: &PipelineCtx, metrics: &[usize]) -> usize {
    let inputs: Vec<(String, NodeInput)> = metrics.iter().map(|&m| (g.nodes[m].id.clone(), NodeInput::Node(m))).collect();
    add(g, "report".into(), Report { params: report_params(p) }, inputs)
}
