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
