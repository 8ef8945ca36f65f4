use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: parquet: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{path}: invalid manifest: {source}")]
    Manifest { path: PathBuf, source: serde_json::Error },
    #[error("{path}: invalid run record: {source}")]
    RunRecord { path: PathBuf, source: serde_json::Error },
    #[error("artifact {stage}/{key} has no output named '{name}'")]
    NoSuchOutput { stage: String, key: String, name: String },
    #[error("output name '{0}' is not a plain file name")]
    BadOutputName(String),
    #[error("output name '{0}' is used twice")]
    DuplicateOutput(String),
    #[error("{root}: has no file '{rel}'")]
    NotInSource { root: PathBuf, rel: String },
    #[error("{path}: changed since it was hashed for this run's keys; run again")]
    SourceChanged { path: PathBuf },
    #[error("staged output '{name}': {path} is not a file the stage wrote")]
    StagedMissing { name: String, path: PathBuf },
    #[error("{path}: the stage left a file in its staging folder that it did not declare as an output")]
    UndeclaredStaged { path: PathBuf },
    #[error("no artifact matches '{0}'")]
    NotFound(String),
    #[error("'{query}' is ambiguous: it matches {candidates}")]
    Ambiguous { query: String, candidates: String },
    #[error("{0}")]
    Stage(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// The error as an `io::Error`, for interfaces that take one (a reader callback): the io error itself where
    /// there is one (the caller names the file), else this error wrapped.
    pub fn into_io(self) -> std::io::Error {
        match self {
            StoreError::Io { source, .. } => source,
            other => std::io::Error::other(other),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
