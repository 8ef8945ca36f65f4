#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}: not valid UTF-8 (byte {offset})")]
    NotUtf8 { file: String, offset: usize },
    #[error("{file}: malformed JSON: {source}")]
    Json { file: String, source: serde_json::Error },
    #[error("{file}: field '{field}': {problem}")]
    Field { file: String, field: String, problem: String },
    #[error("{file}, row {row} (instance '{id}'): {problem}")]
    Row { file: String, row: usize, id: String, problem: String },
    #[error("{file}: line {line}: task '{task}' is listed but tasks/{task}.json is missing")]
    MissingTask { file: String, line: usize, task: String },
    #[error("{root}: no task files (expected tasks/*.json)")]
    NoTasks { root: String },
    #[error("mapping {file}: {problem}")]
    Mapping { file: String, problem: String },
    #[error("{0}")]
    Params(String),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}
