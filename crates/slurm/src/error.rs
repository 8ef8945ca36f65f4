#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error(transparent)]
    Store(#[from] inscl_store::StoreError),
    #[error("`{command}` could not run: {source} (is Slurm installed and on PATH?)")]
    Spawn { command: String, source: std::io::Error },
    #[error("`{command}` failed ({code}): {stderr}")]
    Command { command: String, code: i32, stderr: String },
    #[error("sbatch printed '{0}', not a job id")]
    BadJobId(String),
    /// A job ended without committing an instance: the instance, the job, Slurm's state and the job's log.
    #[error("{instance}: Slurm job {job} ended {state} without committing it (log: {log})")]
    JobFailed { instance: String, job: String, state: String, log: std::path::PathBuf },
    /// Ctrl-C: the run's jobs were cancelled; what was committed stays, and a rerun resumes from it.
    #[error("interrupted: scancel --name={job_name} cancelled the run's jobs ({in_flight} in flight); committed instances are kept, rerun to resume")]
    Interrupted { job_name: String, in_flight: usize },
    #[error("{0} cannot be built: an input it needs failed or is not planned")]
    Stuck(String),
}
