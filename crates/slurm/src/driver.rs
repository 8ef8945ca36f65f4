//! The driver loop: ready instances → jobs (bundled per stage), one `squeue` per round with back-off, the
//! store as the judge of success, retries, and a failure that names instance, job, state and log.

use crate::error::SlurmError;
use crate::sbatch::{Cluster, sbatch_args};
use inscl_dag::{Graph, NodeInput};
use inscl_pipeline::executor::SlurmConfig;
use inscl_store::{Artifact, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Slurm states in which a job will not commit anything more.
const ENDED: [&str; 9] = ["COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "CANCELLED", "BOOT_FAIL", "DEADLINE"];

/// What a drive did: counts for the closing note of a run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DriveSummary {
    pub jobs_submitted: usize,
    pub instances_submitted: usize,
}

pub struct Driver<'a> {
    pub store: &'a Store,
    pub graph: &'a Graph,
    pub config: &'a SlurmConfig,
    pub cluster: &'a dyn Cluster,
    /// One name for all the run's jobs: what `squeue --name` and `scancel --name` select.
    pub job_name: String,
    /// The worker's command line up to its instances (`inscl-exec --store S build P`).
    pub worker: Vec<String>,
    pub poll_min: Duration,
    pub poll_max: Duration,
    /// Set by the caller's Ctrl-C handler: the driver then `scancel`s the run's jobs and returns
    /// [`SlurmError::Interrupted`], so that nothing is left queued on the cluster.
    pub interrupted: Option<&'a AtomicBool>,
}

#[derive(Clone)]
enum State {
    Waiting,
    InFlight,
    Done(Artifact),
}

struct Job {
    id: String,
    nodes: Vec<usize>,
    log: PathBuf,
}

impl Driver<'_> {
    fn deps(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph.nodes[i].inputs.iter().filter_map(|(_, x)| if let NodeInput::Node(j) = x { Some(*j) } else { None })
    }

    fn built(states: &[State]) -> Vec<Option<Artifact>> {
        states.iter().map(|s| if let State::Done(a) = s { Some(a.clone()) } else { None }).collect()
    }

    /// The committed artifact of node `i`, its inputs being done.
    fn committed(&self, i: usize, built: &[Option<Artifact>]) -> Option<Artifact> {
        let spec = self.graph.spec(i, built).ok()?;
        self.store.peek(self.graph.nodes[i].stage, &spec.key())
    }

    fn is_interrupted(&self) -> bool {
        self.interrupted.is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// Cancels the run's jobs and names how many were in flight.
    fn interrupt(&self, in_flight: usize) -> SlurmError {
        match self.cancel_all() {
            Ok(()) => SlurmError::Interrupted { job_name: self.job_name.clone(), in_flight },
            Err(e) => e,
        }
    }

    /// Sleeps `pause`, waking early when interrupted.
    fn nap(&self, pause: Duration) {
        let end = Instant::now() + pause;
        while !self.is_interrupted() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    /// `attempt` numbers the log: a retried job writes `<key>.retry<N>.log` and keeps the failed one's log.
    fn submit(&self, nodes: Vec<usize>, built: &[Option<Artifact>], attempt: u32) -> Result<Job, SlurmError> {
        let stage = self.graph.nodes[nodes[0]].stage;
        let r = self.config.for_stage(stage);
        let key = self.graph.spec(nodes[0], built).map(|s| s.key().hex()).unwrap_or_default();
        let name = if attempt <= 1 { format!("{key}.log") } else { format!("{key}.retry{}.log", attempt - 1) };
        let log = self.store.log_dir("slurm", stage)?.join(name);
        let mut cmd = self.worker.clone();
        cmd.extend(["--jobs".to_string(), r.cpus.unwrap_or(1).to_string()]);
        for &i in &nodes {
            cmd.extend(["--instance".to_string(), self.graph.nodes[i].id.clone()]);
        }
        let out = self.cluster.run("sbatch", &sbatch_args(&self.job_name, &log, &r, &cmd))?;
        if out.code != 0 {
            return Err(SlurmError::Command { command: "sbatch".into(), code: out.code, stderr: out.stderr.trim().into() });
        }
        // --parsable prints `id` or `id;cluster`.
        let id = out.stdout.trim().split(';').next().unwrap_or_default().to_string();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return Err(SlurmError::BadJobId(out.stdout.trim().into()));
        }
        Ok(Job { id, nodes, log })
    }

    /// The state of every job of this run that Slurm still knows, by one query.
    fn poll(&self) -> Result<BTreeMap<String, String>, SlurmError> {
        let args = ["--noheader", "--states=all", "--format=%i|%T"].map(String::from);
        let mut args = args.to_vec();
        args.push(format!("--name={}", self.job_name));
        let out = self.cluster.run("squeue", &args)?;
        if out.code != 0 {
            return Err(SlurmError::Command { command: "squeue".into(), code: out.code, stderr: out.stderr.trim().into() });
        }
        Ok(out.stdout.lines().filter_map(|l| l.trim().split_once('|')).map(|(i, s)| (i.to_string(), s.to_string())).collect())
    }

    /// Cancels every job of this run (Ctrl-C, or an error of the driver itself).
    pub fn cancel_all(&self) -> Result<(), SlurmError> {
        self.cluster.run("scancel", &[format!("--name={}", self.job_name)]).map(|_| ())
    }

    /// Builds every instance of the graph that the store lacks, as Slurm jobs; returns when all are committed,
    /// or, after a failure, once the jobs in flight have ended.
    pub fn drive(&self) -> Result<DriveSummary, SlurmError> {
        let n = self.graph.nodes.len();
        let mut states = vec![State::Waiting; n];
        let mut attempts = vec![0u32; n];
        let mut jobs: Vec<Job> = Vec::new();
        let mut failure: Option<SlurmError> = None;
        let mut summary = DriveSummary::default();
        let mut pause = self.poll_min;
        loop {
            // What is committed now, and what is ready to submit (all its inputs committed).
            let mut built = Self::built(&states);
            let mut ready: Vec<usize> = Vec::new();
            for i in 0..n {
                if !matches!(states[i], State::Waiting) || !self.deps(i).all(|j| built[j].is_some()) {
                    continue;
                }
                match self.committed(i, &built) {
                    Some(a) => {
                        built[i] = Some(a.clone());
                        states[i] = State::Done(a);
                    }
                    None => ready.push(i),
                }
            }
            if failure.is_none() {
                // Bundle the ready instances of each stage, in graph order.
                let mut by_stage: Vec<(&str, Vec<usize>)> = Vec::new();
                for &i in &ready {
                    let stage = self.graph.nodes[i].stage;
                    let size = self.config.for_stage(stage).bundle.unwrap_or(1);
                    match by_stage.iter_mut().rev().find(|(s, v)| *s == stage && v.len() < size) {
                        Some((_, v)) => v.push(i),
                        None => by_stage.push((stage, vec![i])),
                    }
                }
                for (_, nodes) in by_stage {
                    if jobs.len() >= self.config.max_jobs {
                        break;
                    }
                    if self.is_interrupted() {
                        return Err(self.interrupt(jobs.len()));
                    }
                    let attempt = nodes.iter().map(|&i| attempts[i] + 1).max().unwrap_or(1);
                    let job = match self.submit(nodes.clone(), &built, attempt) {
                        Ok(j) => j,
                        Err(e) => {
                            let _ = self.cancel_all();
                            return Err(e);
                        }
                    };
                    summary.jobs_submitted += 1;
                    summary.instances_submitted += nodes.len();
                    for &i in &nodes {
                        states[i] = State::InFlight;
                        attempts[i] += 1;
                    }
                    jobs.push(job);
                }
            }
            if jobs.is_empty() {
                if let Some(e) = failure {
                    return Err(e);
                }
                if let Some(i) = states.iter().position(|s| !matches!(s, State::Done(_))) {
                    return Err(SlurmError::Stuck(self.graph.nodes[i].id.clone()));
                }
                return Ok(summary);
            }
            self.nap(pause);
            if self.is_interrupted() {
                return Err(self.interrupt(jobs.len()));
            }
            let seen = self.poll()?;
            let mut changed = false;
            let mut still = Vec::new();
            for job in jobs.drain(..) {
                let state = match seen.get(&job.id) {
                    Some(s) if !ENDED.contains(&s.as_str()) => {
                        still.push(job);
                        continue;
                    }
                    Some(s) => s.clone(),
                    // Younger than MinJobAge jobs stay listed; a job gone from the list has ended.
                    None => "ENDED (no longer listed by squeue)".to_string(),
                };
                changed = true;
                let built = Self::built(&states);
                for &i in &job.nodes {
                    match self.committed(i, &built) {
                        Some(a) => states[i] = State::Done(a),
                        None => {
                            states[i] = State::Waiting;
                            if attempts[i] > self.config.retries && failure.is_none() {
                                failure = Some(SlurmError::JobFailed {
                                    instance: self.graph.nodes[i].id.clone(),
                                    job: job.id.clone(),
                                    state: state.clone(),
                                    log: job.log.clone(),
                                });
                            }
                        }
                    }
                }
            }
            jobs = still;
            pause = if changed { self.poll_min } else { pause.mul_f64(1.5).min(self.poll_max) };
        }
    }
}

#[cfg(test)]
mod tests;
