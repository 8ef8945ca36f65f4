//! The resumable training state: one safetensors file holding the weights, the AdamW moments and, in its JSON
//! metadata, the step counter, the data cursor, the log and what the state belongs to (model config, vocabulary,
//! a fingerprint of the encoded data and the training parameters). It is replaced with the store's atomic
//! writer (temp file, fsync, rename, fsync of the folder), so a kill at any moment leaves either the previous
//! state or the new one.

use crate::error::{FinetuneError, Result};
use crate::optim::AdamW;
use crate::train::StepLog;
use safetensors::tensor::Dtype;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

pub const STATE_FILE: &str = "train_state.safetensors";
const LEGACY_TEMP_PREFIX: &str = ".train_state.tmp-";
const METADATA_KEY: &str = "inscl.finetune.state";
const FORMAT_VERSION: u32 = 1;

/// Everything of the state but the tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateMeta {
    pub format_version: u32,
    /// The model's `LlamaConfig` as JSON.
    pub model_config: serde_json::Value,
    /// Tokens in the tokenizer, added tokens included.
    pub tokenizer_vocab_size: usize,
    /// blake3 of the encoded examples and the parameters that shape the run (not the save cadence).
    pub run_fingerprint: String,
    /// Optimiser steps taken.
    pub step: usize,
    /// The cursor: the next micro batch to train is `next_batch` of epoch `epoch`'s plan.
    pub epoch: usize,
    pub next_batch: usize,
    pub log: Vec<StepLog>,
    /// Seconds spent training before this state was written, over all earlier attempts.
    pub train_secs: f64,
}

/// What a run expects a state to belong to.
pub struct RunIdentity {
    pub model_config: serde_json::Value,
    pub tokenizer_vocab_size: usize,
    pub run_fingerprint: String,
}

pub fn state_path(resume_dir: &Path) -> PathBuf {
    resume_dir.join(STATE_FILE)
}

/// The f32 bytes of a tensor on the host, for the run fingerprint (one tensor at a time).
pub(crate) fn tensor_bytes(tensor: &Tensor) -> Result<(Vec<usize>, Vec<u8>)> {
    let shape: Vec<usize> = tensor.size().iter().map(|&d| d as usize).collect();
    Ok((shape, inscl_model::tensor_file::host_f32_bytes(tensor)?))
}

/// Writes the state of `variables` (all model variables by name) and `optimizer` atomically, streaming one
/// tensor at a time: weights and both moments are three times the model, which must not be copied into memory
/// (twice, by `safetensors::serialize`) on top of the training's own.
pub fn save_state(
    resume_dir: &Path,
    variables: &BTreeMap<String, Tensor>,
    optimizer: &AdamW,
    meta: &StateMeta,
) -> Result<()> {
    // Moments and weights are stored as f32 (exact for f32 and bf16 parameters alike).
    let mut named: Vec<(String, &Tensor)> = variables.iter().map(|(name, t)| (format!("param/{name}"), t)).collect();
    for p in &optimizer.params {
        named.push((format!("exp_avg/{}", p.name), &p.exp_avg));
        named.push((format!("exp_avg_sq/{}", p.name), &p.exp_avg_sq));
    }
    let meta_json = serde_json::to_string(meta).map_err(|e| bad_state(resume_dir, e.to_string()))?;
    let metadata = HashMap::from([(METADATA_KEY.to_string(), meta_json)]);
    inscl_store::atomic::replace_file_with(&state_path(resume_dir), |tmp| {
        inscl_model::tensor_file::write_f32(&named, metadata, tmp)
            .map_err(|source| FinetuneError::WriteState { path: tmp.to_path_buf(), source })
    })
}

fn bad_state(path: &Path, reason: String) -> FinetuneError {
    FinetuneError::BadState { path: path.to_path_buf(), reason }
}

/// Removes temporary files a killed writer left behind: the atomic writer's, and those of the writer before it
/// (`.train_state.tmp-<pid>`), which states of older runs may still have beside them.
fn remove_stale_temps(resume_dir: &Path) -> Result<()> {
    inscl_store::atomic::remove_stale_temps(resume_dir, STATE_FILE)?;
    let entries = match std::fs::read_dir(resume_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FinetuneError::io(resume_dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| FinetuneError::io(resume_dir, e))?;
        if entry.file_name().to_string_lossy().starts_with(LEGACY_TEMP_PREFIX) {
            std::fs::remove_file(entry.path()).map_err(|e| FinetuneError::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Names the fields of two JSON objects that differ, `field: a -> b`.
fn json_differences(in_state: &serde_json::Value, in_run: &serde_json::Value) -> (String, String) {
    let empty = serde_json::Map::new();
    let a = in_state.as_object().unwrap_or(&empty);
    let b = in_run.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let null = serde_json::Value::Null;
    let mut left = Vec::new();
    let mut right = Vec::new();
    for key in keys {
        let (x, y) = (a.get(key).unwrap_or(&null), b.get(key).unwrap_or(&null));
        if x != y {
            left.push(format!("{key}={x}"));
            right.push(format!("{key}={y}"));
        }
    }
    (left.join(", "), right.join(", "))
}

/// Loads the state in `resume_dir` into `variables` and `optimizer` if there is one, after checking it belongs
/// to this run; returns its metadata, or `None` when there is no state.
pub fn load_state(
    resume_dir: &Path,
    identity: &RunIdentity,
    variables: &BTreeMap<String, Tensor>,
    optimizer: &mut AdamW,
) -> Result<Option<StateMeta>> {
    remove_stale_temps(resume_dir)?;
    let path = state_path(resume_dir);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(FinetuneError::io(&path, e)),
    };
    // Mapped, not read: the state is three times the model. Only this run's resume folder writes the file,
    // and it replaces it by rename, so the mapped bytes do not change under us.
    // SAFETY: see above; the map lives only for this function.
    let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| FinetuneError::io(&path, e))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad_state(&path, format!("not a safetensors file: {e}")))?;
    let meta_json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or_else(|| bad_state(&path, format!("no `{METADATA_KEY}` metadata")))?;
    let meta: StateMeta =
        serde_json::from_str(meta_json).map_err(|e| bad_state(&path, format!("metadata: {e}")))?;
    check_identity(&path, &meta, identity)?;

    let tensors = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad_state(&path, format!("not a safetensors file: {e}")))?;
    let _guard = tch::no_grad_guard();
    for (name, variable) in variables {
        restore(&path, &tensors, &format!("param/{name}"), variable)?;
    }
    for p in &mut optimizer.params {
        restore(&path, &tensors, &format!("exp_avg/{}", p.name), &p.exp_avg)?;
        restore(&path, &tensors, &format!("exp_avg_sq/{}", p.name), &p.exp_avg_sq)?;
    }
    optimizer.step = meta.step;
    Ok(Some(meta))
}

fn check_identity(path: &Path, meta: &StateMeta, identity: &RunIdentity) -> Result<()> {
    if meta.format_version != FORMAT_VERSION {
        return Err(bad_state(
            path,
            format!("format version {} (this build reads {FORMAT_VERSION})", meta.format_version),
        ));
    }
    if meta.model_config != identity.model_config {
        let (in_state, in_run) = json_differences(&meta.model_config, &identity.model_config);
        return Err(FinetuneError::StateMismatch { path: path.to_path_buf(), what: "model config", in_state, in_run });
    }
    if meta.tokenizer_vocab_size != identity.tokenizer_vocab_size {
        return Err(FinetuneError::StateMismatch {
            path: path.to_path_buf(),
            what: "tokenizer vocabulary size",
            in_state: meta.tokenizer_vocab_size.to_string(),
            in_run: identity.tokenizer_vocab_size.to_string(),
        });
    }
    if meta.run_fingerprint != identity.run_fingerprint {
        return Err(FinetuneError::StateMismatch {
            path: path.to_path_buf(),
            what: "training data or parameters (fingerprint)",
            in_state: meta.run_fingerprint.clone(),
            in_run: identity.run_fingerprint.clone(),
        });
    }
    Ok(())
}

/// Copies the stored tensor `name` into `target` (same shape; converted to `target`'s dtype and device).
fn restore(path: &Path, tensors: &safetensors::SafeTensors<'_>, name: &str, target: &Tensor) -> Result<()> {
    let view = tensors.tensor(name).map_err(|_| bad_state(path, format!("tensor `{name}` is missing")))?;
    let expected: Vec<usize> = target.size().iter().map(|&d| d as usize).collect();
    if view.dtype() != Dtype::F32 || view.shape() != expected.as_slice() {
        return Err(bad_state(
            path,
            format!("tensor `{name}` is {:?} {:?}, expected F32 {expected:?}", view.dtype(), view.shape()),
        ));
    }
    let shape: Vec<i64> = expected.iter().map(|&d| d as i64).collect();
    // Straight from the mapped bytes (little-endian f32, as safetensors stores them) into a tensor.
    let source = Tensor::f_from_data_size(view.data(), &shape, Kind::Float)?
        .f_to_kind(target.kind())?
        .f_to_device(target.device())?;
    let mut target = target.shallow_clone();
    target.f_copy_(&source)?;
    Ok(())
}
