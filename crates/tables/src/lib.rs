//! The tables InsCL's stages hand each other, each defined once: a row type per artifact table with the one
//! writer ([`Table::encode`]) its producer uses and the one reader ([`Table::decode`]) every consumer uses, so a
//! schema cannot drift between the two ends.
//!
//! | table | rows | written by |
//! |---|---|---|
//! | `instances` | [`InstanceRow`]: every instance, train or test | ingest |
//! | `instructions` | [`InstructionRow`]: an instruction and its W mass | ingest |
//! | `tags` | [`TagRow`]: intention tags (InsInfo's input) | annotate |
//! | `embeddings` | [`InstructionVector`], [`TagVector`], [`InstanceVector`] | embed |
//! | `distances` | [`DistanceRow`]: W(a, b) | distance |
//! | `insinfo`, `merges` | [`InsInfoRow`], [`MergeRow`] | insinfo |
//! | `replay`, `train_mix` | [`ReplayRow`], [`TrainMixRow`] | sample |
//! | `test` | [`TestRow`] | testset |
//! | `predictions` | [`PredictionRow`]: greedy answers and their Rouge-L | evaluate |
//! | `metrics` | [`MetricRow`]: R, RG, FG, BWT, ... | metrics |
//!
//! Nulls are treated one way everywhere: a column is nullable only where its row type has an `Option`, and a
//! null anywhere else is refused with the table, row and field.

mod columns;
mod rows;

pub use columns::{Columns, TableBuilder};
pub use rows::*;

use arrow::record_batch::RecordBatch;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table '{table}': no column '{column}'")]
    NoColumn { table: &'static str, column: String },
    #[error("table '{table}': column '{column}' is {found}, not {expected}")]
    Type { table: &'static str, column: String, found: String, expected: &'static str },
    #[error("table '{table}': row {row}, field '{column}': {problem}")]
    Value { table: &'static str, row: usize, column: String, problem: String },
    #[error("table '{table}': {source}")]
    Arrow { table: &'static str, source: arrow::error::ArrowError },
}

/// One artifact table: its file name (`<NAME>.parquet`) and its schema, by way of its row type.
pub trait Table: Sized {
    const NAME: &'static str;
    fn encode(rows: &[Self]) -> Result<RecordBatch, TableError>;
    fn decode(batch: &RecordBatch) -> Result<Vec<Self>, TableError>;
}
