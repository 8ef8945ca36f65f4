/// What a stage function may fail with: its own crate's error, kept whole as the source.
pub type StageError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum DagError {
    #[error(transparent)]
    Store(#[from] inscl_store::StoreError),
    /// A stage instance failed: `instance` is its id (`finetune/curriculum/inscl/7`). The runner attaches it
    /// once, whatever the stage's error was.
    #[error("{instance}: {source}")]
    Stage { instance: String, source: StageError },
    /// An input a stage needs is not wired, or not built yet.
    #[error("{0}")]
    Input(String),
    #[error("no stage instance '{0}' in this pipeline (`inscl dag P --instances` lists them)")]
    UnknownInstance(String),
    #[error("no stage named '{0}' in this pipeline (stages: {1})")]
    UnknownStage(String, String),
    /// A run stopped by a failure: the instances it had finished by then (their artifacts stay in the store,
    /// and the run record names them), and the failure.
    #[error("{source}")]
    Stopped { done: Box<crate::RunSummary>, not_run: usize, source: Box<DagError> },
}
