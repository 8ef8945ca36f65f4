use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {problem}")]
    Config { path: PathBuf, problem: String },
    #[error(transparent)]
    Store(#[from] inscl_store::StoreError),
    #[error(transparent)]
    Data(#[from] inscl_data::DataError),
    #[error("{0}")]
    Invalid(String),
    #[error("no stage named '{0}' in this pipeline (stages: {1})")]
    UnknownStage(String, String),
}
