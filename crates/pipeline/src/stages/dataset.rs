//! The ingest artifact read back into typed rows, for the stages downstream of it.

use crate::error::PipelineError;
use crate::tables::read;
use inscl_store::Artifact;
use std::collections::BTreeMap;

pub use inscl_tables::{InstanceRow, InstructionRow};

pub fn instructions(ingest: &Artifact) -> Result<Vec<InstructionRow>, PipelineError> {
    read(ingest)
}

/// Instruction id → definition text: what the prompt `{definition}\n\n{input}\n\n` needs for each instance.
pub fn definitions(ingest: &Artifact) -> Result<BTreeMap<String, String>, PipelineError> {
    Ok(instructions(ingest)?.into_iter().map(|r| (r.id, r.text)).collect())
}

pub fn instances(ingest: &Artifact) -> Result<Vec<InstanceRow>, PipelineError> {
    read(ingest)
}
