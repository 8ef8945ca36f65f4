//! Converts a llama.cpp GGUF into a Hugging Face LLaMA folder.
//!
//! `cargo run --release -p inscl-gguf --example convert -- GGUF OUT_DIR [f32|f16|bf16]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use inscl_gguf::{DType, convert_to_dir};

fn run(gguf: &Path, out_dir: &Path, dtype: DType) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    // Streamed into a temp folder that is published whole, so a reader never sees a half-written model.
    let names = inscl_store::atomic::build_folder_atomically(out_dir, |tmp| {
        convert_to_dir(gguf, dtype, tmp, |done, total| {
            if done == total || done % 50 == 0 {
                eprintln!("dequantised {done}/{total} tensors");
            }
        })
        .map_err(Box::<dyn std::error::Error>::from)
    })?;
    for name in &names {
        let path = out_dir.join(name);
        eprintln!("wrote {} ({} bytes)", path.display(), std::fs::metadata(&path)?.len());
    }
    eprintln!("converted in {:.2} s", start.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(2..=3).contains(&args.len()) {
        eprintln!("usage: convert GGUF OUT_DIR [f32|f16|bf16]");
        return ExitCode::from(2);
    }
    let dtype = match args.get(2).map(|s| s.parse::<DType>()).transpose() {
        Ok(dtype) => dtype.unwrap_or(DType::F32),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&PathBuf::from(&args[0]), &PathBuf::from(&args[1]), dtype) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
