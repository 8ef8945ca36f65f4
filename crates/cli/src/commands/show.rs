use crate::error::CliError;
use inscl_store::{OutputKind, Store};
use arrow::datatypes::DataType;
use std::path::Path;

/// Prints an artifact's provenance and the head of each of its tables, or one Parquet file.
pub fn show(store: &Store, target: &str, head: usize) -> Result<i32, CliError> {
    let path = Path::new(target);
    if path.is_file() && path.extension().is_some_and(|e| e == "parquet") {
        show_parquet(path, head)?;
        return Ok(0);
    }
    let a = store.find(target)?;
    let m = &a.manifest;
    println!("artifact  {}/{}", m.stage, m.key);
    println!("dir       {}", a.dir.display());
    println!("version   {}   built in {:.2}s by inscl {}", m.version, m.wall_time_s, m.inscl_version);
    println!("content   {}", m.content);
    println!("params    {}", inscl_store::canonical_json(&m.params));
    for i in &m.inputs {
        println!("input     {} = {} (content {})", i.role, i.key, i.content.short());
    }
    for (k, v) in &m.notes {
        println!("note      {k} = {v}");
    }
    for o in &m.outputs {
        let rows = o.rows.map(|r| format!(", {r} rows")).unwrap_or_default();
        println!("output    {} ({}, {} bytes{rows})", o.file, if o.kind == OutputKind::Table { "table" } else { "file" }, o.bytes);
    }
    for o in m.outputs.iter().filter(|o| o.kind == OutputKind::Table) {
        println!();
        show_parquet(&a.dir.join(&o.file), head)?;
    }
    Ok(0)
}

/// A column type in the short spelling polars prints (`str`, `list[f32]`, `f64`), which is what users of the
/// tables see when they read them with polars.
fn short_type(t: &DataType) -> String {
    match t {
        DataType::Utf8 => "str".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => format!("i{}", t.primitive_width().unwrap_or(8) * 8),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => format!("u{}", t.primitive_width().unwrap_or(8) * 8),
        DataType::Float32 => "f32".into(),
        DataType::Float64 => "f64".into(),
        DataType::List(f) => format!("list[{}]", short_type(f.data_type())),
        other => other.to_string(),
    }
}

fn show_parquet(path: &Path, head: usize) -> Result<(), CliError> {
    let (batch, rows, meta) = inscl_store::read_parquet_head(path, head)?;
    println!("== {} ({rows} rows)", path.display());
    for (k, v) in meta.iter().filter(|(k, _)| k.starts_with("inscl.")) {
        println!("   {k} = {v}");
    }
    for f in batch.schema().fields() {
        println!("   {}: {}", f.name(), short_type(f.data_type()));
    }
    println!("shape: ({}, {})", batch.num_rows(), batch.num_columns());
    println!("{}", arrow::util::pretty::pretty_format_batches(&[batch]).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?);
    Ok(())
}
