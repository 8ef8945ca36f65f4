use crate::error::DagError;
use crate::graph::Graph;
use inscl_store::{Artifact, RunRecordEntry, Store};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub enum InstanceState {
    Cached,
    /// Never built for this pipeline.
    Missing,
    /// The last run built another key for this instance; the reasons say what changed.
    Stale(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct StatusLine {
    pub id: String,
    pub stage: String,
    pub key: Option<String>,
    pub state: InstanceState,
}

/// Dotted paths of the leaves that differ between two JSON values.
fn changed_paths(prefix: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value::Object;
    match (a, b) {
        (Object(x), Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => changed_paths(&p, u, v, out),
                    (Some(u), None) => out.push(format!("{p} removed (was {u})")),
                    (None, Some(v)) => out.push(format!("{p} added ({v})")),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(format!("{} {a} → {b}", if prefix.is_empty() { "params" } else { prefix })),
        _ => {}
    }
}

fn why_stale(prev: &RunRecordEntry, version: &str, params: &serde_json::Value, inputs: Option<&[inscl_store::InputRef]>) -> Vec<String> {
    let mut why = Vec::new();
    if prev.version != version {
        why.push(format!("stage version {} → {version}", prev.version));
    }
    let mut params_changed = Vec::new();
    changed_paths("", &prev.params, params, &mut params_changed);
    why.extend(params_changed.into_iter().map(|p| format!("param {p}")));
    match inputs {
        Some(inputs) => {
            for i in inputs {
                match prev.inputs.iter().find(|p| p.role == i.role) {
                    Some(p) if p.content != i.content => why.push(format!(
                        "input '{}' changed ({} → {})",
                        i.role,
                        p.content.short(),
                        i.content.short()
                    )),
                    None => why.push(format!("input '{}' is new", i.role)),
                    _ => {}
                }
            }
        }
        None => why.push("an input will be rebuilt first".into()),
    }
    if why.is_empty() {
        why.push("the artifact of the last run is gone from the store (gc, quarantine or deletion)".into());
    }
    why
}

/// Each stage instance as cached, missing or stale, and why. Reads only; builds nothing.
pub fn status(store: &Store, pipeline: &str, graph: &Graph) -> Result<Vec<StatusLine>, DagError> {
    let record = store.load_run_record(pipeline)?.unwrap_or_default();
    let mut built: Vec<Option<Artifact>> = vec![None; graph.nodes.len()];
    let mut lines = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let prev = record.entries.get(&node.id);
        let (key, state) = match graph.spec(i, &built) {
            Ok(spec) => {
                let key = spec.key();
                built[i] = store.peek(node.stage, &key);
                let state = match (&built[i], prev) {
                    (Some(_), _) => InstanceState::Cached,
                    (None, None) => InstanceState::Missing,
                    (None, Some(p)) => InstanceState::Stale(why_stale(p, node.version, &node.params, Some(&spec.inputs))),
                };
                (Some(key.hex()), state)
            }
            Err(_) => {
                let state = match prev {
                    None => InstanceState::Missing,
                    Some(p) => InstanceState::Stale(why_stale(p, node.version, &node.params, None)),
                };
                (None, state)
            }
        };
        lines.push(StatusLine { id: node.id.clone(), stage: node.stage.to_string(), key, state });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_paths_names_leaves() {
        let a = serde_json::json!({"ingest": {"seed": 1, "test_fraction": 0.2}, "mapping": {"default": "Misc"}});
        let b = serde_json::json!({"ingest": {"seed": 2, "test_fraction": 0.2}, "extra": true});
        let mut out = Vec::new();
        changed_paths("", &a, &b, &mut out);
        assert_eq!(out, vec!["extra added (true)", "ingest.seed 1 → 2", "mapping removed (was {\"default\":\"Misc\"})"]);
    }
}
