#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] inscl_store::StoreError),
    #[error(transparent)]
    Data(#[from] inscl_data::DataError),
    #[error(transparent)]
    Pipeline(#[from] inscl_pipeline::PipelineError),
    #[error(transparent)]
    Dag(#[from] inscl_dag::DagError),
    #[error(transparent)]
    Slurm(#[from] inscl_slurm::SlurmError),
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
    /// A command that computes, asked of the planner binary (which `main` normally hands to `inscl-exec`).
    #[error("`{0}` runs in inscl-exec, the binary that links libtorch")]
    NeedsExec(String),
    /// `inscl-exec` could not be started.
    #[error("{path}: {source} (build it with `make build`; it sits next to `inscl`)")]
    Exec { path: std::path::PathBuf, source: std::io::Error },
}
