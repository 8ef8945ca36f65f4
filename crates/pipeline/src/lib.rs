//! The InsCL pipeline: a TOML file names the dataset, the category mapping, the training orders, the replay
//! methods and the hyper-parameters; this crate expands it into a DAG of stage instances (ingest → annotate,
//! embed → distance, insinfo → sample → finetune → evaluate → report) and runs the ones whose content-keyed
//! artifact is not in the store yet.

mod config;
mod device;
mod error;
mod graph;
mod runner;
mod sections;
mod stages;
mod tables;
mod status;
mod validate;

pub use config::{DatasetConfig, Pipeline};
pub use device::{DeviceChoice, DeviceKind, LIBTORCH_VERSION, Precision};
pub use sections::{SectionProblem, Sections};
pub use stages::FinetuneParams;
pub use validate::Wanted;
pub use error::PipelineError;
pub use graph::{Graph, Node, NodeInput, Resolved, StageCtx};
pub use runner::{NodeReport, RunOptions, RunSummary, default_jobs, run};
pub use stages::{build_graph, ingest_node};
pub use status::{InstanceState, StatusLine, status};
