//! Computes the InsCL stage instances that `inscl-pipeline` plans: ingest, the tiny model's tokenizer and
//! init, GGUF conversion, intention tags (annotate), embeddings, the Wasserstein distances W(i, j), InsInfo,
//! the replay mixes of every method, fine-tuning stage after stage, greedy evaluation with Rouge-L, the R
//! matrix metrics and the report. [`execute`] is the one list from stage to code; it is the part of the
//! toolkit that links libtorch, so planning (`status`, keys, `--dry-run`) never loads it.

mod annotate;
mod base;
mod device;
mod embed;
mod error;
mod evaluate;
mod train;

pub use device::set_cpu_threads;
pub use error::ExecError;
pub use train::train_params;

use inscl_dag::{DagError, Graph, Node, RunOptions, RunSummary, StageCtx, StageError};
use inscl_pipeline::stages::{
    Ingest, base::{Convert, Init0, Tokenizer}, annotate::Annotate, distance::Distance, embed::Embed,
    evaluate::{Evaluate, Metrics, Testset}, insinfo::InsInfo, report::Report, sample::{JointMix, ReplayMix, SingleMix},
    train::Finetune,
};
use inscl_store::{Outputs, Store};

/// How the stages that need libtorch or the model crate are computed here; the others run with their own
/// `run` in `inscl-pipeline` (an inherent method, which method resolution prefers).
trait Compute {
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, ExecError>;
}

/// Runs `node`'s stage on `ctx`: the executor of `inscl-dag`'s runner.
pub fn execute(node: &Node, ctx: &StageCtx) -> Result<Outputs, StageError> {
    // The one list: every stage of the pipeline, whichever crate computes it.
    macro_rules! stages {
        ($($ty:ty),* $(,)?) => {
            $(if let Some(stage) = node.stage_as::<$ty>() {
                return stage.run(ctx).map_err(StageError::from);
            })*
        };
    }
    stages!(Ingest, Tokenizer, Init0, Convert, Annotate, Embed, Distance, InsInfo, SingleMix, ReplayMix, JointMix, Finetune, Testset, Evaluate, Metrics, Report);
    Err(ExecError::UnknownStage { stage: node.stage.to_string(), id: node.id.clone() }.into())
}

/// [`inscl_dag::run`] with [`execute`], and the cores split between the instances that run at once.
pub fn run(store: &Store, pipeline: &str, graph: &Graph, opts: &RunOptions) -> Result<RunSummary, DagError> {
    set_cpu_threads(if opts.dry_run { 1 } else { opts.jobs.max(1) });
    inscl_dag::run(store, pipeline, graph, opts, &execute)
}
