//! A planned device turned into libtorch's, checked against the kind the keys were computed for.

use crate::error::ExecError;
use inscl_pipeline::{DeviceChoice, DeviceKind};

/// The libtorch device of `choice`; refuses when libtorch resolves `auto` to another kind than the planner did
/// (a driver without a usable CUDA runtime), since the precision of that kind is in the instance's key.
pub fn device(choice: DeviceChoice) -> Result<tch::Device, ExecError> {
    let device = inscl_model::device::parse_device(&choice.to_string())?;
    let actual = if device.is_cuda() { DeviceKind::Cuda } else { DeviceKind::Cpu };
    let planned = choice.kind();
    if actual != planned {
        return Err(ExecError::DeviceMismatch { choice, planned, actual });
    }
    Ok(device)
}

/// Splits the cores between the stage instances that run at once: libtorch's intra-op threads of concurrent
/// stages otherwise oversubscribe the cores, which made CPU training ~10x slower on 2 cores. The tiny model's
/// ops are too small to gain from more than one thread anyway. `INSCL_CPU_THREADS` overrides it.
pub fn set_cpu_threads(jobs: usize) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = std::env::var("INSCL_CPU_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or((cores / jobs).max(1));
    tch::set_num_threads(threads as i32);
}
