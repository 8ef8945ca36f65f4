use crate::error::PipelineError;
use inscl_store::{Artifact, InputRef, Outputs, SourceTree, Spec};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a stage instance's input comes from: an earlier node of the graph, or an external folder read into
/// memory (the dataset), whose content hash stands in for an artifact's.
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

pub type StageFn = Arc<dyn Fn(&BTreeMap<String, Resolved>) -> Result<Outputs, PipelineError> + Send + Sync>;

/// One stage instance: a pure function of its inputs and params.
#[derive(Clone)]
pub struct Node {
    /// Unique within the pipeline: `ingest`, `sample/curriculum/inscl/3`, ...
    pub id: String,
    pub stage: &'static str,
    pub version: &'static str,
    pub params: serde_json::Value,
    pub inputs: Vec<(String, NodeInput)>,
    pub run: StageFn,
}

/// Nodes in topological order: a node's inputs always come before it.
#[derive(Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
}

impl Graph {
    pub fn push(&mut self, node: Node) -> usize {
        debug_assert!(node.inputs.iter().all(|(_, i)| !matches!(i, NodeInput::Node(j) if *j >= self.nodes.len())));
        self.nodes.push(node);
        self.nodes.len() - 1
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
