use crate::error::StoreError;
use crate::hash::ContentHash;
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The provenance every Parquet file of the store carries in its footer, so that polars and pyarrow users see
/// where a table came from without opening the manifest.
#[derive(Debug, Clone)]
pub struct ParquetProvenance {
    pub stage: String,
    pub key: String,
    pub params_json: String,
    pub inputs_json: String,
}

impl ParquetProvenance {
    fn key_values(&self) -> Vec<KeyValue> {
        vec![
            KeyValue::new("inscl.stage".into(), self.stage.clone()),
            KeyValue::new("inscl.key".into(), self.key.clone()),
            KeyValue::new("inscl.params".into(), self.params_json.clone()),
            KeyValue::new("inscl.inputs".into(), self.inputs_json.clone()),
        ]
    }
}

/// The schema without metadata: provenance and writer annotations must not change a table's identity.
fn bare(batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    let schema = Schema::new(batch.schema().fields().clone());
    Ok(RecordBatch::try_new(Arc::new(schema), batch.columns().to_vec())?)
}

/// blake3 of the table's Arrow IPC stream: the schema and the values, not the Parquet encoding. Two runs of the
/// same stage code that produce the same rows give the same hash.
pub fn table_content_hash(batch: &RecordBatch) -> Result<ContentHash, StoreError> {
    let batch = bare(batch)?;
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(blake3::Hasher::new(), &batch.schema())?;
    writer.write(&batch)?;
    writer.finish()?;
    let hasher = writer.into_inner()?;
    Ok(ContentHash::from(hasher.finalize()))
}

pub(crate) fn encode_parquet(batch: &RecordBatch, provenance: &ParquetProvenance, path: &Path) -> Result<Vec<u8>, StoreError> {
    let batch = bare(batch)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(provenance.key_values()))
        .build();
    let mut buf = Vec::new();
    let wrap = |source| StoreError::Parquet { path: path.to_path_buf(), source };
    let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).map_err(wrap)?;
    writer.write(&batch).map_err(wrap)?;
    writer.close().map_err(wrap)?;
    Ok(buf)
}

/// Reads a Parquet file written by any tool (polars, pyarrow, DuckDB, ...) into one batch, with its footer
/// key/value metadata, its columns brought to [`plain_columns`]' types: what the commands reading users' files
/// use.
pub fn read_parquet_file(path: &Path) -> Result<(RecordBatch, BTreeMap<String, String>), StoreError> {
    let (batch, metadata, _) = read_parquet(path, None)?;
    Ok((plain_columns(&batch)?, metadata))
}

/// The first `rows` rows of a Parquet file, as [`read_parquet_file`] reads it, and the file's row count: what
/// `inscl show` prints, without decoding a large table whole.
pub fn read_parquet_head(path: &Path, rows: usize) -> Result<(RecordBatch, usize, BTreeMap<String, String>), StoreError> {
    let (batch, metadata, total) = read_parquet(path, Some(rows))?;
    Ok((plain_columns(&batch)?, total, metadata))
}

/// Reads a whole Parquet file into one batch with its footer key/value metadata, its Arrow types as written:
/// the store's own tables, whose decoders expect exactly the types their encoders wrote.
pub(crate) fn read_parquet_as_written(path: &Path) -> Result<(RecordBatch, BTreeMap<String, String>), StoreError> {
    let (batch, metadata, _) = read_parquet(path, None)?;
    Ok((batch, metadata))
}

/// The batch (its first `limit` rows), the footer key/value metadata and the file's row count, from one open.
fn read_parquet(path: &Path, limit: Option<usize>) -> Result<(RecordBatch, BTreeMap<String, String>, usize), StoreError> {
    let file = std::fs::File::open(path).map_err(StoreError::io(path))?;
    let wrap = |source| StoreError::Parquet { path: path.to_path_buf(), source };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(wrap)?;
    if let Some(n) = limit {
        builder = builder.with_limit(n);
    }
    let metadata: BTreeMap<String, String> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kvs| kvs.iter().filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?))).collect())
        .unwrap_or_default();
    let total = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let schema = Arc::new(Schema::new(builder.schema().fields().clone()));
    let reader = builder.build().map_err(wrap)?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    let batch = arrow::compute::concat_batches(&schema, &batches)?;
    Ok((batch, metadata, total))
}

/// The Arrow type every reader of ours sees for `t`: each string flavour (`large_string`, `string_view`, a
/// dictionary of strings) as `string`, and each list flavour (`large_list`, `fixed_size_list`, list views) as
/// `list`, recursively. polars writes `large_string` and `large_list`, pyarrow `string` and `list`; a table
/// means the same whichever wrote it.
fn plain_type(t: &DataType) -> DataType {
    let item = |f: &FieldRef| Arc::new(Field::new(f.name(), plain_type(f.data_type()), f.is_nullable()));
    match t {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, values) => plain_type(values),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) | DataType::LargeListView(f) => {
            DataType::List(item(f))
        }
        other => other.clone(),
    }
}

/// `batch` with every column cast to its [`plain_type`]: the one place where Parquet written by other tools is
/// brought to the types our readers expect.
pub fn plain_columns(batch: &RecordBatch) -> Result<RecordBatch, StoreError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let plain = plain_type(field.data_type());
        columns.push(if &plain == field.data_type() { column.clone() } else { arrow::compute::cast(column, &plain)? });
        fields.push(Field::new(field.name(), plain, field.is_nullable()));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field};

    fn sample() -> RecordBatch {
        let schema = Schema::new(vec![Field::new("a", DataType::Utf8, false), Field::new("w", DataType::Float64, false)]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(vec!["x", "y"])), Arc::new(Float64Array::from(vec![0.25, 0.75]))],
        )
        .unwrap()
    }

    #[test]
    fn content_hash_ignores_schema_metadata_but_not_values() {
        let a = sample();
        let with_meta = a
            .clone()
            .with_schema(Arc::new(
                a.schema().as_ref().clone().with_metadata(std::collections::HashMap::from([("inscl.key".to_string(), "k".to_string())])),
            ))
            .unwrap();
        assert_eq!(table_content_hash(&a).unwrap(), table_content_hash(&with_meta).unwrap());
        let b = RecordBatch::try_new(
            a.schema(),
            vec![Arc::new(StringArray::from(vec!["x", "z"])), Arc::new(Float64Array::from(vec![0.25, 0.75]))],
        )
        .unwrap();
        assert_ne!(table_content_hash(&a).unwrap(), table_content_hash(&b).unwrap());
    }

    #[test]
    fn parquet_round_trip_keeps_rows_and_provenance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let prov = ParquetProvenance {
            stage: "ingest".into(),
            key: "abc".into(),
            params_json: "{}".into(),
            inputs_json: "[]".into(),
        };
        std::fs::write(&path, encode_parquet(&sample(), &prov, &path).unwrap()).unwrap();
        let (batch, meta) = read_parquet_file(&path).unwrap();
        assert_eq!(table_content_hash(&batch).unwrap(), table_content_hash(&sample()).unwrap());
        assert_eq!(meta["inscl.stage"], "ingest");
        assert_eq!(meta["inscl.key"], "abc");
    }
}
