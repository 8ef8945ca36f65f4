use crate::error::PipelineError;
use crate::graph::Graph;
use indicatif::{ProgressBar, ProgressStyle};
use inscl_store::{Artifact, BuildOutcome, RunRecordEntry, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run only the instances of this stage; their inputs must already be in the store.
    pub only: Option<String>,
    /// Rebuild the instances of these stages even when cached.
    pub force: Vec<String>,
    /// Say what would run, run nothing.
    pub dry_run: bool,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Cached,
    Built,
    BuiltByOther,
    Rebuilt(String),
    Forced,
    WouldBuild,
    /// Dry run: the key is unknown until this input is built.
    WouldBuildAfter(String),
    Skipped,
}

impl Outcome {
    pub fn did_work(&self) -> bool {
        matches!(self, Outcome::Built | Outcome::Rebuilt(_) | Outcome::Forced)
    }

    pub fn describe(&self) -> String {
        match self {
            Outcome::Cached => "cached".into(),
            Outcome::Built => "built".into(),
            Outcome::BuiltByOther => "cached (built by another process meanwhile)".into(),
            Outcome::Rebuilt(why) => format!("rebuilt (damaged: {why})"),
            Outcome::Forced => "rebuilt (--force)".into(),
            Outcome::WouldBuild => "would build".into(),
            Outcome::WouldBuildAfter(input) => format!("would build (after {input})"),
            Outcome::Skipped => "skipped (--only)".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NodeReport {
    pub id: String,
    pub stage: String,
    pub key: Option<String>,
    pub outcome: Outcome,
    pub wall_s: f64,
    /// (output name, file path) of the artifact.
    pub outputs: Vec<(String, PathBuf)>,
    /// The artifact's manifest notes (e.g. the ingest report), so callers need not reread the store.
    pub notes: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub nodes: Vec<NodeReport>,
}

impl RunSummary {
    pub fn built(&self) -> usize {
        self.nodes.iter().filter(|n| n.outcome.did_work()).count()
    }
}

fn outputs_of(a: &Artifact) -> Vec<(String, PathBuf)> {
    a.manifest.outputs.iter().map(|o| (o.name.clone(), a.dir.join(&o.file))).collect()
}

/// Runs every instance of `graph` that the store lacks, in topological order, and records the run under
/// `pipeline` so that `status` can explain staleness and `gc` knows what is live.
pub fn run(store: &Store, pipeline: &str, graph: &Graph, opts: &RunOptions) -> Result<RunSummary, PipelineError> {
    let stages = graph.stages();
    for s in opts.only.iter().chain(&opts.force) {
        if !stages.contains(&s.as_str()) {
            return Err(PipelineError::UnknownStage(s.clone(), stages.join(", ")));
        }
    }
    let mut record = store.load_run_record(pipeline)?.unwrap_or_default();
    record.pipeline = pipeline.to_string();
    let mut built: Vec<Option<Artifact>> = vec![None; graph.nodes.len()];
    let mut summary = RunSummary::default();
    let bar = if opts.progress && !opts.dry_run { ProgressBar::new(graph.nodes.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} ({per_sec}, eta {eta})")
            .expect("valid template"),
    );
    for (i, node) in graph.nodes.iter().enumerate() {
        bar.set_message(node.id.clone());
        let selected = opts.only.as_deref().is_none_or(|s| s == node.stage);
        let spec = match graph.spec(i, &built) {
            Ok(spec) => spec,
            Err(missing) if opts.dry_run => {
                summary.nodes.push(NodeReport {
                    id: node.id.clone(),
                    stage: node.stage.into(),
                    key: None,
                    outcome: if selected { Outcome::WouldBuildAfter(missing) } else { Outcome::Skipped },
                    wall_s: 0.0,
                    outputs: vec![],
                    notes: BTreeMap::new(),
                });
                continue;
            }
            Err(missing) => {
                return Err(PipelineError::Invalid(format!(
                    "{} needs {missing}, which is not in the store; run without --only first",
                    node.id
                )));
            }
        };
        let key = spec.key();
        let cached = store.peek(node.stage, &key);
        let force = opts.force.iter().any(|s| s == node.stage);
        let started = Instant::now();
        let (artifact, outcome) = if opts.dry_run || !selected {
            let outcome = match (&cached, selected) {
                (Some(_), _) if !(force && selected && opts.dry_run) => Outcome::Cached,
                (_, true) => Outcome::WouldBuild,
                // Not selected and not cached: a selected consumer will say that it lacks this input.
                _ => Outcome::Skipped,
            };
            (cached, outcome)
        } else {
            let inputs = graph.resolve_inputs(i, &built);
            let (a, o) = store.build_with(&spec, force, || (node.run)(&inputs))?;
            let outcome = match o {
                BuildOutcome::Cached => Outcome::Cached,
                BuildOutcome::Built if force && cached.is_some() => Outcome::Forced,
                BuildOutcome::Built => Outcome::Built,
                BuildOutcome::BuiltByOther => Outcome::BuiltByOther,
                BuildOutcome::Rebuilt { reason } => Outcome::Rebuilt(reason),
            };
            (Some(a), outcome)
        };
        if let (Some(a), false) = (&artifact, opts.dry_run) {
            record.entries.insert(
                node.id.clone(),
                RunRecordEntry {
                    stage: node.stage.to_string(),
                    version: node.version.to_string(),
                    key: a.key().to_string(),
                    params: node.params.clone(),
                    inputs: spec.inputs.clone(),
                    content: a.content(),
                },
            );
            store.save_run_record(&record)?;
        }
        summary.nodes.push(NodeReport {
            id: node.id.clone(),
            stage: node.stage.into(),
            key: Some(key.hex()),
            outputs: artifact.as_ref().map(outputs_of).unwrap_or_default(),
            notes: artifact.as_ref().map(|a| a.manifest.notes.clone()).unwrap_or_default(),
            outcome,
            wall_s: started.elapsed().as_secs_f64(),
        });
        built[i] = artifact;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(summary)
}

#[cfg(test)]
mod tests;
