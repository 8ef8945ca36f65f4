use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FinetuneError {
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("tokenizer has no token {token:?}; it is needed as {role}")]
    MissingToken { token: String, role: &'static str },
    #[error("example {index}: {reason}")]
    BadExample { index: usize, reason: String },
    #[error("row {row}: {reason}")]
    BadRow { row: usize, reason: String },
    #[error("invalid training parameter `{field}`: {reason}")]
    BadParam { field: &'static str, reason: String },
    #[error("no training examples")]
    NoExamples,
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("resume state {path}: {reason}")]
    BadState { path: PathBuf, reason: String },
    #[error("writing resume state {path}: {source}")]
    WriteState { path: PathBuf, source: inscl_model::ModelError },
    #[error(
        "resume state {path} belongs to another run: {what} differs (state: {in_state}, this run: {in_run}); \
         remove the state or use another resume directory"
    )]
    StateMismatch { path: PathBuf, what: &'static str, in_state: String, in_run: String },
    #[error("training diverged at step {step}: loss is {loss}")]
    NonFiniteLoss { step: usize, loss: f64 },
    #[error("bf16 autocast: {0}")]
    Autocast(String),
    #[error("gradient checkpointing: {0}")]
    Recompute(#[source] inscl_model::ModelError),
}

impl FinetuneError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FinetuneError::Io { path: path.into(), source }
    }
}

impl From<inscl_store::StoreError> for FinetuneError {
    fn from(e: inscl_store::StoreError) -> Self {
        match e {
            inscl_store::StoreError::Io { path, source } => FinetuneError::io(path, source),
            other => FinetuneError::BadState { path: PathBuf::new(), reason: other.to_string() },
        }
    }
}

pub type Result<T> = std::result::Result<T, FinetuneError>;
