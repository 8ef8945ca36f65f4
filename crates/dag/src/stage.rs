use crate::error::StageError;
use crate::graph::{Graph, Node, NodeInput, StageCtx};
use inscl_store::Outputs;
use std::sync::Arc;

/// One stage, as a value: its typed params (everything besides the inputs that changes its outputs) and the
/// runtime knobs it needs to run (devices, save cadence, batch sizes that do not change results), which stay out
/// of the key. The key's params are the serde value of [`Stage::Params`] — the one typed value hashed, never
/// JSON assembled beside it.
pub trait Stage: Send + Sync + 'static {
    /// The store folder and the word of `--only`.
    const NAME: &'static str;
    /// Bump when the outputs for the same inputs and params change.
    const VERSION: &'static str;
    type Params: serde::Serialize;
    /// The stage's own error; the runner keeps it as the source of the instance's failure.
    type Error: std::error::Error + Send + Sync + 'static;
    fn params(&self) -> &Self::Params;
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, Self::Error>;
}

/// The node of instance `id` of `stage`: its params serialised once, as the key's params.
pub fn node_of<S: Stage>(id: String, stage: S, inputs: Vec<(String, NodeInput)>) -> Node {
    let params = serde_json::to_value(stage.params()).expect("stage params serialise to JSON");
    let stage = Arc::new(stage);
    Node { id, stage: S::NAME, version: S::VERSION, params, inputs, run: Arc::new(move |ctx| stage.run(ctx).map_err(StageError::from)) }
}

/// Adds instance `id` of `stage` (or finds the one of the same id: two expansions that reach the same
/// instance share it).
pub fn add<S: Stage>(g: &mut Graph, id: String, stage: S, inputs: Vec<(String, NodeInput)>) -> usize {
    match g.find(&id) {
        Some(i) => i,
        None => g.push(node_of(id, stage, inputs)),
    }
}
