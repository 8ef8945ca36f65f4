//! Converts a llama.cpp GGUF into a Hugging Face LLaMA folder.
//!
//! `cargo run --release -p inscl-gguf --example convert -- GGUF OUT_DIR [f32|f16|bf16]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use inscl_gguf::{DType, convert_with_progress};

fn run(gguf: &Path, out_dir: &Path, dtype: DType) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let folder = convert_with_progress(gguf, dtype, |done, total| {
        if done == total || done % 50 == 0 {
            eprintln!("dequantised {done}/{total} tensors");
        }
    })?;
    std::fs::create_dir_all(out_dir)?;
    for (name, bytes) in &folder.files {
        // Write beside the target then rename, so a reader never sees a half-written file.
        let tmp = out_dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, out_dir.join(name))?;
        eprintln!(
            "wrote {} ({} bytes)",
            out_dir.join(name).display(),
            bytes.len()
        );
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
