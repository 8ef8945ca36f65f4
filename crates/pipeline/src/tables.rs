//! The artifact tables of [`inscl_tables`] read from and written to the store: one reader and one writer per
//! table, whatever stage produces or consumes it.

use crate::error::PipelineError;
use inscl_store::{Artifact, Outputs};
use inscl_tables::Table;

/// Table `T` of artifact `a`.
pub fn read<T: Table>(a: &Artifact) -> Result<Vec<T>, PipelineError> {
    let batch = a.table(T::NAME)?;
    T::decode(&batch).map_err(|e| PipelineError::Tables { artifact: format!("{}/{}", a.stage(), &a.key()[..12]), source: e })
}

/// `outputs` with table `T` of `rows` added.
pub fn write<T: Table>(outputs: Outputs, rows: &[T]) -> Result<Outputs, PipelineError> {
    let batch = T::encode(rows).map_err(|e| PipelineError::Tables { artifact: "(being built)".into(), source: e })?;
    Ok(outputs.table(T::NAME, batch))
}

/// Like [`write`], for a table about the build rather than its result (not part of the content hash).
pub fn write_volatile<T: Table>(outputs: Outputs, rows: &[T]) -> Result<Outputs, PipelineError> {
    let batch = T::encode(rows).map_err(|e| PipelineError::Tables { artifact: "(being built)".into(), source: e })?;
    Ok(outputs.volatile_table(T::NAME, batch))
}
