//! How many stage instances run at once, and how many libtorch threads each gets: the one part of running a
//! graph that knows about libtorch, kept out of the generic runner.

use inscl_dag::{DagError, Graph, RunOptions, RunSummary};
use inscl_store::Store;

/// Splits the cores between the stage instances that run at once: libtorch's intra-op threads of concurrent
/// stages otherwise oversubscribe the cores, which made CPU training ~10x slower on 2 cores. The tiny model's
/// ops are too small to gain from more than one thread anyway. `INSCL_CPU_THREADS` overrides it.
fn set_cpu_threads(jobs: usize) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = std::env::var("INSCL_CPU_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or((cores / jobs).max(1));
    tch::set_num_threads(threads as i32);
}

/// How many stage instances run at once by default: one per core on CPU, where each uses one intra-op thread;
/// one when CUDA is present, where a stage already fills the device. `INSCL_JOBS` overrides it.
pub fn default_jobs() -> usize {
    if let Some(n) = std::env::var("INSCL_JOBS").ok().and_then(|v| v.parse::<usize>().ok()) {
        return n.max(1);
    }
    if tch::Cuda::is_available() {
        return 1;
    }
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// [`inscl_dag::run`] with the cores split between the instances that run at once.
pub fn run(store: &Store, pipeline: &str, graph: &Graph, opts: &RunOptions) -> Result<RunSummary, DagError> {
    set_cpu_threads(if opts.dry_run { 1 } else { opts.jobs.max(1) });
    inscl_dag::run(store, pipeline, graph, opts)
}
