//! Times the embed stage's path (token dedupe, length-sorted batches, MiniLM forward passes) on a JSON list
//! of texts, so `bench/run.py` can run sentence-transformers on the very same texts in the same run.
//!
//!     embed_bench TEXTS.json MINILM_DIR [--threads N] [--batch-size B] [--out VECTORS.f32]
//!
//! Prints one JSON line: rows, distinct token sequences, seconds (tokenizing included, loading excluded),
//! rows per second. `--out` writes the vectors row-major as little-endian f32.

use inscl_embed::{VectorCache, embed_texts};
use inscl_model::MiniLm;
use std::io::Write;
use std::time::Instant;

/// No cache: every row is computed, as on a fresh store.
struct NoCache;

impl VectorCache for NoCache {
    fn get(&self, _: &str) -> Result<Option<Vec<f32>>, String> {
        Ok(None)
    }
    fn put(&self, _: &str, _: &[f32]) -> Result<(), String> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let positional: Vec<&String> = {
        let mut skip = false;
        args.iter()
            .filter(|a| {
                let keep = !skip && !a.starts_with("--");
                skip = !skip && a.starts_with("--");
                keep
            })
            .collect()
    };
    let [texts_path, model_dir] = positional[..] else {
        return Err("usage: embed_bench TEXTS.json MINILM_DIR [--threads N] [--batch-size B] [--out FILE]".into());
    };
    if let Some(threads) = flag("--threads") {
        inscl_model::tch::set_num_threads(threads.parse()?);
    }
    let batch_size: usize = flag("--batch-size").map(|b| b.parse()).transpose()?.unwrap_or(64);
    let texts: Vec<String> = serde_json::from_str(&std::fs::read_to_string(texts_path)?)
        .map_err(|e| format!("{texts_path}: expected a JSON list of strings: {e}"))?;
    let ids: Vec<String> = (0..texts.len()).map(|i| i.to_string()).collect();
    let model = MiniLm::load(std::path::Path::new(model_dir), inscl_model::tch::Device::Cpu)?;
    let start = Instant::now();
    let out = embed_texts(&model, &ids, &texts, batch_size, &NoCache, &|_| {})?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = flag("--out") {
        let bytes: Vec<u8> = out.data.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::File::create(&path)?.write_all(&bytes)?;
    }
    let line = serde_json::json!({
        "rows": texts.len(),
        "sequences": out.sequences,
        "seconds": seconds,
        "rows_per_s": texts.len() as f64 / seconds,
        "threads": inscl_model::tch::get_num_threads(),
        "batch_size": batch_size,
    });
    println!("{line}");
    Ok(())
}
