//! The report stage: report.md and its PNGs, from the metrics artifacts of every (order, method) and nothing
//! else. `inscl report` copies the artifact's files to `report/<pipeline>/`.

use super::{PipelineCtx, node};
use crate::error::PipelineError;
use crate::graph::{Graph, NodeInput, StageCtx};
use crate::tables::{f64s, strings};
use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use inscl_evaluate::metrics::MetricRow;
use inscl_report::{ArtifactRef, ParamsFormat, ReportInput, render_report};
use inscl_store::Outputs;

const VERSION: &str = "2";

fn read_rows(ctx: &StageCtx, role: &str) -> Result<Vec<MetricRow>, PipelineError> {
    let t = ctx.artifact(role)?.table("metrics")?;
    let name = "metrics";
    let (order, method, metric, value) = (strings(&t, name, "order")?, strings(&t, name, "method")?, strings(&t, name, "metric")?, f64s(&t, name, "value")?);
    let stage = t.column_by_name("stage").and_then(|c| c.as_primitive_opt::<Int64Type>().cloned());
    let cat = t.column_by_name("category").and_then(|c| c.as_string_opt::<i32>().cloned());
    let (Some(stage), Some(cat)) = (stage, cat) else {
        return Err(PipelineError::Invalid(format!("{role}: metrics table without stage/category columns")));
    };
    Ok((0..value.len())
        .map(|i| MetricRow {
            order: order[i].clone(),
            method: method[i].clone(),
            stage: (!stage.is_null(i)).then(|| stage.value(i) as usize),
            category: (!cat.is_null(i)).then(|| cat.value(i).to_string()),
            metric: metric[i].clone(),
            value: value[i],
        })
        .collect())
}

pub fn push(g: &mut Graph, p: &PipelineCtx, metrics: &[usize]) -> usize {
    let inputs: Vec<(String, NodeInput)> = metrics.iter().map(|&m| (g.nodes[m].id.clone(), NodeInput::Node(m))).collect();
    let name = p.pipeline.name.clone();
    // The report shows the pipeline as written; the file's text is its parameter record.
    let params_text = std::fs::read_to_string(&p.pipeline.file).unwrap_or_default();
    let params = serde_json::json!({ "pipeline": name, "file": params_text });
    node(g, "report".into(), "report", VERSION, params, inputs, move |ctx| {
        let mut rows = Vec::new();
        let mut artifacts = Vec::new();
        for (role, a) in ctx.artifacts_with_prefix("metrics/") {
            rows.extend(read_rows(ctx, role)?);
            artifacts.push(ArtifactRef { label: role.to_string(), stage: "metrics".into(), key: a.key().to_string() });
        }
        let input = ReportInput { pipeline: name.clone(), params: params_text.clone(), params_format: ParamsFormat::Toml, rows, artifacts };
        let files = render_report(&input).map_err(|e| PipelineError::Invalid(format!("report: {e}")))?;
        Ok(files.into_iter().fold(Outputs::default(), |o, (path, bytes)| o.file(path, bytes)))
    })
}
