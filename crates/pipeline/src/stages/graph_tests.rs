//! `build_graph` on small pipeline files: how many instances of each stage, which are shared, what each method
//! pulls in, and which params a change of a key reaches. No stage runs; the folders are stand-ins.

use super::build_graph;
use crate::config::Pipeline;
use inscl_dag::Graph;
use std::collections::BTreeMap;
use std::path::Path;

/// A pipeline folder with a stand-in dataset, MiniLM and WordNet, and the given top-level and section text.
fn pipeline(dir: &Path, methods: &[&str], experts: bool, sections: &str) -> Pipeline {
    pipeline_with(dir, methods, experts, "", sections)
}

/// As [`pipeline`], with more `[embed]` keys.
fn pipeline_with(dir: &Path, methods: &[&str], experts: bool, embed: &str, sections: &str) -> Pipeline {
    std::fs::create_dir_all(dir.join("data/tasks")).unwrap();
    std::fs::create_dir_all(dir.join("minilm")).unwrap();
    std::fs::write(dir.join("minilm/config.json"), "{}").unwrap();
    std::fs::create_dir_all(dir.join("wordnet")).unwrap();
    std::fs::write(dir.join("wordnet/index.json"), "{}").unwrap();
    std::fs::write(dir.join("m.toml"), "default = \"Misc\"\n[categories]\nA = [\"a\"]\nB = [\"b\"]\nC = [\"c\"]\n").unwrap();
    let methods: Vec<String> = methods.iter().map(|m| format!("\"{m}\"")).collect();
    let text = format!(
        "methods = [{}]\nexperts = {experts}\n[dataset]\npath = \"data\"\nmapping = \"m.toml\"\n[orders]\nx = [\"A\", \"B\", \"C\"]\n\
         [embed]\nminilm = \"minilm\"\n{embed}[annotate]\nwordnet = \"wordnet\"\n{sections}",
        methods.join(", ")
    );
    let file = dir.join("p.toml");
    std::fs::write(&file, text).unwrap();
    Pipeline::load(&file).unwrap()
}

fn counts(g: &Graph) -> BTreeMap<&'static str, usize> {
    g.nodes.iter().fold(BTreeMap::new(), |mut m, n| {
        *m.entry(n.stage).or_default() += 1;
        m
    })
}

fn ids(g: &Graph) -> Vec<&str> {
    g.nodes.iter().map(|n| n.id.as_str()).collect()
}

#[test]
fn plain_replay_builds_no_embedding_distance_or_tags() {
    let d = tempfile::tempdir().unwrap();
    let g = build_graph(&pipeline(d.path(), &["none", "random"], false, ""), &inscl_store::Store::open(d.path().join("store")).unwrap()).unwrap();
    let c = counts(&g);
    // Stage 1 shared by both methods; stages 2 and 3 per method; every stage evaluated on the categories so far.
    let expected: BTreeMap<&str, usize> = [
        ("ingest", 1),
        ("tokenizer", 1),
        ("init", 1),
        ("sample", 1 + 2 * 2),
        ("finetune", 1 + 2 * 2),
        ("testset", 3),
        ("evaluate", 1 + 2 * (2 + 3)),
        ("metrics", 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(c, expected, "{:?}", ids(&g));
}

#[test]
fn each_method_pulls_in_exactly_what_it_needs() {
    let d = tempfile::tempdir().unwrap();
    let stages_of = |methods: &[&str]| {
        let g = build_graph(&pipeline(d.path(), methods, false, ""), &inscl_store::Store::open(d.path().join("store")).unwrap()).unwrap();
        let mut extra: Vec<String> = g
            .nodes
            .iter()
            .filter(|n| matches!(n.stage, "annotate" | "embed" | "distance" | "insinfo"))
            .map(|n| n.id.clone())
            .collect();
        extra.sort();
        extra
    };
    assert!(stages_of(&["none"]).is_empty());
    assert_eq!(stages_of(&["dynamic"]), ["distance/real", "embed/instructions/minilm"]);
    assert_eq!(stages_of(&["inscl-uniform"]), [
        "annotate/keyphrase",
        "distance/uniform",
        "embed/instructions/minilm",
        "embed/tags/minilm",
        "insinfo/x/2",
        "insinfo/x/3"
    ]);
    assert_eq!(stages_of(&["insinfo"]), ["annotate/keyphrase", "embed/tags/minilm", "insinfo/x/2", "insinfo/x/3"]);
    assert_eq!(stages_of(&["prototype-data"]), ["embed/instances/minilm"]);
    assert_eq!(stages_of(&["diverse-instruction"]), ["embed/instructions/minilm"]);
    // A sample instance is wired to exactly what its method reads.
    let g = build_graph(&pipeline(d.path(), &["inscl", "random"], false, ""), &inscl_store::Store::open(d.path().join("store")).unwrap()).unwrap();
    let roles = |id: &str| -> Vec<String> {
        let n = &g.nodes[g.find(id).unwrap()];
        n.inputs.iter().map(|(r, _)| r.clone()).collect()
    };
    assert_eq!(roles("sample/x/inscl/2"), ["ingest", "w", "insinfo"]);
    assert_eq!(roles("sample/x/random/2"), ["ingest"]);
}

#[test]
fn experts_share_stage_one_and_add_one_training_per_category() {
    let d = tempfile::tempdir().unwrap();
    let g = build_graph(&pipeline(d.path(), &["none", "random", "inscl"], true, ""), &inscl_store::Store::open(d.path().join("store")).unwrap()).unwrap();
    let c = counts(&g);
    // single/A is stage 1 of every method and A's expert; B and C get their own experts.
    assert_eq!(c["finetune"], 1 + 3 * 2 + 2, "{:?}", ids(&g));
    assert_eq!(c["report"], 1);
    assert_eq!(ids(&g).iter().filter(|i| **i == "finetune/single/A").count(), 1);
    let metrics = &g.nodes[g.find("metrics/x/inscl").unwrap()];
    // The R cells of 3 stages (1 + 2 + 3) and the three experts.
    assert_eq!(metrics.inputs.len(), 6 + 3);
    assert_eq!(metrics.params["cells"]["r/002/001"], serde_json::json!([2, 1]));
}

/// The (id, params) pairs that differ between two graphs of the same shape.
fn changed_params(a: &Graph, b: &Graph) -> Vec<String> {
    assert_eq!(ids(a), ids(b));
    a.nodes.iter().zip(&b.nodes).filter(|(x, y)| x.params != y.params || x.version != y.version).map(|(x, _)| x.id.clone()).collect()
}

#[test]
fn runtime_knobs_stay_out_of_every_key_and_lr_reaches_only_the_trainings() {
    let d = tempfile::tempdir().unwrap();
    let methods = ["none", "random", "inscl"];
    let base = build_graph(&pipeline(d.path(), &methods, true, ""), &inscl_store::Store::open(d.path().join("store")).unwrap()).unwrap();
    let knobs = "[finetune]\nsave_every_secs = 123\ndevice = \"cpu\"\ngradient_checkpointing = true\n[evaluate]\nbatch_size = 3\ndevice = \"cpu\"\n";
    let d2 = tempfile::tempdir().unwrap();
    let knobbed = build_graph(&pipeline_with(d2.path(), &methods, true, "batch_size = 7\n", knobs), &inscl_store::Store::open(d2.path().join("store")).unwrap()).unwrap();
    if !crate::device::cuda_present() {
        // On a CPU-only machine "auto" and "cpu" are the same precision, so no key moves at all.
        assert_eq!(changed_params(&base, &knobbed), Vec::<String>::new());
    }
    let d3 = tempfile::tempdir().unwrap();
    let lr = build_graph(&pipeline(d3.path(), &methods, true, "[finetune]\nlr = 1e-4\n"), &inscl_store::Store::open(d3.path().join("store")).unwrap()).unwrap();
    let changed = changed_params(&base, &lr);
    assert!(!changed.is_empty());
    // The report shows the settings it was made with, so it moves too; every other instance moves only
    // through its inputs' content.
    let trainings: Vec<&String> = changed.iter().filter(|id| id.starts_with("finetune/")).collect();
    assert_eq!(trainings.len(), counts(&base)["finetune"], "{changed:?}");
    assert_eq!(changed.len(), trainings.len() + 1, "{changed:?}");
    assert!(changed.contains(&"report".to_string()));
}

#[test]
fn the_device_kind_reaches_the_key_as_precision() {
    use crate::device::DeviceKind;
    use crate::sections::FinetuneSection;
    let f = FinetuneSection::default();
    let (cpu, cuda) = (super::FinetuneParams::of(&f, DeviceKind::Cpu), super::FinetuneParams::of(&f, DeviceKind::Cuda));
    let key = |p: &super::FinetuneParams| {
        inscl_store::Spec::new("finetune", "2", serde_json::to_value(p).unwrap()).key()
    };
    assert_ne!(key(&cpu), key(&cuda));
    assert_eq!(serde_json::to_value(&cpu).unwrap()["precision"], "f32");
    assert_eq!(serde_json::to_value(&cuda).unwrap()["precision"], "bf16");
    assert_eq!(serde_json::to_value(&cpu).unwrap()["libtorch"], crate::device::LIBTORCH_VERSION);
    // The save cadence is not a param at all.
    assert!(serde_json::to_value(&cpu).unwrap().get("save_every_secs").is_none());
}
