use std::path::PathBuf;

/// Every failure of the pipeline layer, keeping the failing crate's error as its source. The runner of
/// `inscl-dag` wraps a stage's error once with the instance id (`DagError::Stage`), so a failure among 1,583
/// instances says which one; the CLI renders the chain once.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {problem}")]
    Config { path: PathBuf, problem: String },
    #[error(transparent)]
    Dag(#[from] inscl_dag::DagError),
    #[error(transparent)]
    Store(#[from] inscl_store::StoreError),
    #[error(transparent)]
    Data(#[from] inscl_data::DataError),
    #[error(transparent)]
    Annotate(#[from] inscl_annotate::AnnotateError),
    #[error("W({a}, {b}): {source}")]
    Pair { a: String, b: String, source: inscl_distance::DistanceError },
    #[error(transparent)]
    InsInfo(#[from] inscl_insinfo::InsInfoError),
    #[error(transparent)]
    Sample(#[from] inscl_sample::SampleError),
    #[error(transparent)]
    Metrics(#[from] inscl_evaluate::metrics::MetricsError),
    #[error(transparent)]
    Report(#[from] inscl_report::ReportError),
    /// A table is not what its reader expects: names the artifact, and the table, row and field.
    #[error("{artifact}: {source}")]
    Tables { artifact: String, source: inscl_tables::TableError },
    /// An input a stage needs is not wired, or not built yet.
    #[error("{0}")]
    Input(String),
    /// The data holds no rows a stage needs (a category without train or test instances).
    #[error("{0}")]
    Empty(String),
    #[error("{path}: {source}")]
    Convert { path: PathBuf, source: inscl_gguf::GgufError },
}
