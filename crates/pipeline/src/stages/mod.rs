use crate::config::Pipeline;
use crate::error::PipelineError;
use crate::graph::{Graph, Node, NodeInput, Resolved};
use inscl_data::{CategoryMapping, IngestParams, is_source_file};
use inscl_store::{Outputs, SourceTree};
use std::path::Path;
use std::sync::Arc;

/// Bump when ingest's output for the same input and params changes.
const INGEST_VERSION: &str = "1";

/// The ingest stage instance of a dataset folder: reads `tasks/*.json` and `splits/default/*_tasks.txt`.
pub fn ingest_node(dataset: &Path, mapping: &CategoryMapping, params: &IngestParams) -> Result<Node, PipelineError> {
    let tree = Arc::new(SourceTree::read(dataset, is_source_file)?);
    let params_json = serde_json::json!({ "mapping": mapping, "ingest": params });
    let (mapping, params) = (mapping.clone(), params.clone());
    let root = dataset.display().to_string();
    Ok(Node {
        id: "ingest".into(),
        stage: "ingest",
        version: INGEST_VERSION,
        params: params_json,
        inputs: vec![("source".into(), NodeInput::Source(tree))],
        run: Arc::new(move |inputs| {
            let Some(Resolved::Source(tree)) = inputs.get("source") else {
                return Err(PipelineError::Invalid("ingest needs its source folder".into()));
            };
            let out = inscl_data::ingest(&root, &tree.files, &mapping, &params)?;
            let report = serde_json::to_value(&out.report).expect("report serialises");
            Ok(Outputs::default()
                .table("instances", out.instances)
                .table("instructions", out.instructions)
                .table("tasks", out.tasks)
                .note("ingest_report", report))
        }),
    })
}

/// The DAG of a pipeline. Today it holds the stages that exist; `PLANNED_STAGES` lists the rest.
pub fn build_graph(pipeline: &Pipeline) -> Result<Graph, PipelineError> {
    let mut g = Graph::default();
    g.push(ingest_node(&pipeline.dataset.path, &pipeline.dataset.mapping, &pipeline.dataset.ingest)?);
    Ok(g)
}
