//! The three Slurm commands the driver uses, behind [`Cluster`] so that the driver's logic is tested with a
//! fake cluster, and the sbatch arguments of a job.

use crate::error::SlurmError;
use inscl_pipeline::executor::SlurmResources;
use std::path::Path;

/// What a command printed and returned.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a Slurm client command (`sbatch`, `squeue`, `scancel`).
pub trait Cluster {
    fn run(&self, program: &str, args: &[String]) -> Result<Output, SlurmError>;
}

/// The real cluster: the commands on PATH.
pub struct SystemCluster;

impl Cluster for SystemCluster {
    fn run(&self, program: &str, args: &[String]) -> Result<Output, SlurmError> {
        let out = std::process::Command::new(program)
            .args(args)
            .output()
            .map_err(|source| SlurmError::Spawn { command: program.to_string(), source })?;
        Ok(Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// `sbatch` arguments of one job: its name (one per run, so that `squeue` and `scancel` find the run's jobs),
/// its log, its resources and the worker command line.
pub fn sbatch_args(job_name: &str, log: &Path, r: &SlurmResources, command: &[String]) -> Vec<String> {
    let mut a = vec!["--parsable".to_string(), format!("--job-name={job_name}"), format!("--output={}", log.display())];
    let opt = |a: &mut Vec<String>, flag: &str, v: &Option<String>| {
        if let Some(v) = v {
            a.push(format!("--{flag}={v}"));
        }
    };
    opt(&mut a, "partition", &r.partition);
    opt(&mut a, "account", &r.account);
    opt(&mut a, "qos", &r.qos);
    opt(&mut a, "time", &r.time);
    opt(&mut a, "mem", &r.mem);
    opt(&mut a, "gres", &r.gres);
    opt(&mut a, "gpus", &r.gpus);
    if let Some(c) = r.cpus {
        a.push(format!("--cpus-per-task={c}"));
    }
    a.extend(r.extra.iter().flatten().cloned());
    // --wrap takes one shell line: quote each word.
    let quoted: Vec<String> = command.iter().map(|w| format!("'{}'", w.replace('\'', "'\\''"))).collect();
    a.push(format!("--wrap=exec {}", quoted.join(" ")));
    a
}
