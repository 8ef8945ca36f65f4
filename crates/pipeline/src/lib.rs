//! The InsCL pipeline: a TOML file names the dataset, the category mapping, the training orders, the replay
//! methods and the hyper-parameters; this crate checks it whole, expands it into a DAG of InsCL stage
//! instances (ingest → annotate, embed → distance, insinfo → sample → finetune → evaluate → metrics → report),
//! each a typed [`inscl_dag::Stage`] whose params are its key. It plans and keys without libtorch: what
//! computes the stages that need models is `inscl-exec`, so that `status` and `--dry-run` start in milliseconds.

mod config;
mod device;
mod error;
pub mod executor;
mod jobs;
pub mod models;
pub mod sections;
pub mod stages;
pub mod tables;
mod validate;

pub use config::{DatasetConfig, Pipeline};
pub use device::{DeviceChoice, DeviceKind, LIBTORCH_VERSION, Precision, cuda_present};
pub use error::PipelineError;
pub use inscl_dag::{Graph, InstanceState, Node, NodeInput, NodeReport, Resolved, RunOptions, RunSummary, StageCtx, StatusLine, status};
pub use jobs::default_jobs;
pub use sections::{SectionProblem, Sections};
pub use stages::{FinetuneParams, build_graph, ingest_node};
pub use validate::Wanted;
