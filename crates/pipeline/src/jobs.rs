//! How many stage instances run at once by default: decided without loading libtorch, like the device kind.

/// One per core on CPU, where each uses one intra-op thread; one when CUDA is present, where a stage already
/// fills the device. `INSCL_JOBS` overrides it.
pub fn default_jobs() -> usize {
    if let Some(n) = std::env::var("INSCL_JOBS").ok().and_then(|v| v.parse::<usize>().ok()) {
        return n.max(1);
    }
    if crate::device::cuda_present() {
        return 1;
    }
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
