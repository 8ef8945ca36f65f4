//! The special tokens a model folder declares, read where `transformers` reads them: the end-of-sequence ids
//! from `generation_config.json`, `config.json` and `tokenizer_config.json` (an id, a list of ids, or a token
//! string), so that generation stops, and fine-tuning ends its targets, with the model's own EOS.

use crate::error::{ModelError, Result};
use crate::llama_config::LlamaConfig;
use serde_json::Value;
use std::path::Path;
use tokenizers::Tokenizer;

fn read_json(path: &Path) -> Result<Option<Value>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text).map(Some).map_err(|source| ModelError::Json { path: path.to_path_buf(), source })
}

/// An `eos_token_id` value: a number, a list of numbers or null.
fn ids_of(value: Option<&Value>, file: &str) -> Result<Vec<i64>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Number(n)) => n.as_i64().map(|id| vec![id]).ok_or_else(|| bad(file, value)),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_i64().ok_or_else(|| bad(file, value))).collect(),
        Some(_) => Err(bad(file, value)),
    }
}

fn bad(file: &str, value: Option<&Value>) -> ModelError {
    ModelError::Config(format!("{file}: eos_token_id = {} is not a token id or a list of them", value.unwrap_or(&Value::Null)))
}

/// The end-of-sequence ids of the folder `dir`, first-declared first and without repeats: those of
/// `generation_config.json` (what `generate` stops on), then `config.json`'s, then `tokenizer_config.json`'s
/// `eos_token` looked up in the tokenizer.
pub fn eos_token_ids(dir: &Path, config: &LlamaConfig, tokenizer: &Tokenizer) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    if let Some(generation) = read_json(&dir.join("generation_config.json"))? {
        ids.extend(ids_of(generation.get("eos_token_id"), "generation_config.json")?);
    }
    ids.extend(config.eos_ids());
    if let Some(tokenizer_config) = read_json(&dir.join("tokenizer_config.json"))? {
        let token = match tokenizer_config.get("eos_token") {
            Some(Value::String(token)) => Some(token.as_str()),
            Some(Value::Object(added)) => added.get("content").and_then(Value::as_str),
            _ => None,
        };
        if let Some(token) = token {
            let id = tokenizer.token_to_id(token).ok_or_else(|| {
                ModelError::Config(format!("tokenizer_config.json: eos_token {token:?} is not in tokenizer.json"))
            })?;
            ids.push(i64::from(id));
        }
    }
    let mut unique = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    Ok(unique)
}
