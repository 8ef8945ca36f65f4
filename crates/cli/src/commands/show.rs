use crate::error::CliError;
use inscl_store::{OutputKind, Store};
use parquet::file::reader::{FileReader, SerializedFileReader};
use polars::prelude::{ParquetReader, SerReader};
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

fn show_parquet(path: &Path, head: usize) -> Result<(), CliError> {
    let io = |source| CliError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let reader = SerializedFileReader::new(file.try_clone().map_err(io)?)
        .map_err(|e| CliError::Usage(format!("{}: not a Parquet file: {e}", path.display())))?;
    let meta = reader.metadata().file_metadata();
    println!("== {} ({} rows)", path.display(), meta.num_rows());
    for kv in meta.key_value_metadata().into_iter().flatten() {
        if kv.key.starts_with("inscl.") {
            println!("   {} = {}", kv.key, kv.value.as_deref().unwrap_or(""));
        }
    }
    let df = ParquetReader::new(file).with_slice(Some((0, head))).finish()?;
    for (name, dtype) in df.schema().iter() {
        println!("   {name}: {dtype}");
    }
    println!("{df}");
    Ok(())
}
