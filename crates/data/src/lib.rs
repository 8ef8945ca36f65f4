//! Data ingest for InsCL: reads instruction tasks in the natural-instructions (SuperNI) format and assigns each
//! task to one of the 16 InsCL task categories (Classification, Detection, ..., Open_QA, Misc). It produces the
//! two tables every later stage starts from:
//!
//! * `instances`: one row per instance, with a seeded 20 % per-task hold-out as the test split;
//! * `instructions`: one row per distinct instruction (task definition) with `weight`, its share of its
//!   category's train instances. These are the point masses of the paper's Wasserstein distance.
//!
//! The `synth` module generates the CPU default dataset in the same format, so one ingest path reads both.

mod error;
mod ingest;
mod mapping;
mod task_file;
pub mod synth;

pub use error::DataError;
pub use ingest::{FilesFn, IngestOutput, IngestParams, IngestReport, SourceFiles, ingest, is_source_file};
pub use mapping::{CategoryMapping, QaSplit, SUPERNI16_NAME};
pub use task_file::{ParsedTask, TaskFile, TaskInstance, parse_task};
