//! `inscl run P --executor slurm`: the driver runs here, in the planner (no libtorch); each job runs
//! `inscl-exec build P --instance ID...` on a node that shares the store.

use crate::error::CliError;
use inscl_pipeline::{Graph, Pipeline};
use inscl_store::Store;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn absolute(p: &Path) -> Result<String, CliError> {
    std::path::absolute(p).map(|a| a.display().to_string()).map_err(|source| CliError::Io { path: p.to_path_buf(), source })
}

pub fn drive(store: &Store, p: &Pipeline, file: &Path, models: Option<&Path>, graph: &Graph) -> Result<(), CliError> {
    let Some(config) = &p.executor.slurm else {
        return Err(CliError::Usage(format!("{}: --executor slurm needs an [executor.slurm] section", file.display())));
    };
    let here = std::env::current_exe().map_err(|source| CliError::Io { path: "inscl".into(), source })?;
    let mut worker = vec![here.with_file_name("inscl-exec").display().to_string(), "--store".into(), absolute(store.root())?];
    if let Some(m) = models {
        worker.extend(["--models".into(), absolute(m)?]);
    }
    worker.extend(["build".into(), absolute(file)?]);
    // Ctrl-C (or SIGTERM, as `timeout` and job schedulers send) must not leave the run's jobs queued on the
    // cluster: the handler only raises a flag, and the driver scancels and returns at its next wake-up (≤ 50 ms).
    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst))
        .map_err(|e| CliError::Usage(format!("cannot install the Ctrl-C handler that cancels the run's Slurm jobs: {e}")))?;
    let driver = inscl_slurm::Driver {
        store,
        graph,
        config,
        cluster: &inscl_slurm::SystemCluster,
        job_name: format!("inscl-{}-{}", p.name, std::process::id()),
        worker,
        poll_min: Duration::from_millis(250),
        poll_max: Duration::from_secs(10),
        interrupted: Some(&INTERRUPTED),
    };
    let started = Instant::now();
    let summary = driver.drive()?;
    eprintln!(
        "slurm: {} jobs for {} instances in {:.2} s (job name {})",
        summary.jobs_submitted,
        summary.instances_submitted,
        started.elapsed().as_secs_f64(),
        driver.job_name
    );
    Ok(())
}
