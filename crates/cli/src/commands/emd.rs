use crate::error::CliError;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use inscl_distance::{PointSet, Solver, wasserstein};
use std::path::Path;

/// Points and optional weights of one Parquet file: an `embedding` column (list or fixed_size_list of float)
/// and an optional `weight` column.
pub(crate) struct Points {
    pub(crate) data: Vec<f32>,
    pub(crate) dim: usize,
    weights: Option<Vec<f64>>,
}

fn bad(path: &Path, what: String) -> CliError {
    CliError::Usage(format!("{}: {what}", path.display()))
}

pub(crate) fn read_points(path: &Path) -> Result<Points, CliError> {
    let (batch, _) = inscl_store::read_parquet_file(path)?;
    Ok(Points { weights: weights(path, &batch)?, ..embeddings(path, &batch)? })
}

fn embeddings(path: &Path, batch: &RecordBatch) -> Result<Points, CliError> {
    let col = batch.column_by_name("embedding").ok_or_else(|| bad(path, "no column 'embedding'".into()))?;
    // Every list flavour arrives as `list` (read_parquet_file); each row's length is checked against row 0's.
    let rows: Vec<Option<std::sync::Arc<dyn Array>>> = match col.data_type() {
        DataType::List(_) => col.as_list::<i32>().iter().collect(),
        other => return Err(bad(path, format!("column 'embedding' is {other}, not a list of floats"))),
    };
    let (mut data, mut dim) = (Vec::new(), None);
    for (row, value) in rows.into_iter().enumerate() {
        let value = value.ok_or_else(|| bad(path, format!("row {row}, field 'embedding': null")))?;
        let value = arrow::compute::cast(&value, &DataType::Float32)
            .map_err(|e| bad(path, format!("row {row}, field 'embedding': {e}")))?;
        let floats = value.as_primitive::<Float32Type>();
        if floats.null_count() > 0 {
            return Err(bad(path, format!("row {row}, field 'embedding': holds a null")));
        }
        match dim {
            None => dim = Some(floats.len()),
            Some(d) if d != floats.len() => {
                return Err(bad(path, format!("row {row}, field 'embedding': {} values, row 0 has {d}", floats.len())));
            }
            _ => {}
        }
        data.extend_from_slice(floats.values());
    }
    Ok(Points { data, dim: dim.unwrap_or(0), weights: None })
}

fn weights(path: &Path, batch: &RecordBatch) -> Result<Option<Vec<f64>>, CliError> {
    let Some(col) = batch.column_by_name("weight") else { return Ok(None) };
    let col = arrow::compute::cast(col, &DataType::Float64).map_err(|e| bad(path, format!("field 'weight': {e}")))?;
    let w = col.as_primitive::<Float64Type>();
    if let Some(row) = (0..w.len()).find(|&i| w.is_null(i)) {
        return Err(bad(path, format!("row {row}, field 'weight': null")));
    }
    Ok(Some(w.values().to_vec()))
}

fn point_set(p: &Points, uniform: bool) -> PointSet<'_> {
    match (&p.weights, uniform) {
        (Some(w), false) => PointSet::with_weights(&p.data, p.dim, w),
        _ => PointSet::new(&p.data, p.dim),
    }
}

/// `inscl emd`: W between two embedding files, printed with full (round-trip) precision.
pub fn emd(a: &Path, b: &Path, uniform: bool, solver: &Solver) -> Result<i32, CliError> {
    let (pa, pb) = (read_points(a)?, read_points(b)?);
    let w = wasserstein(&point_set(&pa, uniform), &point_set(&pb, uniform), solver).map_err(|e| CliError::Usage(format!("emd: {e}")))?;
    println!("{w}");
    Ok(0)
}
