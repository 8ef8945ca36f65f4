use super::*;
use crate::sbatch::Output;
use inscl_dag::{Node, RunOptions, StageCtx};
use inscl_pipeline::executor::SlurmResources;
use inscl_store::Outputs;
use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

type TestFn = Box<dyn Fn(&StageCtx) -> Result<Outputs, inscl_dag::StageError> + Send + Sync>;

/// a → b1, b2, b3 (stage b) → c: each writes one file.
fn graph() -> Graph {
    let mut g = Graph::default();
    let f = |text: &'static str| Arc::new(Box::new(move |_: &StageCtx| Ok(Outputs::default().file("out", text.as_bytes().to_vec()))) as TestFn);
    let a = g.push(Node { id: "a".into(), stage: "a", version: "1", params: serde_json::json!({}), inputs: vec![], value: f("a") });
    let bs: Vec<usize> = ["b1", "b2", "b3"]
        .iter()
        .map(|id| {
            let inputs = vec![("a".into(), NodeInput::Node(a))];
            g.push(Node { id: id.to_string(), stage: "b", version: "1", params: serde_json::json!({ "id": id }), inputs, value: f("b") })
        })
        .collect();
    let inputs = bs.iter().map(|&b| (g.nodes[b].id.clone(), NodeInput::Node(b))).collect();
    g.push(Node { id: "c".into(), stage: "c", version: "1", params: serde_json::json!({}), inputs, value: f("c") });
    g
}

/// A cluster that runs each submitted job at once with the dag runner (as the worker would), except the jobs
/// whose first instance is in `fail`, which end FAILED without committing.
struct Fake<'a> {
    store: &'a Store,
    graph: &'a Graph,
    fail: RefCell<Vec<String>>,
    jobs: RefCell<Vec<(String, Vec<String>, String)>>,
    /// Raised at the first sbatch, as a Ctrl-C would be while the job runs.
    ctrl_c: Option<&'a AtomicBool>,
    cancels: RefCell<Vec<Vec<String>>>,
    logs: RefCell<Vec<String>>,
}

impl Cluster for Fake<'_> {
    fn run(&self, program: &str, args: &[String]) -> Result<Output, SlurmError> {
        let ok = |stdout: String| Ok(Output { code: 0, stdout, stderr: String::new() });
        match program {
            "sbatch" => {
                let wrap = args.iter().find_map(|a| a.strip_prefix("--wrap=exec ")).expect("a wrapped command");
                let words: Vec<String> = wrap.split(' ').map(|w| w.trim_matches('\'').to_string()).collect();
                let ids: Vec<String> = words.windows(2).filter(|w| w[0] == "--instance").map(|w| w[1].clone()).collect();
                let job = (self.jobs.borrow().len() + 1).to_string();
                self.logs.borrow_mut().extend(args.iter().filter_map(|a| a.strip_prefix("--output=")).map(String::from));
                let mut fail = self.fail.borrow_mut();
                let state = if let Some(k) = fail.iter().position(|f| *f == ids[0]) {
                    fail.remove(k);
                    "FAILED"
                } else {
                    let exec = |node: &Node, ctx: &StageCtx| (node.stage_as::<TestFn>().unwrap())(ctx);
                    let opts = RunOptions { instances: ids.clone(), ..Default::default() };
                    inscl_dag::run(self.store, "p", self.graph, &opts, &exec).unwrap();
                    "COMPLETED"
                };
                self.jobs.borrow_mut().push((job.clone(), ids, state.into()));
                if let Some(flag) = self.ctrl_c {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                ok(format!("{job}\n"))
            }
            "squeue" => {
                assert!(args.iter().any(|a| a == "--name=inscl-test"), "one query for the run's jobs, by name");
                ok(self.jobs.borrow().iter().map(|(j, _, s)| format!("{j}|{s}\n")).collect())
            }
            "scancel" => {
                self.cancels.borrow_mut().push(args.to_vec());
                ok(String::new())
            }
            other => panic!("unexpected {other}"),
        }
    }
}

fn config(bundle: usize, retries: u32) -> SlurmConfig {
    let b = SlurmResources { bundle: Some(bundle), gres: Some("gpu:1".into()), ..Default::default() };
    SlurmConfig { defaults: SlurmResources::default(), max_jobs: 10, retries, stages: [("b".to_string(), b)].into() }
}

fn driver<'a>(store: &'a Store, g: &'a Graph, config: &'a SlurmConfig, cluster: &'a Fake<'a>) -> Driver<'a> {
    Driver {
        store,
        graph: g,
        config,
        cluster,
        job_name: "inscl-test".into(),
        worker: vec!["inscl-exec".into(), "build".into(), "p.toml".into()],
        poll_min: Duration::from_millis(1),
        poll_max: Duration::from_millis(5),
        interrupted: cluster.ctrl_c,
    }
}

fn fake<'a>(store: &'a Store, graph: &'a Graph, fail: &[&str]) -> Fake<'a> {
    Fake { store, graph, fail: RefCell::new(fail.iter().map(|s| s.to_string()).collect()), jobs: Default::default(), ctrl_c: None, cancels: Default::default(), logs: Default::default() }
}

#[test]
fn instances_go_out_when_ready_bundled_per_stage_and_the_store_says_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let g = graph();
    let cfg = config(2, 0);
    let cluster = fake(&store, &g, &[]);
    let s = driver(&store, &g, &cfg, &cluster).drive().unwrap();
    // a, then b1+b2 and b3 (bundles of 2), then c.
    assert_eq!(s, DriveSummary { jobs_submitted: 4, instances_submitted: 5 });
    let order: Vec<Vec<String>> = cluster.jobs.borrow().iter().map(|j| j.1.clone()).collect();
    assert_eq!(order, vec![vec!["a".to_string()], vec!["b1".into(), "b2".into()], vec!["b3".into()], vec!["c".into()]]);
    assert!(dir.path().join("logs/slurm/b").is_dir(), "the log folder exists before sbatch");
    // A second drive finds everything committed and submits nothing.
    let again = fake(&store, &g, &[]);
    assert_eq!(driver(&store, &g, &cfg, &again).drive().unwrap(), DriveSummary::default());
    assert!(again.jobs.borrow().is_empty());
}

#[test]
fn a_failed_job_names_instance_job_state_and_log_and_a_rerun_or_retry_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let g = graph();
    let cfg = config(1, 0);
    let cluster = fake(&store, &g, &["b2"]);
    let e = driver(&store, &g, &cfg, &cluster).drive().unwrap_err();
    let SlurmError::JobFailed { instance, job, state, log } = &e else { panic!("{e}") };
    assert_eq!((instance.as_str(), state.as_str()), ("b2", "FAILED"));
    let (failed_job, ids, _) = cluster.jobs.borrow().iter().find(|j| j.2 == "FAILED").cloned().unwrap();
    assert_eq!((job.clone(), ids), (failed_job, vec!["b2".to_string()]));
    assert!(log.starts_with(dir.path().join("logs/slurm/b")) && log.extension().is_some_and(|x| x == "log"), "{}", log.display());
    assert!(e.to_string().contains(&log.display().to_string()), "{e}");
    assert!(cluster.jobs.borrow().iter().all(|j| j.1 != vec!["c".to_string()]), "c waits for b2");
    // A rerun submits only what is missing: b2, then c.
    let rerun = fake(&store, &g, &[]);
    assert_eq!(driver(&store, &g, &cfg, &rerun).drive().unwrap(), DriveSummary { jobs_submitted: 2, instances_submitted: 2 });
    // With one retry, a single failure is absorbed within the run: a, b1, b2 (failed), b3, b2 again, c.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let cfg = config(1, 1);
    let cluster = fake(&store, &g, &["b2"]);
    assert_eq!(driver(&store, &g, &cfg, &cluster).drive().unwrap().jobs_submitted, 6);
}

#[test]
fn sbatch_gets_the_stage_resources_and_one_job_name() {
    let cfg = config(1, 0);
    let a = sbatch_args("inscl-x", std::path::Path::new("/s/logs/slurm/b/k.log"), &cfg.for_stage("b"), &["w".into(), "it's".into()]);
    assert_eq!(&a[..3], &["--parsable", "--job-name=inscl-x", "--output=/s/logs/slurm/b/k.log"]);
    assert!(a.contains(&"--gres=gpu:1".to_string()), "{a:?}");
    assert_eq!(a.last().unwrap(), "--wrap=exec 'w' 'it'\\''s'");
    assert!(!sbatch_args("j", std::path::Path::new("l"), &cfg.for_stage("a"), &[]).iter().any(|x| x.starts_with("--gres")));
}

#[test]
fn ctrl_c_cancels_the_runs_jobs_by_name_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let g = graph();
    let cfg = config(1, 0);
    let flag = AtomicBool::new(false);
    let cluster = Fake { ctrl_c: Some(&flag), ..fake(&store, &g, &[]) };
    let e = driver(&store, &g, &cfg, &cluster).drive().unwrap_err();
    let SlurmError::Interrupted { job_name, in_flight } = &e else { panic!("{e}") };
    assert_eq!((job_name.as_str(), *in_flight), ("inscl-test", 1));
    assert_eq!(*cluster.cancels.borrow(), vec![vec!["--name=inscl-test".to_string()]], "one scancel for the run's jobs");
    assert_eq!(cluster.jobs.borrow().len(), 1, "nothing is submitted after Ctrl-C");
    // a was committed by its job before the interrupt was seen; the rerun builds only the rest.
    let rerun = fake(&store, &g, &[]);
    assert_eq!(driver(&store, &g, &cfg, &rerun).drive().unwrap(), DriveSummary { jobs_submitted: 4, instances_submitted: 4 });
}

#[test]
fn a_retried_job_keeps_the_failed_attempts_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let g = graph();
    let cfg = config(1, 1);
    let cluster = fake(&store, &g, &["b2"]);
    driver(&store, &g, &cfg, &cluster).drive().unwrap();
    // The log paths the driver handed to sbatch (`--output=`).
    let named: Vec<String> = cluster.logs.borrow().iter().filter(|l| l.contains("/b/")).cloned().collect();
    assert_eq!(named.iter().filter(|l| l.ends_with(".retry1.log")).count(), 1, "{named:?}");
    assert_eq!(named.len(), 4, "b1, b2, b3 and b2's retry: {named:?}");
}
