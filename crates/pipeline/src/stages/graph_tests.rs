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
    // Stage 1 shared by both methods; stages 2 and 3 per method; every stage evaluated on the categories so far
    // and on the next one (FWT), and the base model zero-shot on all three.
    let expected: BTreeMap<&str, usize> = [
        ("ingest", 1),
        ("tokenizer", 1),
        ("init", 1),
        ("sample", 1 + 2 * 2),
        ("finetune", 1 + 2 * 2),
        ("testset", 3),
        ("evaluate", 3 + (1 + 1) + 2 * ((2 + 1) + 3)),
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
    // The R cells of 3 stages (1 + 2 + 3), the three experts, the base model on each category and the two
    // next-category scores of FWT.
    assert_eq!(metrics.inputs.len(), 6 + 3 + 3 + 2);
    assert_eq!(metrics.params["next"]["next/001"], serde_json::json!([1, 2]));
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

#[test]
fn each_seed_is_a_replicate_and_one_seed_keeps_every_key() {
    let store = |d: &Path| inscl_store::Store::open(d.join("store")).unwrap();
    let methods = ["none", "random"];
    let (d1, d2, d3) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = build_graph(&pipeline(d1.path(), &methods, true, ""), &store(d1.path())).unwrap();
    let one = build_graph(&pipeline_with(d2.path(), &methods, true, "", "").with_seeds(&[1]), &store(d2.path())).unwrap();
    // `seeds = [1]` names the seed in the ids but computes exactly what the default does (only the report,
    // which shows the settings, says that the seeds were given).
    let params = |g: &Graph| g.nodes.iter().filter(|n| n.stage != "report").map(|n| (n.stage, n.params.clone())).collect::<Vec<_>>();
    assert_eq!(params(&plain), params(&one));
    assert!(ids(&one).contains(&"finetune/seed1/single/A"), "{:?}", ids(&one));
    let two = build_graph(&pipeline_with(d3.path(), &methods, true, "", "").with_seeds(&[1, 2]), &store(d3.path())).unwrap();
    let (c1, c2) = (counts(&plain), counts(&two));
    // Everything from the base model on is per seed; ingest, the tokenizer, the test sets and the
    // stage-1/expert mixes are not.
    for stage in ["init", "finetune", "evaluate", "metrics"] {
        assert_eq!(c2[stage], 2 * c1[stage], "{stage}");
    }
    for stage in ["ingest", "tokenizer", "testset"] {
        assert_eq!(c2[stage], c1[stage], "{stage}");
    }
    assert_eq!(c2["sample"], 3 + 2 * (c1["sample"] - 3), "three single mixes shared, the replay mixes per seed");
    let node = |id: &str| &two.nodes[two.find(id).unwrap_or_else(|| panic!("{id}: {:?}", ids(&two)))];
    assert_eq!(node("finetune/seed2/x/random/2").params["seed"], 2);
    assert_eq!(node("sample/seed2/x/random/2").params["seed"], 2);
    assert_eq!(node("base/seed2/tiny").params["init_seed"], 2);
    assert_eq!(node("metrics/seed2/x/none").params["seed"], 2);
    assert_eq!(ids(&two).iter().filter(|i| i.starts_with("report")).count(), 1);
}

#[test]
fn ewc_and_lwf_train_on_no_replay_mixes_with_their_regulariser() {
    let d = tempfile::tempdir().unwrap();
    let g = build_graph(
        &pipeline(d.path(), &["none", "ewc", "lwf"], true, "[ewc]\nlambda = 7.5\n[lwf]\ntemperature = 3.0\nweight = 0.5\n"),
        &inscl_store::Store::open(d.path().join("store")).unwrap(),
    )
    .unwrap();
    let node = |id: &str| &g.nodes[g.find(id).unwrap_or_else(|| panic!("{id}: {:?}", ids(&g)))];
    let input = |id: &str, role: &str| {
        let n = node(id);
        n.inputs.iter().find(|(r, _)| r == role).map(|(_, i)| match i {
            inscl_dag::NodeInput::Node(k) => g.nodes[*k].id.clone(),
            inscl_dag::NodeInput::Source(_) => "source".into(),
        })
    };
    // No sample instance of their own: the same mixes as No Replay.
    assert!(!ids(&g).iter().any(|i| i.starts_with("sample/x/ewc") || i.starts_with("sample/x/lwf")));
    assert_eq!(input("finetune/x/ewc/2", "mix").as_deref(), Some("sample/x/none/2"));
    // EWC's Fisher is taken on the previous stage's mix; LwF's teacher is its init.
    assert_eq!(input("finetune/x/ewc/3", "prev_mix").as_deref(), Some("sample/x/none/2"));
    assert_eq!(input("finetune/x/ewc/2", "prev_mix").as_deref(), Some("sample/single/A"));
    assert_eq!(input("finetune/x/lwf/3", "prev_mix"), None);
    assert_eq!(input("finetune/x/lwf/3", "init").as_deref(), Some("finetune/x/lwf/2"));
    assert_eq!(node("finetune/x/ewc/2").params["regularizer"], serde_json::json!({"kind": "ewc", "lambda": 7.5}));
    assert_eq!(
        node("finetune/x/lwf/2").params["regularizer"],
        serde_json::json!({"kind": "lwf", "temperature": 3.0, "weight": 0.5})
    );
    // Stage 1 is shared and unregularised; No Replay's trainings carry no regulariser key at all.
    assert!(node("finetune/single/A").params.get("regularizer").is_none());
    assert!(node("finetune/x/none/2").params.get("regularizer").is_none());
}

#[test]
fn joint_trains_one_model_per_order_on_every_category() {
    let d = tempfile::tempdir().unwrap();
    let pl = pipeline(d.path(), &["none"], true, "");
    let pl = Pipeline { joint: true, ..pl };
    let g = build_graph(&pl, &inscl_store::Store::open(d.path().join("store")).unwrap()).unwrap();
    let node = |id: &str| &g.nodes[g.find(id).unwrap_or_else(|| panic!("{id}: {:?}", ids(&g)))];
    assert_eq!(node("sample/joint/x").params["categories"], serde_json::json!(["A", "B", "C"]));
    assert!(g.find("finetune/joint/x").is_some());
    let metrics = node("metrics/x/none");
    let joint: Vec<&String> = metrics.inputs.iter().map(|(r, _)| r).filter(|r| r.starts_with("joint/")).collect();
    assert_eq!(joint, ["joint/000", "joint/001", "joint/002"]);
}

#[test]
fn only_the_openai_tagger_keys_its_reply_cap() {
    let d = tempfile::tempdir().unwrap();
    let store = inscl_store::Store::open(d.path().join("store")).unwrap();
    let annotate = |sections: &str, id: &str| {
        let g = build_graph(&pipeline(d.path(), &["inscl"], false, sections), &store).unwrap();
        g.nodes[g.find(id).unwrap_or_else(|| panic!("{id}: {:?}", ids(&g)))].params.clone()
    };
    let openai = "tagger = \"openai\"\napi_base = \"http://127.0.0.1:9\"\nmodel = \"m\"\n";
    let capped = annotate(&format!("{openai}max_tokens = 300\n"), "annotate/openai");
    assert_eq!(capped["max_tokens"], serde_json::json!(300));
    let default = annotate(openai, "annotate/openai");
    assert_eq!(default["max_tokens"], serde_json::json!(inscl_annotate::DEFAULT_MAX_TOKENS));
    // The keyphrase tagger's key has no such field, so its cached tags stay valid.
    assert!(annotate("", "annotate/keyphrase").get("max_tokens").is_none());
}

#[test]
fn prototype_data_instances_take_the_encoder_of_instance_encoder() {
    let d = tempfile::tempdir().unwrap();
    let store = inscl_store::Store::open(d.path().join("store")).unwrap();
    let graph = |embed: &str| build_graph(&pipeline_with(d.path(), &["prototype-data"], false, embed, ""), &store).unwrap();
    let g = graph("");
    assert!(g.find("embed/instances/minilm").is_some(), "{:?}", ids(&g));
    let g = graph("instance_encoder = \"llm-mean\"\n");
    let node = &g.nodes[g.find("embed/instances/llm-mean").unwrap_or_else(|| panic!("{:?}", ids(&g)))];
    assert_eq!(node.params["encoder"], "llm-mean");
    let encoder = node.inputs.iter().find(|(r, _)| r == "encoder").map(|(_, i)| match i {
        inscl_dag::NodeInput::Node(k) => g.nodes[*k].stage,
        inscl_dag::NodeInput::Source(_) => "source",
    });
    assert_eq!(encoder, Some("init"), "the mean input embedding of the base model");
}
