//! Column-level writing and reading: the builder every [`crate::Table::encode`] uses, and the checked reader
//! every [`crate::Table::decode`] uses, which names the table, row and field of anything malformed.

use crate::TableError;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, FixedSizeListBuilder, Float32Builder, Float64Array, Int64Array, ListBuilder,
    RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Float32Type, Int64Type, Schema};
use std::sync::Arc;

/// A table from named columns. Every column is non-null unless built with an `opt_` method.
pub struct TableBuilder {
    table: &'static str,
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl TableBuilder {
    pub fn new(table: &'static str) -> Self {
        TableBuilder { table, fields: Vec::new(), columns: Vec::new() }
    }

    fn push(mut self, name: &str, nullable: bool, a: ArrayRef) -> Self {
        self.fields.push(Field::new(name, a.data_type().clone(), nullable));
        self.columns.push(a);
        self
    }

    pub fn str<S: AsRef<str>>(self, name: &str, values: impl IntoIterator<Item = S>) -> Self {
        self.push(name, false, Arc::new(StringArray::from_iter_values(values)))
    }

    pub fn opt_str<S: AsRef<str>>(self, name: &str, values: impl IntoIterator<Item = Option<S>>) -> Self {
        self.push(name, true, Arc::new(values.into_iter().collect::<StringArray>()))
    }

    pub fn f64(self, name: &str, values: impl IntoIterator<Item = f64>) -> Self {
        self.push(name, false, Arc::new(values.into_iter().collect::<Float64Array>()))
    }

    pub fn i64(self, name: &str, values: impl IntoIterator<Item = i64>) -> Self {
        self.push(name, false, Arc::new(values.into_iter().collect::<Int64Array>()))
    }

    pub fn opt_i64(self, name: &str, values: impl IntoIterator<Item = Option<i64>>) -> Self {
        self.push(name, true, Arc::new(values.into_iter().collect::<Int64Array>()))
    }

    pub fn bool(self, name: &str, values: impl IntoIterator<Item = bool>) -> Self {
        self.push(name, false, Arc::new(values.into_iter().map(Some).collect::<BooleanArray>()))
    }

    pub fn str_lists<'a, L: AsRef<[String]> + 'a>(self, name: &str, values: impl IntoIterator<Item = &'a L>) -> Self {
        let mut b = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new("item", DataType::Utf8, false)));
        for row in values {
            for v in row.as_ref() {
                b.values().append_value(v);
            }
            b.append(true);
        }
        self.push(name, false, Arc::new(b.finish()))
    }

    /// Rows of width `dim`, as fixed_size_list<float32>.
    pub fn vectors<'a>(self, name: &str, dim: usize, rows: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let mut b = FixedSizeListBuilder::new(Float32Builder::new(), dim as i32)
            .with_field(Arc::new(Field::new("item", DataType::Float32, false)));
        for row in rows {
            b.values().append_slice(row);
            b.append(true);
        }
        self.push(name, false, Arc::new(b.finish()))
    }

    pub fn finish(self) -> Result<RecordBatch, TableError> {
        let table = self.table;
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.columns).map_err(|source| TableError::Arrow { table, source })
    }
}

/// Checked access to a batch's columns.
pub struct Columns<'a> {
    table: &'static str,
    batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    pub fn new(table: &'static str, batch: &'a RecordBatch) -> Self {
        Columns { table, batch }
    }

    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn column(&self, name: &str) -> Result<&'a ArrayRef, TableError> {
        self.batch.column_by_name(name).ok_or_else(|| TableError::NoColumn { table: self.table, column: name.into() })
    }

    fn type_error(&self, name: &str, c: &ArrayRef, expected: &'static str) -> TableError {
        TableError::Type { table: self.table, column: name.into(), found: c.data_type().to_string(), expected }
    }

    fn null(&self, name: &str, row: usize) -> TableError {
        TableError::Value { table: self.table, row, column: name.into(), problem: "null".into() }
    }

    pub fn opt_str(&self, name: &str) -> Result<Vec<Option<String>>, TableError> {
        let c = self.column(name)?;
        let a = c.as_string_opt::<i32>().ok_or_else(|| self.type_error(name, c, "utf8"))?;
        Ok(a.iter().map(|v| v.map(str::to_string)).collect())
    }

    pub fn str(&self, name: &str) -> Result<Vec<String>, TableError> {
        self.opt_str(name)?.into_iter().enumerate().map(|(i, v)| v.ok_or_else(|| self.null(name, i))).collect()
    }

    pub fn f64(&self, name: &str) -> Result<Vec<f64>, TableError> {
        let c = self.column(name)?;
        let a = c.as_any().downcast_ref::<Float64Array>().ok_or_else(|| self.type_error(name, c, "float64"))?;
        a.iter().enumerate().map(|(i, v)| v.ok_or_else(|| self.null(name, i))).collect()
    }

    pub fn opt_i64(&self, name: &str) -> Result<Vec<Option<i64>>, TableError> {
        let c = self.column(name)?;
        let a = c.as_primitive_opt::<Int64Type>().ok_or_else(|| self.type_error(name, c, "int64"))?;
        Ok(a.iter().collect())
    }

    pub fn i64(&self, name: &str) -> Result<Vec<i64>, TableError> {
        self.opt_i64(name)?.into_iter().enumerate().map(|(i, v)| v.ok_or_else(|| self.null(name, i))).collect()
    }

    /// Counts and indices: int64 that must not be negative.
    pub fn opt_usize(&self, name: &str) -> Result<Vec<Option<usize>>, TableError> {
        let values = self.opt_i64(name)?;
        values
            .into_iter()
            .enumerate()
            .map(|(row, v)| match v {
                Some(x) => usize::try_from(x).map(Some).map_err(|_| TableError::Value {
                    table: self.table,
                    row,
                    column: name.into(),
                    problem: format!("{x} is negative"),
                }),
                None => Ok(None),
            })
            .collect()
    }

    pub fn usize(&self, name: &str) -> Result<Vec<usize>, TableError> {
        self.opt_usize(name)?.into_iter().enumerate().map(|(i, v)| v.ok_or_else(|| self.null(name, i))).collect()
    }

    pub fn bool(&self, name: &str) -> Result<Vec<bool>, TableError> {
        let c = self.column(name)?;
        let a = c.as_boolean_opt().ok_or_else(|| self.type_error(name, c, "bool"))?;
        a.iter().enumerate().map(|(i, v)| v.ok_or_else(|| self.null(name, i))).collect()
    }

    pub fn str_lists(&self, name: &str) -> Result<Vec<Vec<String>>, TableError> {
        let c = self.column(name)?;
        let l = c.as_list_opt::<i32>().ok_or_else(|| self.type_error(name, c, "list<utf8>"))?;
        (0..l.len())
            .map(|i| {
                if l.is_null(i) {
                    return Err(self.null(name, i));
                }
                let v = l.value(i);
                let s = v.as_string_opt::<i32>().ok_or_else(|| self.type_error(name, c, "list<utf8>"))?;
                s.iter().map(|x| x.map(str::to_string).ok_or_else(|| self.null(name, i))).collect()
            })
            .collect()
    }

    /// A fixed_size_list<float32> column: every row finite and of the same width, returned flat with the width.
    pub fn vectors(&self, name: &str) -> Result<(Vec<f32>, usize), TableError> {
        let c = self.column(name)?;
        let l = c.as_fixed_size_list_opt().ok_or_else(|| self.type_error(name, c, "fixed_size_list<float32>"))?;
        if let Some(i) = (0..l.len()).find(|&i| l.is_null(i)) {
            return Err(self.null(name, i));
        }
        let dim = l.value_length() as usize;
        if l.is_empty() {
            return Ok((Vec::new(), dim));
        }
        let vals = l.values().as_primitive_opt::<Float32Type>().ok_or_else(|| self.type_error(name, c, "fixed_size_list<float32>"))?;
        let data = vals.values()[l.value_offset_at(0)..][..l.len() * dim].to_vec();
        if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
            let problem = "not finite".into();
            return Err(TableError::Value { table: self.table, row: pos / dim.max(1), column: name.into(), problem });
        }
        Ok((data, dim))
    }
}
