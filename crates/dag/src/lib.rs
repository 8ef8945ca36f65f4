//! The stage layer under InsCL's pipeline, generic over what the stages compute: a [`Stage`] is a pure function
//! from typed params and input artifacts to tables; a [`Graph`] holds its instances in topological order; the
//! runner builds the instances the content-addressed store lacks (in parallel, resumably, byte-identically
//! across `--jobs`), and [`status`] says what is cached, missing or stale and why. It knows nothing of LLMs or
//! of libtorch; it depends only on the store.

mod error;
mod graph;
mod runner;
mod stage;
mod status;

pub use error::{DagError, StageError};
pub use graph::{Executor, Graph, Node, NodeInput, Resolved, StageCtx, StageValue};
pub use runner::{NodeReport, Outcome, RunOptions, RunSummary, run};
pub use stage::{Stage, add, node_of};
pub use status::{InstanceState, StatusLine, status};
