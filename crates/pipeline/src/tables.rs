//! Arrow adapters between the stage crates' plain structs and the artifacts' Parquet tables. Reading checks
//! each column's type and reports the table, the row and the field of anything malformed.

use crate::error::PipelineError;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, FixedSizeListBuilder, Float32Builder, Float64Array, Int64Array, ListBuilder,
    RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Float32Type, Schema};
use std::sync::Arc;

fn bad(table: &str, what: String) -> PipelineError {
    PipelineError::Invalid(format!("table '{table}': {what}"))
}

fn column<'a>(b: &'a RecordBatch, table: &str, name: &str) -> Result<&'a ArrayRef, PipelineError> {
    b.column_by_name(name).ok_or_else(|| bad(table, format!("no column '{name}'")))
}

pub fn strings(b: &RecordBatch, table: &str, name: &str) -> Result<Vec<String>, PipelineError> {
    let c = column(b, table, name)?;
    let a = c.as_string_opt::<i32>().ok_or_else(|| bad(table, format!("column '{name}' is {}, not utf8", c.data_type())))?;
    (0..a.len())
        .map(|i| if a.is_null(i) { Err(bad(table, format!("row {i}, field '{name}': null"))) } else { Ok(a.value(i).to_string()) })
        .collect()
}

pub fn f64s(b: &RecordBatch, table: &str, name: &str) -> Result<Vec<f64>, PipelineError> {
    let c = column(b, table, name)?;
    let a = c.as_any().downcast_ref::<Float64Array>().ok_or_else(|| bad(table, format!("column '{name}' is {}, not float64", c.data_type())))?;
    Ok(a.values().to_vec())
}

pub fn string_lists(b: &RecordBatch, table: &str, name: &str) -> Result<Vec<Vec<String>>, PipelineError> {
    let c = column(b, table, name)?;
    let l = c.as_list_opt::<i32>().ok_or_else(|| bad(table, format!("column '{name}' is {}, not list<utf8>", c.data_type())))?;
    (0..l.len())
        .map(|i| {
            let v = l.value(i);
            let s = v.as_string_opt::<i32>().ok_or_else(|| bad(table, format!("row {i}, field '{name}': not utf8 items")))?;
            Ok(s.iter().map(|x| x.unwrap_or_default().to_string()).collect())
        })
        .collect()
}

/// The `embedding` column: fixed_size_list<float32>, every row finite and of the same width.
pub fn embeddings(b: &RecordBatch, table: &str, name: &str) -> Result<(Vec<f32>, usize), PipelineError> {
    let c = column(b, table, name)?;
    let l = c.as_fixed_size_list_opt().ok_or_else(|| bad(table, format!("column '{name}' is {}, not fixed_size_list<float32>", c.data_type())))?;
    let dim = l.value_length() as usize;
    let vals = l.values().as_primitive_opt::<Float32Type>().ok_or_else(|| bad(table, format!("column '{name}' holds no float32")))?;
    let data = vals.values().to_vec();
    if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
        return Err(bad(table, format!("row {}, field '{name}': not finite", pos / dim.max(1))));
    }
    Ok((data, dim))
}

/// A table from named columns.
#[derive(Default)]
pub struct TableBuilder {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl TableBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn str<S: AsRef<str>>(mut self, name: &str, values: impl IntoIterator<Item = S>) -> Self {
        let a = StringArray::from_iter_values(values);
        self.fields.push(Field::new(name, DataType::Utf8, false));
        self.columns.push(Arc::new(a));
        self
    }

    pub fn f64(mut self, name: &str, values: Vec<f64>) -> Self {
        self.fields.push(Field::new(name, DataType::Float64, false));
        self.columns.push(Arc::new(Float64Array::from(values)));
        self
    }

    pub fn i64(mut self, name: &str, values: Vec<i64>) -> Self {
        self.fields.push(Field::new(name, DataType::Int64, false));
        self.columns.push(Arc::new(Int64Array::from(values)));
        self
    }

    pub fn bool(mut self, name: &str, values: Vec<bool>) -> Self {
        self.fields.push(Field::new(name, DataType::Boolean, false));
        self.columns.push(Arc::new(BooleanArray::from(values)));
        self
    }

    pub fn str_lists(mut self, name: &str, values: &[Vec<String>]) -> Self {
        let mut b = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new("item", DataType::Utf8, false)));
        for row in values {
            for v in row {
                b.values().append_value(v);
            }
            b.append(true);
        }
        let a = b.finish();
        self.fields.push(Field::new(name, a.data_type().clone(), false));
        self.columns.push(Arc::new(a));
        self
    }

    /// Rows of width `dim`, as fixed_size_list<float32>.
    pub fn embeddings(mut self, name: &str, data: &[f32], dim: usize) -> Self {
        let mut b = FixedSizeListBuilder::new(Float32Builder::with_capacity(data.len()), dim as i32)
            .with_field(Arc::new(Field::new("item", DataType::Float32, false)));
        for row in data.chunks(dim.max(1)) {
            b.values().append_slice(row);
            b.append(true);
        }
        let a = b.finish();
        self.fields.push(Field::new(name, a.data_type().clone(), false));
        self.columns.push(Arc::new(a));
        self
    }

    pub fn finish(self) -> Result<RecordBatch, PipelineError> {
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.columns)
            .map_err(|e| PipelineError::Invalid(format!("building a table: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_column_kind() {
        let b = TableBuilder::new()
            .str("id", ["a", "b"])
            .f64("w", vec![0.5, 1.5])
            .i64("n", vec![1, 2])
            .str_lists("tags", &[vec!["x".into()], vec![]])
            .embeddings("embedding", &[1.0, 0.0, 0.0, 1.0], 2)
            .finish()
            .unwrap();
        assert_eq!(strings(&b, "t", "id").unwrap(), ["a", "b"]);
        assert_eq!(f64s(&b, "t", "w").unwrap(), [0.5, 1.5]);
        assert_eq!(string_lists(&b, "t", "tags").unwrap(), vec![vec!["x".to_string()], vec![]]);
        assert_eq!(embeddings(&b, "t", "embedding").unwrap(), (vec![1.0, 0.0, 0.0, 1.0], 2));
        let e = f64s(&b, "t", "id").unwrap_err().to_string();
        assert!(e.contains("column 'id' is Utf8, not float64"), "{e}");
        let e = strings(&b, "t", "nope").unwrap_err().to_string();
        assert!(e.contains("no column 'nope'"), "{e}");
    }
}
