//! The tools that load a model: `encode`, `generate` and `score`.

use inscl::CliError;
use std::path::{Path, PathBuf};

fn model_err(e: inscl_model::ModelError) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn encode(encoder: &str, model: Option<PathBuf>, device: &str, texts: &[String]) -> Result<i32, CliError> {
    use inscl_model::encoder::TextEncoder;
    let device = inscl_model::device::parse_device(device).map_err(model_err)?;
    let enc: Box<dyn TextEncoder> = match encoder {
        "minilm" => {
            let dir = model.ok_or_else(|| CliError::Usage("--encoder minilm needs its folder (--model DIR or --models DIR)".into()))?;
            Box::new(inscl_model::MiniLm::load(&dir, device).map_err(model_err)?)
        }
        "llm-mean" => {
            let dir = model.ok_or_else(|| CliError::Usage("--encoder llm-mean needs --model DIR (a LLaMA folder)".into()))?;
            Box::new(inscl_model::encoder::LlmMean::load(&dir, device).map_err(model_err)?)
        }
        other => return Err(CliError::Usage(format!("--encoder must be minilm or llm-mean, not '{other}'"))),
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for v in enc.encode(&refs).map_err(model_err)? {
        println!("{}", serde_json::to_string(&v).expect("floats serialise"));
    }
    Ok(0)
}

pub fn generate(model: &Path, chat: bool, max_new_tokens: usize, device: &str, prompt: &str) -> Result<i32, CliError> {
    let device = inscl_model::device::parse_device(device).map_err(model_err)?;
    let m = inscl_model::LlamaModel::load(model, device).map_err(model_err)?;
    let text = if chat { m.chat_prompt(prompt).map_err(model_err)? } else { prompt.to_string() };
    let out = inscl_model::generate::generate_text(&m, &[text.as_str()], max_new_tokens, 1).map_err(model_err)?;
    println!("{}", out[0]);
    Ok(0)
}

pub fn score(model: &Path, device: &str, texts: &[String]) -> Result<i32, CliError> {
    let device = inscl_model::device::parse_device(device).map_err(model_err)?;
    let m = inscl_model::LlamaModel::load(model, device).map_err(model_err)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // `{}` of an f64 is its shortest round-trip form: full precision.
    for nll in inscl_model::score::mean_nll(&m, &refs).map_err(model_err)? {
        println!("{nll}");
    }
    Ok(0)
}
