use super::*;
use crate::graph::{Node, NodeInput, Resolved};
use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use inscl_store::{Outputs, SourceTree};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The test graph's stage values are the functions themselves.
type TestFn = Box<dyn Fn(&StageCtx) -> Result<Outputs, crate::StageError> + Send + Sync>;

fn exec(node: &Node, ctx: &StageCtx) -> Result<Outputs, crate::StageError> {
    (node.stage_as::<TestFn>().expect("a test function"))(ctx)
}

fn run(store: &Store, pipeline: &str, g: &Graph, opts: &RunOptions) -> Result<RunSummary, DagError> {
    super::run(store, pipeline, g, opts, &exec)
}

fn ints(v: Vec<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(v))]).unwrap()
}

/// a: the source's file count, times `scale`, clamped at `cap`; b: a's value plus one. Raising `cap` above the
/// value changes a's key but not its content, which is what early cutoff is about.
fn graph(scale: i64, cap: i64, calls: Arc<AtomicUsize>) -> Graph {
    let tree = Arc::new(SourceTree::from_memory("src", &[("f1".into(), b"1".to_vec()), ("f2".into(), b"2".to_vec())]));
    let mut g = Graph::default();
    let c1 = calls.clone();
    let a = g.push(Node {
        id: "a".into(),
        stage: "a",
        version: "1",
        params: serde_json::json!({"scale": scale, "cap": cap}),
        inputs: vec![("source".into(), NodeInput::Source(tree))],
        value: Arc::new(Box::new(move |ctx: &StageCtx| {
            c1.fetch_add(1, Ordering::SeqCst);
            let Some(Resolved::Source(t)) = ctx.inputs.get("source") else { panic!("no source") };
            Ok(Outputs::default().table("t", ints(vec![(t.files.len() as i64 * scale).min(cap)])))
        }) as TestFn),
    });
    let c2 = calls;
    g.push(Node {
        id: "b".into(),
        stage: "b",
        version: "1",
        params: serde_json::json!({}),
        inputs: vec![("a".into(), NodeInput::Node(a))],
        value: Arc::new(Box::new(move |ctx: &StageCtx| {
            c2.fetch_add(100, Ordering::SeqCst);
            let Some(Resolved::Artifact(a)) = ctx.inputs.get("a") else { panic!("no a") };
            let t = a.table("t")?;
            let v = t.column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
            Ok(Outputs::default().table("t", ints(vec![v + 1])))
        }) as TestFn),
    });
    g
}

fn outcomes(s: &RunSummary) -> Vec<Outcome> {
    s.nodes.iter().map(|n| n.outcome.clone()).collect()
}

#[test]
fn second_run_is_a_pure_cache_hit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let g = graph(3, 100, calls.clone());
    let s1 = run(&store, "p", &g, &RunOptions::default()).unwrap();
    assert_eq!(outcomes(&s1), vec![Outcome::Built, Outcome::Built]);
    let s2 = run(&store, "p", &g, &RunOptions::default()).unwrap();
    assert_eq!(outcomes(&s2), vec![Outcome::Cached, Outcome::Cached]);
    assert_eq!(s2.built(), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 101, "each stage function ran once");
}

#[test]
fn early_cutoff_keeps_downstream_when_content_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    run(&store, "p", &graph(3, 100, calls.clone()), &RunOptions::default()).unwrap();
    // cap 100 -> 200: a's key changes, its output (6) does not, so b is not rebuilt.
    let s = run(&store, "p", &graph(3, 200, calls.clone()), &RunOptions::default()).unwrap();
    assert_eq!(outcomes(&s), vec![Outcome::Built, Outcome::Cached]);
    assert_ne!(s.nodes[0].key, None);
    // scale 3 -> 4: a's content changes, so b is rebuilt.
    let s = run(&store, "p", &graph(4, 200, calls.clone()), &RunOptions::default()).unwrap();
    assert_eq!(outcomes(&s), vec![Outcome::Built, Outcome::Built]);
    assert_eq!(calls.load(Ordering::SeqCst), 1 + 100 + 1 + 1 + 100);
}

#[test]
fn only_force_and_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let g = graph(3, 100, calls.clone());
    let dry = run(&store, "p", &g, &RunOptions { dry_run: true, ..Default::default() }).unwrap();
    assert_eq!(outcomes(&dry), vec![Outcome::WouldBuild, Outcome::WouldBuildAfter("a".into())]);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let e = run(&store, "p", &g, &RunOptions { only: Some("b".into()), ..Default::default() }).unwrap_err();
    assert!(e.to_string().contains("run without --only first"), "{e}");
    run(&store, "p", &g, &RunOptions { only: Some("a".into()), ..Default::default() }).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let s = run(&store, "p", &g, &RunOptions { force: vec!["a".into()], ..Default::default() }).unwrap();
    assert_eq!(outcomes(&s), vec![Outcome::Forced, Outcome::Built]);
    let e = run(&store, "p", &g, &RunOptions { only: Some("zzz".into()), ..Default::default() }).unwrap_err();
    assert!(e.to_string().contains("no stage named 'zzz'"), "{e}");
}

#[test]
fn a_worker_builds_exactly_its_instances_and_leaves_the_record_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let g = graph(3, 100, calls.clone());
    let only_b = RunOptions { instances: vec!["b".into()], ..Default::default() };
    let e = run(&store, "p", &g, &only_b).unwrap_err();
    assert!(e.to_string().contains("b needs a, which is not in the store"), "{e}");
    let s = run(&store, "p", &g, &RunOptions { instances: vec!["a".into()], ..Default::default() }).unwrap();
    assert_eq!(outcomes(&s), vec![Outcome::Built, Outcome::Skipped]);
    let s = run(&store, "p", &g, &only_b).unwrap();
    assert_eq!(outcomes(&s), vec![Outcome::Cached, Outcome::Built]);
    assert_eq!(calls.load(Ordering::SeqCst), 101);
    assert!(store.load_run_record("p").unwrap().is_none(), "workers leave the run record to the driver");
    let e = run(&store, "p", &g, &RunOptions { instances: vec!["zz".into()], ..Default::default() }).unwrap_err();
    assert!(e.to_string().contains("no stage instance 'zz'"), "{e}");
}
