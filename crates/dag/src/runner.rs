use crate::error::{DagError, StageError};
use crate::graph::{Executor, Graph, NodeInput, Resolved, StageCtx};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use inscl_store::{Artifact, BuildOutcome, RunRecord, RunRecordEntry, Spec, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run only the instances of these stages (comma-separated); their other inputs must already be in the store.
    pub only: Option<String>,
    /// Rebuild the instances of these stages even when cached.
    pub force: Vec<String>,
    /// Say what would run, run nothing.
    pub dry_run: bool,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
    /// With `only`: run just the instances whose id has every one of these segments (an order, a method).
    pub filter: Vec<String>,
    /// Stage instances to run at once; 0 or 1 runs them one by one.
    pub jobs: usize,
    /// A remote executor's worker: build exactly these instances (ids), whose inputs are in the store or among
    /// them. Only their ancestors are looked at, and the run record is left to the driver that submitted them.
    pub instances: Vec<String>,
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

    /// Instances whose artifact was already in the store.
    pub fn cached(&self) -> usize {
        self.nodes.iter().filter(|n| matches!(n.outcome, Outcome::Cached | Outcome::BuiltByOther)).count()
    }

    /// Instances a dry run would build.
    pub fn would_build(&self) -> usize {
        self.nodes.iter().filter(|n| matches!(n.outcome, Outcome::WouldBuild | Outcome::WouldBuildAfter(_))).count()
    }

    /// Built instances per stage, in graph order of first appearance.
    pub fn built_by_stage(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for n in self.nodes.iter().filter(|n| n.outcome.did_work()) {
            match out.iter_mut().find(|(s, _)| *s == n.stage) {
                Some((_, c)) => *c += 1,
                None => out.push((n.stage.clone(), 1)),
            }
        }
        out
    }
}

fn outputs_of(a: &Artifact) -> Vec<(String, PathBuf)> {
    a.manifest.outputs.iter().map(|o| (o.name.clone(), a.dir.join(&o.file))).collect()
}

/// What the scheduler knows while a run is in flight.
struct Shared {
    built: Vec<Option<Artifact>>,
    /// 0 = waiting, 1 = running, 2 = done.
    state: Vec<u8>,
    reports: Vec<Option<NodeReport>>,
    record: RunRecord,
    error: Option<DagError>,
    last_saved: Instant,
}

/// The part of a node's work that needs the results of its inputs: decided under the scheduler's lock.
enum Plan {
    Done(Option<Artifact>, NodeReport, Option<RunRecordEntry>),
    Build { spec: Spec, inputs: BTreeMap<String, Resolved>, cached: bool, force: bool },
}

fn selected(node: &crate::graph::Node, opts: &RunOptions) -> bool {
    if !opts.instances.is_empty() {
        return opts.instances.iter().any(|id| *id == node.id);
    }
    opts.only.as_deref().is_none_or(|s| s.split(',').any(|x| x == node.stage)) && opts.filter.iter().all(|f| node.id.split('/').any(|seg| seg == f))
}

fn report(node: &crate::graph::Node, key: Option<String>, outcome: Outcome, artifact: Option<&Artifact>, wall_s: f64) -> NodeReport {
    NodeReport {
        id: node.id.clone(),
        stage: node.stage.into(),
        key,
        outputs: artifact.map(outputs_of).unwrap_or_default(),
        notes: artifact.map(|a| a.manifest.notes.clone()).unwrap_or_default(),
        outcome,
        wall_s,
    }
}

fn entry(node: &crate::graph::Node, spec: &Spec, a: &Artifact) -> RunRecordEntry {
    RunRecordEntry {
        stage: node.stage.to_string(),
        version: node.version.to_string(),
        key: a.key().to_string(),
        params: node.params.clone(),
        inputs: spec.inputs.clone(),
        content: a.content(),
    }
}

fn plan(store: &Store, graph: &Graph, i: usize, built: &[Option<Artifact>], opts: &RunOptions) -> Result<Plan, DagError> {
    let node = &graph.nodes[i];
    let selected = selected(node, opts);
    let spec = match graph.spec(i, built) {
        Ok(spec) => spec,
        Err(missing) if opts.dry_run || !selected => {
            let outcome = if selected { Outcome::WouldBuildAfter(missing) } else { Outcome::Skipped };
            return Ok(Plan::Done(None, report(node, None, outcome, None, 0.0), None));
        }
        Err(missing) => {
            return Err(DagError::Input(format!(
                "{} needs {missing}, which is not in the store; run without --only first",
                node.id
            )));
        }
    };
    let key = spec.key();
    let cached = store.peek(node.stage, &key);
    let force = opts.force.iter().any(|s| s == node.stage);
    if opts.dry_run || !selected {
        let outcome = match (&cached, selected) {
            (Some(_), _) if !(force && selected && opts.dry_run) => Outcome::Cached,
            (_, true) => Outcome::WouldBuild,
            // Not selected and not cached: a selected consumer will say that it lacks this input.
            _ => Outcome::Skipped,
        };
        let entry = match (&cached, opts.dry_run) {
            (Some(a), false) => Some(entry(node, &spec, a)),
            _ => None,
        };
        let r = report(node, Some(key.hex()), outcome, cached.as_ref(), 0.0);
        return Ok(Plan::Done(cached, r, entry));
    }
    Ok(Plan::Build { inputs: graph.resolve_inputs(i, built), cached: cached.is_some(), force, spec })
}

fn build(
    store: &Store,
    node: &crate::graph::Node,
    spec: &Spec,
    inputs: &BTreeMap<String, Resolved>,
    (cached, force): (bool, bool),
    multi: &MultiProgress,
    show: bool,
    exec: &dyn Executor,
) -> Result<(Artifact, NodeReport, RunRecordEntry), StageError> {
    let started = Instant::now();
    let key = spec.key();
    let (a, o) = store.build_with::<StageError>(spec, force, |staging| {
        let ctx = StageCtx { inputs, store, stage: node.stage, key: key.hex(), progress: multi, show_progress: show, staging };
        exec.run(node, &ctx)
    })?;
    store.remove_scratch_dir(node.stage, &key.hex())?;
    let outcome = match o {
        BuildOutcome::Cached => Outcome::Cached,
        BuildOutcome::Built if force && cached => Outcome::Forced,
        BuildOutcome::Built => Outcome::Built,
        BuildOutcome::BuiltByOther => Outcome::BuiltByOther,
        BuildOutcome::Rebuilt { reason } => Outcome::Rebuilt(reason),
    };
    let r = report(node, Some(key.hex()), outcome, Some(&a), started.elapsed().as_secs_f64());
    let e = entry(node, spec, &a);
    Ok((a, r, e))
}

/// Runs every instance of `graph` that the store lacks and records the run under `pipeline`, so that `status`
/// can explain staleness and `gc` knows what is live. Up to `opts.jobs` instances whose inputs are ready run at
/// once, lowest graph index first; the summary lists them in graph order whatever order they finished in.
/// `exec` computes each instance to build.
pub fn run(store: &Store, pipeline: &str, graph: &Graph, opts: &RunOptions, exec: &dyn Executor) -> Result<RunSummary, DagError> {
    let stages = graph.stages();
    for s in opts.only.iter().flat_map(|o| o.split(',')).chain(opts.force.iter().map(String::as_str)) {
        if !stages.contains(&s) {
            return Err(DagError::UnknownStage(s.to_string(), stages.join(", ")));
        }
    }
    let n = graph.nodes.len();
    // A worker's instances and their ancestors; every other node is skipped without a look at the store.
    let mut wanted = vec![opts.instances.is_empty(); n];
    for id in &opts.instances {
        let i = graph.find(id).ok_or_else(|| DagError::UnknownInstance(id.clone()))?;
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            if !std::mem::replace(&mut wanted[j], true) {
                stack.extend(graph.nodes[j].inputs.iter().filter_map(|(_, x)| if let NodeInput::Node(k) = x { Some(*k) } else { None }));
            }
        }
    }
    let mut record = store.load_run_record(pipeline)?.unwrap_or_default();
    record.pipeline = pipeline.to_string();
    let deps: Vec<Vec<usize>> = graph
        .nodes
        .iter()
        .map(|node| node.inputs.iter().filter_map(|(_, i)| if let NodeInput::Node(j) = i { Some(*j) } else { None }).collect())
        .collect();
    let multi = MultiProgress::new();
    let show = opts.progress && !opts.dry_run;
    let bar = if show { multi.add(ProgressBar::new(n as u64)) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg} ({per_sec}, eta {eta})")
            .expect("valid template"),
    );
    let shared = Mutex::new(Shared {
        built: vec![None; n],
        state: vec![0; n],
        reports: vec![None; n],
        record,
        error: None,
        last_saved: Instant::now(),
    });
    let wake = Condvar::new();
    let jobs = if opts.dry_run { 1 } else { opts.jobs.max(1) };
    let worker = || {
        let mut guard = shared.lock().expect("scheduler lock");
        loop {
            if guard.error.is_some() || guard.state.iter().all(|&s| s == 2) {
                return;
            }
            let ready = (0..n).find(|&i| guard.state[i] == 0 && deps[i].iter().all(|&j| guard.state[j] == 2));
            let Some(i) = ready else {
                guard = wake.wait(guard).expect("scheduler lock");
                continue;
            };
            guard.state[i] = 1;
            let node = &graph.nodes[i];
            bar.set_message(node.id.clone());
            let planned = if wanted[i] {
                plan(store, graph, i, &guard.built, opts)
            } else {
                Ok(Plan::Done(None, report(node, None, Outcome::Skipped, None, 0.0), None))
            };
            let outcome = match planned {
                Ok(Plan::Done(a, r, e)) => Ok((a, r, e)),
                Ok(Plan::Build { spec, inputs, cached, force }) => {
                    drop(guard);
                    // The instance is attached here, once, whatever the stage's error was.
                    let result = build(store, node, &spec, &inputs, (cached, force), &multi, show, exec)
                        .map_err(|source| DagError::Stage { instance: node.id.clone(), source });
                    guard = shared.lock().expect("scheduler lock");
                    result.map(|(a, r, e)| (Some(a), r, Some(e)))
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok((a, r, e)) => {
                    if let Some(e) = e {
                        guard.record.entries.insert(node.id.clone(), e);
                    }
                    guard.built[i] = a;
                    guard.reports[i] = Some(r);
                    guard.state[i] = 2;
                    // The record grows with the graph, so it is written now and then and at the end.
                    if !opts.dry_run && opts.instances.is_empty() && guard.last_saved.elapsed().as_secs() >= 10 {
                        if let Err(e) = store.save_run_record(&guard.record) {
                            guard.error.get_or_insert(e.into());
                        }
                        guard.last_saved = Instant::now();
                    }
                    bar.inc(1);
                }
                Err(e) => {
                    guard.error.get_or_insert(e);
                }
            }
            wake.notify_all();
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..jobs {
            scope.spawn(worker);
        }
        worker();
    });
    bar.finish_and_clear();
    let shared = shared.into_inner().expect("scheduler lock");
    if !opts.dry_run && opts.instances.is_empty() {
        // Also after a failure: what this run did build stays referenced, so gc does not collect it.
        store.save_run_record(&shared.record)?;
    }
    let done = RunSummary { nodes: shared.reports.into_iter().flatten().collect() };
    if let Some(e) = shared.error {
        let not_run = n.saturating_sub(done.nodes.len() + 1);
        return Err(DagError::Stopped { done: Box::new(done), not_run, source: Box::new(e) });
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
