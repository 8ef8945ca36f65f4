use inscl_pipeline::{DeviceChoice, DeviceKind};

/// What computing a stage instance may fail with, keeping the failing crate's error as its source. The runner
/// of `inscl-dag` attaches the instance id once.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Pipeline(#[from] inscl_pipeline::PipelineError),
    #[error(transparent)]
    Dag(#[from] inscl_dag::DagError),
    #[error(transparent)]
    Store(#[from] inscl_store::StoreError),
    #[error(transparent)]
    Model(#[from] inscl_model::ModelError),
    #[error(transparent)]
    Finetune(#[from] inscl_finetune::FinetuneError),
    #[error(transparent)]
    Annotate(#[from] inscl_annotate::AnnotateError),
    #[error(transparent)]
    Embed(#[from] inscl_embed::EmbedError),
    #[error("tokenizer: {source}")]
    Tokenizer { source: Box<dyn std::error::Error + Send + Sync> },
    /// The graph was planned (and keyed) for one device kind and libtorch sees another: the artifact would
    /// carry a precision it was not computed in.
    #[error(
        "device '{choice}' was planned as {planned:?} (its precision is in the keys) but libtorch runs it on {actual:?}; \
         set the pipeline's device to 'cpu' or 'cuda' explicitly"
    )]
    DeviceMismatch { choice: DeviceChoice, planned: DeviceKind, actual: DeviceKind },
    /// A node whose stage no arm of the executor's list computes (a graph built by other code).
    #[error("no executor arm computes stage '{stage}' (node {id})")]
    UnknownStage { stage: String, id: String },
}
