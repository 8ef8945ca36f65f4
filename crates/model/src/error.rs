//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading, running or saving a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("invalid JSON in {path}: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("tokenizer {context}: {message}")]
    Tokenizer { context: String, message: String },
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error("{path}: not a valid safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error("weights in {dir}: {message}")]
    Weights { dir: PathBuf, message: String },
    #[error("invalid device {0:?}: expected auto, cpu, cuda or cuda:N")]
    Device(String),
    #[error("invalid input: {0}")]
    Input(String),
    #[error("serialising {what}: {message}")]
    Serialise { what: String, message: String },
}

impl ModelError {
    pub(crate) fn tokenizer(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        ModelError::Tokenizer { context: context.into(), message: err.to_string() }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io { path: path.into(), source }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
