use crate::error::{DagError, StageError};
use inscl_store::{Artifact, InputRef, Outputs, SourceTree, Spec, Staging, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a stage instance's input comes from: an earlier node of the graph, or an external folder (the
/// dataset, a model) scanned and hashed, whose content hash stands in for an artifact's.
#[derive(Clone)]
pub enum NodeInput {
    Node(usize),
    Source(Arc<SourceTree>),
}

/// An input handed to a stage function.
#[derive(Clone)]
pub enum Resolved {
    Artifact(Artifact),
    Source(Arc<SourceTree>),
}

/// What a stage function sees: its resolved inputs, and the few services of the run it may use (row caches,
/// a crash-surviving scratch folder and the artifact's staging folder, all owned by the store; progress bars).
pub struct StageCtx<'a> {
    pub inputs: &'a BTreeMap<String, Resolved>,
    pub store: &'a Store,
    pub stage: &'a str,
    pub key: String,
    pub progress: &'a indicatif::MultiProgress,
    pub show_progress: bool,
    /// The artifact's temp folder: large outputs are streamed there and declared with `Outputs::staged_file`.
    pub staging: &'a Staging,
}

impl StageCtx<'_> {
    /// Input `role`, artifact or source.
    fn input(&self, role: &str) -> Result<&Resolved, DagError> {
        self.inputs.get(role).ok_or_else(|| DagError::Input(format!("{} needs its input '{role}'", self.stage)))
    }

    pub fn artifact(&self, role: &str) -> Result<&Artifact, DagError> {
        match self.inputs.get(role) {
            Some(Resolved::Artifact(a)) => Ok(a),
            _ => Err(DagError::Input(format!("{} needs its input '{role}'", self.stage))),
        }
    }

    pub fn source(&self, role: &str) -> Result<&Arc<SourceTree>, DagError> {
        match self.inputs.get(role) {
            Some(Resolved::Source(t)) => Ok(t),
            _ => Err(DagError::Input(format!("{} needs its source '{role}'", self.stage))),
        }
    }

    /// The folder behind input `role`: an artifact's folder, or a source's root (a model folder given as a
    /// source). Model stages load from it.
    pub fn dir(&self, role: &str) -> Result<std::path::PathBuf, DagError> {
        Ok(match self.input(role)? {
            Resolved::Artifact(a) => a.dir.clone(),
            Resolved::Source(t) => t.root.clone(),
        })
    }

    /// The content hash of input `role`, artifact or source: what a row cache keys the input's identity by.
    pub fn content(&self, role: &str) -> Result<inscl_store::ContentHash, DagError> {
        Ok(match self.input(role)? {
            Resolved::Artifact(a) => a.content(),
            Resolved::Source(t) => t.content(),
        })
    }

    /// Inputs whose role starts with `prefix`, in role order.
    pub fn artifacts_with_prefix(&self, prefix: &str) -> Vec<(&str, &Artifact)> {
        self.inputs
            .iter()
            .filter_map(|(r, v)| match v {
                Resolved::Artifact(a) if r.starts_with(prefix) => Some((r.as_str(), a)),
                _ => None,
            })
            .collect()
    }

    /// Where to write output `name` by streaming (a checkpoint); declare it with `Outputs::staged_file(name)`.
    pub fn output_path(&self, name: &str) -> Result<std::path::PathBuf, DagError> {
        Ok(self.staging.path(name)?)
    }

    /// The folder [`StageCtx::output_path`] points into, for writers that fill a folder (a model saver); each
    /// file they write there must be declared with `Outputs::staged_file`.
    pub fn output_dir(&self) -> &std::path::Path {
        self.staging.dir()
    }

    pub fn scratch_dir(&self) -> Result<std::path::PathBuf, DagError> {
        Ok(self.store.scratch_dir(self.stage, &self.key)?)
    }

    /// A bar for a long step inside the stage (hidden when progress is off).
    pub fn bar(&self, len: u64, what: &str) -> indicatif::ProgressBar {
        if !self.show_progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = self.progress.add(indicatif::ProgressBar::new(len));
        bar.set_style(
            indicatif::ProgressStyle::with_template("  {msg:<28} {bar:30} {pos}/{len} ({per_sec}, eta {eta})")
                .expect("valid template"),
        );
        bar.set_message(what.to_string());
        bar
    }
}

/// A node's stage as the crate that built the graph typed it (a [`crate::Stage`] value: params and runtime
/// knobs). The graph only hashes it; an [`Executor`] downcasts it to run it, so that code which only plans
/// (`status`, `--dry-run`) never links what computes the stages (libtorch).
pub type StageValue = Arc<dyn std::any::Any + Send + Sync>;

/// One stage instance: a pure function of its inputs and params.
#[derive(Clone)]
pub struct Node {
    /// Unique within the pipeline: `ingest`, `sample/curriculum/inscl/3`, ...
    pub id: String,
    pub stage: &'static str,
    pub version: &'static str,
    pub params: serde_json::Value,
    pub inputs: Vec<(String, NodeInput)>,
    pub value: StageValue,
}

impl Node {
    /// The node's stage value as type `S`, if it is one.
    pub fn stage_as<S: 'static>(&self) -> Option<&S> {
        self.value.downcast_ref::<S>()
    }
}

/// What computes a node's outputs: the one list from stage to code, kept in the binary that links the stages'
/// dependencies. The runner calls it for each instance the store lacks.
pub trait Executor: Sync {
    fn run(&self, node: &Node, ctx: &StageCtx) -> Result<Outputs, StageError>;
}

impl<F: Fn(&Node, &StageCtx) -> Result<Outputs, StageError> + Sync> Executor for F {
    fn run(&self, node: &Node, ctx: &StageCtx) -> Result<Outputs, StageError> {
        self(node, ctx)
    }
}

/// Nodes in topological order: a node's inputs always come before it.
#[derive(Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    index: std::collections::HashMap<String, usize>,
}

impl Graph {
    /// Adds a node, or returns the existing node of the same id: ids name stage instances, so two
    /// expansions that reach the same instance (stage 1 of every method, an expert) share it.
    pub fn push(&mut self, node: Node) -> usize {
        debug_assert!(node.inputs.iter().all(|(_, i)| !matches!(i, NodeInput::Node(j) if *j >= self.nodes.len())));
        if let Some(&i) = self.index.get(&node.id) {
            return i;
        }
        self.index.insert(node.id.clone(), self.nodes.len());
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn stages(&self) -> Vec<&'static str> {
        let mut s: Vec<&'static str> = Vec::new();
        for n in &self.nodes {
            if !s.contains(&n.stage) {
                s.push(n.stage);
            }
        }
        s
    }

    /// The spec of node `i` given the artifacts built so far, or the id of the first input not built yet.
    pub fn spec(&self, i: usize, built: &[Option<Artifact>]) -> Result<Spec, String> {
        let node = &self.nodes[i];
        let mut spec = Spec::new(node.stage, node.version, node.params.clone());
        for (role, input) in &node.inputs {
            let r = match input {
                NodeInput::Node(j) => match &built[*j] {
                    Some(a) => InputRef { role: role.clone(), key: a.key().to_string(), content: a.content() },
                    None => return Err(self.nodes[*j].id.clone()),
                },
                NodeInput::Source(tree) => {
                    InputRef { role: role.clone(), key: format!("source:{}", tree.root.display()), content: tree.content() }
                }
            };
            spec.inputs.push(r);
        }
        Ok(spec)
    }

    pub fn resolve_inputs(&self, i: usize, built: &[Option<Artifact>]) -> BTreeMap<String, Resolved> {
        self.nodes[i]
            .inputs
            .iter()
            .map(|(role, input)| {
                let r = match input {
                    NodeInput::Node(j) => Resolved::Artifact(built[*j].clone().expect("inputs are built before their consumers")),
                    NodeInput::Source(tree) => Resolved::Source(tree.clone()),
                };
                (role.clone(), r)
            })
            .collect()
    }
}
