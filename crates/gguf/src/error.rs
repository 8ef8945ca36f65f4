use std::path::PathBuf;

/// Everything that can go wrong while reading a GGUF file or converting it to a Hugging Face folder.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a GGUF file (magic bytes {found:?}, expected \"GGUF\")")]
    BadMagic { path: PathBuf, found: [u8; 4] },
    #[error("{path}: unsupported GGUF version {version} (only versions 2 and 3 are read)")]
    UnsupportedVersion { path: PathBuf, version: u32 },
    #[error("{path}: malformed GGUF at byte {offset}: {reason}")]
    Malformed {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("metadata key `{key}` is missing")]
    MissingKey { key: String },
    #[error("metadata key `{key}` has type {found}, expected {expected}")]
    WrongKeyType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("tensor `{0}` is not in the GGUF file")]
    MissingTensor(String),
    #[error(
        "tensor `{tensor}` has GGML type {type_name} which this dequantiser does not support (F32, F16, Q4_1, Q8_0 only)"
    )]
    UnsupportedType { tensor: String, type_name: String },
    #[error("tensor `{tensor}`: {reason}")]
    BadTensor { tensor: String, reason: String },
    #[error("tensor `{tensor}` has no Hugging Face LLaMA name")]
    UnknownTensorName { tensor: String },
    #[error("cannot convert: {0}")]
    Unsupported(String),
    #[error("unknown dtype `{0}` (expected f32, f16 or bf16)")]
    UnknownDType(String),
    #[error("tokenizer metadata: {0}")]
    Tokenizer(String),
    #[error("cannot serialise safetensors: {0}")]
    Safetensors(#[from] safetensors::SafeTensorError),
    #[error("cannot serialise JSON file {file}: {source}")]
    Json {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
}
