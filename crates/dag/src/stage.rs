use crate::graph::{Graph, Node, NodeInput};
use std::sync::Arc;

/// One stage, as a value: its typed params (everything besides the inputs that changes its outputs) and the
/// runtime knobs it needs to run (devices, save cadence, batch sizes that do not change results), which stay out
/// of the key. The key's params are the serde value of [`Stage::Params`] — the one typed value hashed, never
/// JSON assembled beside it. What computes a stage is not here but in an [`crate::Executor`], so that planning
/// a graph (keys, `status`, `--dry-run`) needs none of the stages' heavy dependencies.
pub trait Stage: Send + Sync + 'static {
    /// The store folder and the word of `--only`.
    const NAME: &'static str;
    /// Bump when the outputs for the same inputs and params change.
    const VERSION: &'static str;
    type Params: serde::Serialize;
    fn params(&self) -> &Self::Params;
}

/// The node of instance `id` of `stage`: its params serialised once, as the key's params.
pub fn node_of<S: Stage>(id: String, stage: S, inputs: Vec<(String, NodeInput)>) -> Node {
    let params = serde_json::to_value(stage.params()).expect("stage params serialise to JSON");
    Node { id, stage: S::NAME, version: S::VERSION, params, inputs, value: Arc::new(stage) }
}

/// Adds instance `id` of `stage` (or finds the one of the same id: two expansions that reach the same
/// instance share it).
pub fn add<S: Stage>(g: &mut Graph, id: String, stage: S, inputs: Vec<(String, NodeInput)>) -> usize {
    match g.find(&id) {
        Some(i) => i,
        None => g.push(node_of(id, stage, inputs)),
    }
}

/// Implements [`Stage`] for a stage value whose key is its `params` field:
/// `impl_stage!(Finetune, "finetune", FINETUNE_VERSION, FinetuneParams);`.
#[macro_export]
macro_rules! impl_stage {
    ($ty:ty, $name:expr, $version:expr, $params:ty) => {
        impl $crate::Stage for $ty {
            const NAME: &'static str = $name;
            const VERSION: &'static str = $version;
            type Params = $params;

            fn params(&self) -> &$params {
                &self.params
            }
        }
    };
}
