//! The `inscl` commands a researcher touches first: run, status, show, verify, gc, and their errors.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// An ingest-only pipeline (no orders): the store and CLI behaviour without training.
fn pipeline(dir: &Path, seed: u64) -> PathBuf {
    let data = dir.join("data");
    if !data.exists() {
        tiny_dataset(&data, 4, 20);
    }
    let p = dir.join("tiny.toml");
    let body = format!(
        "name = \"tiny\"\n[dataset]\npath = \"data\"\nmapping = \"{}\"\nseed = {seed}\n",
        mapping()
    );
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn second_run_is_a_pure_cache_hit_and_status_explains_staleness() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let p = pipeline(tmp.path(), 1);
    let p = p.to_str().unwrap();

    let status = run(&store, &["status", p]);
    assert!(text(&status).contains("ingest") && text(&status).contains("missing"));
    assert!(text(&status).contains("1 instances: 0 cached, 1 missing, 0 stale (to build)"), "{}", text(&status));
    assert_eq!(status.status.code(), Some(1), "status exits 1 when something is to build");
    let dry = run(&store, &["run", p, "--dry-run"]);
    assert!(text(&dry).contains("dry run: nothing was built; 1 to build, 0 cached"), "{}", text(&dry));
    assert!(!text(&dry).contains("would build"), "instances are listed only with -v");
    assert!(text(&run(&store, &["run", p, "--dry-run", "-v"])).contains("would build"));
    assert!(!store.join("ingest").exists());

    let first = run(&store, &["run", p]);
    assert!(first.status.success());
    assert!(text(&first).contains("built 1 (ingest 1), cached 0, failed 0 in"), "{}", text(&first));
    let second = run(&store, &["run", p]);
    assert!(text(&second).contains("built 0, cached 1, failed 0 in"), "{}", text(&second));
    assert!(!text(&second).contains("ingest "), "a cached run lists no instance without -v: {}", text(&second));
    let up_to_date = run(&store, &["status", p]);
    assert!(text(&up_to_date).contains("1 instances: 1 cached, 0 missing, 0 stale (up to date)"), "{}", text(&up_to_date));
    assert_eq!(up_to_date.status.code(), Some(0));
    let json = run(&store, &["status", p, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("status --json prints one JSON object");
    assert_eq!(json["up_to_date"], true);
    assert_eq!(json["counts"]["cached"], 1);
    assert_eq!(json["instances"][0]["id"], "ingest");
    assert_eq!(json["instances"][0]["state"], "cached");

    pipeline(tmp.path(), 2);
    let stale_out = run(&store, &["status", p]);
    assert_eq!(stale_out.status.code(), Some(1));
    let stale = text(&stale_out);
    assert!(stale.contains("stale"), "{stale}");
    let json: serde_json::Value = serde_json::from_slice(&run(&store, &["status", p, "--json"]).stdout).unwrap();
    assert_eq!(json["instances"][0]["state"], "stale");
    assert!(json["instances"][0]["because"][0].as_str().unwrap().contains("ingest.seed 1 → 2"), "{json}");
    assert!(stale.contains("because param ingest.seed 1 → 2"), "{stale}");
    std::fs::write(tmp.path().join("data/tasks/task000_tiny.json"), b"{}").unwrap();
    let broken = run(&store, &["run", p]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(text(&broken).contains("task000_tiny.json: field 'Definition': missing"), "{}", text(&broken));
}

#[test]
fn show_prints_schema_provenance_and_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let p = pipeline(tmp.path(), 1);
    run(&store, &["run", p.to_str().unwrap()]);
    let dir = artifact_dirs(&store, "ingest").pop().unwrap();
    let key = dir.file_name().unwrap().to_str().unwrap();
    let shown = text(&run(&store, &["show", &key[..10], "--head", "2"]));
    for needle in ["artifact  ingest/", "inscl.stage = ingest", "instance_id: str", "outputs: list[str]", "weight: f64", "shape: (2, 7)"] {
        assert!(shown.contains(needle), "missing {needle:?} in:\n{shown}");
    }
    let file = dir.join("tasks.parquet");
    let shown = text(&run(&store, &["show", file.to_str().unwrap()]));
    assert!(shown.contains("(4 rows)") && shown.contains("inscl.key = "), "{shown}");
    let missing = run(&store, &["show", "0123456789"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("no artifact matches '0123456789'"));
}

#[test]
fn gc_keeps_what_the_last_runs_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let p = pipeline(tmp.path(), 1);
    run(&store, &["run", p.to_str().unwrap()]);
    pipeline(tmp.path(), 2);
    run(&store, &["run", p.to_str().unwrap()]);
    assert_eq!(artifact_dirs(&store, "ingest").len(), 2);
    let dry = text(&run(&store, &["gc", "--dry-run"]));
    assert!(dry.contains("would remove") && dry.contains("1 to remove"), "{dry}");
    assert_eq!(artifact_dirs(&store, "ingest").len(), 2);
    assert!(run(&store, &["gc"]).status.success());
    assert_eq!(artifact_dirs(&store, "ingest").len(), 1);
    assert!(text(&run(&store, &["run", p.to_str().unwrap()])).contains("built 0, cached 1"), "the live one was kept");
}

#[test]
fn bad_input_is_a_clear_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = run(&store, &["ingest", "superni", "/nonexistent/folder", "--mapping", &mapping()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("/nonexistent/folder: no such folder"), "{}", text(&out));
    let data = tmp.path().join("data");
    tiny_dataset(&data, 2, 5);
    std::fs::write(data.join("tasks/task001_tiny.json"), b"{\"Definition\": [\"x\"], \xff").unwrap();
    let out = run(&store, &["ingest", "superni", data.to_str().unwrap(), "--mapping", &mapping()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("task001_tiny.json: not valid UTF-8 (byte 22)"), "{}", text(&out));
    assert!(artifact_dirs(&store, "ingest").is_empty());
    let bad_pipeline = tmp.path().join("bad.toml");
    std::fs::write(&bad_pipeline, "[dataset]\nseed = 3\n").unwrap();
    let out = run(&store, &["run", bad_pipeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("bad.toml: ") && text(&out).contains("missing field `path`"), "{}", text(&out));
}

/// `inscl emd` on Parquet files built from a POT fixture case prints POT's `ot.emd2` value.
#[test]
fn emd_command_matches_pot_on_a_fixture_case() {
    use arrow::array::{FixedSizeListArray, Float32Array, Float64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    let fixtures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_root().join("crates/distance/fixtures/emd_cases.json")).unwrap()).unwrap();
    let case = fixtures["exact"].as_array().unwrap().iter().find(|c| c["name"] == "n10_m17_d8_weighted").unwrap();
    let dim = case["dim"].as_i64().unwrap() as i32;
    let floats = |key: &str| -> Vec<f64> { case[key].as_str().unwrap().split_whitespace().map(|v| v.parse().unwrap()).collect() };
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, points: Vec<f64>, weights: Vec<f64>| {
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        let values = Float32Array::from(points.iter().map(|&v| v as f32).collect::<Vec<_>>());
        let emb = FixedSizeListArray::new(item.clone(), dim, Arc::new(values), None);
        let schema = Schema::new(vec![
            Field::new("embedding", DataType::FixedSizeList(item, dim), false),
            Field::new("weight", DataType::Float64, false),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(emb), Arc::new(Float64Array::from(weights))]).unwrap();
        let path = tmp.path().join(name);
        let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    };
    let a = write("a.parquet", floats("a"), floats("wa"));
    let b = write("b.parquet", floats("b"), floats("wb"));
    let out = run(&tmp.path().join("store"), &["emd", "--a", a.to_str().unwrap(), "--b", b.to_str().unwrap()]);
    assert!(out.status.success());
    let ours: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let pot: f64 = case["emd2"].as_str().unwrap().parse().unwrap();
    assert!((ours - pot).abs() <= 1e-9 * pot.abs().max(1.0), "ours {ours} vs POT {pot}");
    let uniform = run(&tmp.path().join("store"), &["emd", "--a", a.to_str().unwrap(), "--b", b.to_str().unwrap(), "--uniform"]);
    let u: f64 = String::from_utf8_lossy(&uniform.stdout).trim().parse().unwrap();
    assert_ne!(u, ours, "--uniform ignores the weight column");
    let missing = run(&tmp.path().join("store"), &["emd", "--a", a.to_str().unwrap(), "--b", "/nonexistent.parquet"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("/nonexistent.parquet"));
}

/// The paper's set-up on real SuperNI expands to every stage instance without running any (no GPU needed).
#[test]
fn superni_smollm2_pipeline_passes_a_dry_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = repo_root().join("pipelines/superni-smollm2.toml");
    let out = run(&tmp.path().join("store"), &["run", p.to_str().unwrap(), "--dry-run", "-v"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    for id in ["base/SmolLM2-135M-Instruct.Q4_1.gguf", "distance/real", "distance/uniform", "insinfo/reverse/16",
        "sample/random/prototype-data/16", "finetune/curriculum/inscl/16", "metrics/reverse/diverse-instruction", "report"] {
        assert!(t.contains(id), "no {id} in the dry run");
    }
    assert!(t.contains("dry run: nothing was built"));
}

/// `inscl dbscan` on a Parquet file of a scikit-learn fixture case prints sklearn's labels, one per line.
#[test]
fn dbscan_command_prints_scikit_learn_labels() {
    use arrow::array::{FixedSizeListArray, Float32Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use base64::Engine;
    use std::sync::Arc;

    let fixtures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_root().join("crates/insinfo/fixtures/dbscan_cases.json")).unwrap()).unwrap();
    let case = &fixtures["cases"][0];
    let dim = case["dim"].as_i64().unwrap() as i32;
    let bytes = base64::engine::general_purpose::STANDARD.decode(case["x_f32le_b64"].as_str().unwrap()).unwrap();
    let floats: Vec<f32> = bytes.chunks(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let emb = FixedSizeListArray::new(item.clone(), dim, Arc::new(Float32Array::from(floats)), None);
    let schema = Schema::new(vec![Field::new("embedding", DataType::FixedSizeList(item, dim), false)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(emb)]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (eps, min_samples) = (case["eps"].as_f64().unwrap().to_string(), case["min_samples"].as_i64().unwrap().to_string());
    let out = run(&tmp.path().join("store"), &["dbscan", "--input", path.to_str().unwrap(), "--eps", &eps, "--min-samples", &min_samples]);
    assert!(out.status.success(), "{}", text(&out));
    let ours: Vec<i64> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l.parse().unwrap()).collect();
    let sklearn: Vec<i64> = case["labels"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(ours, sklearn);
}

/// Every section's values are checked when the file is read: `--dry-run` refuses a bad one before anything
/// runs, naming the file, the section and the key.
#[test]
fn dry_run_refuses_bad_values_naming_file_section_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    tiny_dataset(&tmp.path().join("data"), 4, 20);
    let cases = [
        ("[finetune]\nlr = -1.0\n", "[finetune] lr: -1 must be a positive number"),
        ("[finetune]\nepochs = 0\n", "[finetune] epochs: 0 must be at least 1"),
        ("[finetune]\nsave_every_secs = 0\n", "[finetune] save_every_secs"),
        ("[finetune]\ndevice = \"tpu\"\n", "[finetune] device"),
        ("[evaluate]\nbatch_size = 0\n", "[evaluate] batch_size"),
        ("[replay]\nalpha = 0\n", "[replay] alpha"),
        ("[model]\nbase = \"no/such/model\"\n", "[model] base"),
        ("[distance]\nsolver = \"greedy\"\n", "[distance] solver"),
        ("[annotate]\ntagger = \"openai\"\n", "[annotate] api_base"),
    ];
    for (section, expected) in cases {
        let p = tmp.path().join("bad.toml");
        let body = format!(
            "methods = [\"none\", \"random\"]\n[dataset]\npath = \"data\"\nmapping = \"{}\"\n[orders]\no = [\"Classification\", \"Misc\"]\n{section}",
            mapping()
        );
        std::fs::write(&p, body).unwrap();
        let out = run(&store, &["run", p.to_str().unwrap(), "--dry-run"]);
        assert_eq!(out.status.code(), Some(2), "{section}");
        let err = text(&out);
        assert!(err.contains("bad.toml: ") && err.contains(expected), "{section}: {err}");
    }
    assert!(!store.join("ingest").exists());
}

/// The libraries an ELF binary asks the loader for (`readelf -d`, from the binutils every Rust link needs).
fn needed(binary: &Path) -> Vec<String> {
    let out = std::process::Command::new("readelf").arg("-d").arg(binary).output().expect("readelf (binutils) runs");
    assert!(out.status.success(), "readelf -d {}: {}", binary.display(), text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1).map(|s| s.trim_end_matches(']').to_string()))
        .collect()
}

/// `inscl` plans without libtorch, so `status` and `--dry-run` do not pay for loading it; `inscl-exec`, which
/// it hands the computing commands to, links libtorch and its CUDA backend.
#[test]
fn the_planner_binary_does_not_link_libtorch_and_the_executor_does() {
    let planner = PathBuf::from(env!("CARGO_BIN_EXE_inscl"));
    let exec = PathBuf::from(env!("CARGO_BIN_EXE_inscl-exec"));
    let (p, e) = (needed(&planner), needed(&exec));
    assert!(!p.is_empty() && p.iter().all(|l| !l.contains("torch") && !l.contains("c10")), "inscl needs {p:?}");
    assert!(e.iter().any(|l| l.starts_with("libtorch_cpu")), "inscl-exec needs {e:?}");
    assert!(e.iter().any(|l| l.starts_with("libtorch_cuda")) || !torch_has_cuda(), "inscl-exec needs {e:?}");
}

/// Whether the torch the build linked ships a CUDA backend (the PyPI wheels for Linux do).
fn torch_has_cuda() -> bool {
    let python = repo_root().join(".venv/bin/python");
    std::process::Command::new(python)
        .args(["-c", "import torch, os; print(os.path.exists(os.path.join(os.path.dirname(torch.__file__), 'lib', 'libtorch_cuda.so')))"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "True")
}

/// `inscl dag` draws one box per stage with its instance count, and the arrows between stages, as Mermaid and
/// as Graphviz; `--instances` draws every instance.
#[test]
fn dag_draws_the_stage_graph_as_mermaid_and_dot() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let p = repo_root().join("pipelines/superni-smollm2.toml");
    let p = p.to_str().unwrap();
    let mermaid = run(&store, &["dag", p]);
    assert!(mermaid.status.success(), "{}", text(&mermaid));
    let m = String::from_utf8(mermaid.stdout).unwrap();
    assert!(m.starts_with("flowchart LR\n"), "{m}");
    // Box ids → stage names, then the arrows by name.
    let label = |line: &str| line.trim().split_once("[\"").map(|(id, rest)| (id.to_string(), rest.split(' ').next().unwrap().to_string()));
    let boxes: std::collections::BTreeMap<String, String> = m.lines().filter_map(label).collect();
    let arrows: Vec<(String, String)> = m
        .lines()
        .filter_map(|l| l.trim().split_once(" --> "))
        .map(|(a, b)| (boxes[a].clone(), boxes[b].clone()))
        .collect();
    for (a, b) in [("ingest", "annotate"), ("sample", "finetune"), ("finetune", "finetune"), ("finetune", "evaluate"), ("evaluate", "metrics"), ("metrics", "report")] {
        assert!(arrows.contains(&(a.to_string(), b.to_string())), "no {a} → {b} in {arrows:?}");
    }
    assert!(!arrows.contains(&("evaluate".to_string(), "finetune".to_string())));
    assert!(m.contains("finetune ×"), "{m}");
    let dot = String::from_utf8(run(&store, &["dag", p, "--dot"]).stdout).unwrap();
    assert!(dot.starts_with("digraph inscl {") && dot.trim_end().ends_with('}'), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), arrows.len(), "the same arrows in both formats");
    let all = String::from_utf8(run(&store, &["dag", p, "--instances"]).stdout).unwrap();
    assert!(all.contains("[\"finetune/curriculum/inscl/16\"]"), "every instance is a box");
    assert!(!store.exists() || std::fs::read_dir(store.join("ingest")).is_err(), "dag builds nothing");
}

/// Parquet as polars and pyarrow write it — every codec (zstd is polars' default), and `large_string`,
/// `string_view`, `large_list` and `fixed_size_list` columns of f32 or f64 — reads alike in `rouge`, `emd`,
/// `dbscan` and `show`. The files come from `tests/fixtures/make_parquet_flavours.py` and all hold the same
/// table, so every command must print what it prints for pyarrow's plain `string`/`list<float>` file.
#[test]
fn parquet_from_polars_and_pyarrow_reads_alike_in_every_codec_and_flavour() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let dir = repo_root().join("tests/fixtures/parquet");
    let f = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let outputs = |file: &str| -> [String; 3] {
        let rouge = run(&store, &["rouge", "--input", file]);
        let emd = run(&store, &["emd", "--a", file, "--b", &f("b.parquet")]);
        let dbscan = run(&store, &["dbscan", "--input", file, "--eps", "0.05", "--min-samples", "2"]);
        let show = run(&store, &["show", file]);
        for (what, out) in [("rouge", &rouge), ("emd", &emd), ("dbscan", &dbscan), ("show", &show)] {
            assert!(out.status.success(), "{what} {file}: {}", text(out));
        }
        [rouge, emd, dbscan].map(|o| String::from_utf8(o.stdout).unwrap())
    };
    let baseline = outputs(&f("pyarrow-string-list-f32.parquet"));
    let rouge: serde_json::Value = serde_json::from_str(&baseline[0]).unwrap();
    assert_eq!(rouge["instances"], 6, "{rouge}");
    let labels: Vec<i64> = baseline[2].lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(labels, [0, 0, 0, 1, 1, -1], "two clusters and a noise point");
    let w: f64 = baseline[1].trim().parse().unwrap();
    assert!(w > 0.0 && w.is_finite(), "{w}");
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    names.sort();
    let flavours: Vec<&String> = names.iter().filter(|n| n.starts_with("polars-") || n.starts_with("pyarrow-")).collect();
    assert_eq!(flavours.len(), 10, "{names:?}");
    for name in flavours {
        let got = outputs(&f(name));
        assert_eq!(got[0], baseline[0], "rouge of {name}");
        assert_eq!(got[2], baseline[2], "dbscan of {name}");
        // The f64 files hold the f32 values widened, so W agrees to f32 precision.
        let w_got: f64 = got[1].trim().parse().unwrap();
        assert!((w_got - w).abs() <= 1e-6 * w.max(1.0), "emd of {name}: {w_got} vs {w}");
    }
}

/// Defaults do not depend on the working folder: `ingest superni` without `--mapping` uses the built-in
/// 16-category mapping from any folder, a pipeline file kept anywhere finds MiniLM and WordNet under the models
/// folder without naming them, and `--models DIR` without them names what is missing and how to fetch it.
#[test]
fn defaults_hold_from_any_working_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, elsewhere) = (tmp.path().join("data"), tmp.path().join("elsewhere"));
    tiny_dataset(&data, 4, 20);
    std::fs::create_dir_all(&elsewhere).unwrap();
    let store = tmp.path().join("store");
    let ingest = inscl().current_dir(&elsewhere).arg("--store").arg(&store).args(["ingest", "superni", data.to_str().unwrap()]).output().unwrap();
    assert!(ingest.status.success(), "{}", text(&ingest));
    assert!(text(&ingest).contains("tasks in"), "{}", text(&ingest));

    let p = elsewhere.join("p.toml");
    let body = format!(
        "methods = [\"inscl\"]\n[dataset]\npath = \"{}\"\n[orders]\nx = [\"Classification\", \"Sentiment_Analysis\"]\n",
        data.display()
    );
    std::fs::write(&p, body).unwrap();
    let dry = inscl().current_dir(&elsewhere).arg("--store").arg(&store).args(["run", "p.toml", "--dry-run"]).output().unwrap();
    assert!(dry.status.success(), "{}", text(&dry));
    let nowhere = tmp.path().join("no-models");
    let out = inscl().current_dir(&elsewhere).arg("--store").arg(&store).arg("--models").arg(&nowhere).args(["status", "p.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = text(&out);
    assert!(err.contains("[embed] minilm") || err.contains("[annotate] wordnet"), "{err}");
    assert!(err.contains(nowhere.to_str().unwrap()) && err.contains("make setup"), "{err}");
}

/// A dataset whose `tasks/` is a symbolic link to another disk ingests like the folder itself.
#[test]
fn a_symlinked_tasks_folder_ingests() {
    let tmp = tempfile::tempdir().unwrap();
    let (real, linked) = (tmp.path().join("real"), tmp.path().join("linked"));
    tiny_dataset(&real, 4, 20);
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(real.join("tasks"), linked.join("tasks")).unwrap();
    let ingest = |dir: &Path, store: &str| run(&tmp.path().join(store), &["ingest", "superni", dir.to_str().unwrap()]);
    let (a, b) = (ingest(&real, "s1"), ingest(&linked, "s2"));
    assert!(a.status.success() && b.status.success(), "{}\n{}", text(&a), text(&b));
    // The artifacts' content hashes (of their tables, not of the provenance that names the path) agree.
    let content = |store: &str| -> String {
        let manifest = std::fs::read(artifact_dirs(&tmp.path().join(store), "ingest")[0].join("manifest.json")).unwrap();
        serde_json::from_slice::<serde_json::Value>(&manifest).unwrap()["content"].to_string()
    };
    assert_eq!(content("s1"), content("s2"), "the same tables through the link");
}

/// `[embed] instance_encoder = "llm-mean"` embeds Prototype Data's train instances with the base model's mean
/// input embedding, the paper's instruction embedding, which needs no forward pass: one vector per train
/// instance, as wide as the tiny model's hidden size (MiniLM's would be 384 wide).
#[test]
fn instance_embeddings_can_use_the_base_models_mean_input_embedding() {
    use arrow::array::AsArray;
    let tmp = tempfile::tempdir().unwrap();
    tiny_dataset(&tmp.path().join("data"), 4, 20);
    let body = tiny_pipeline_toml("proto", &["Classification", "Sentiment_Analysis"])
        .replace(r#"methods = ["none", "random", "inscl"]"#, r#"methods = ["prototype-data"]"#)
        .replace("[embed]\n", "[embed]\ninstance_encoder = \"llm-mean\"\n");
    let p = tmp.path().join("proto.toml");
    std::fs::write(&p, body).unwrap();
    let store = tmp.path().join("store");
    let out = run(&store, &["run", p.to_str().unwrap(), "--only", "ingest,tokenizer,init,embed", "-v"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("embed/instances/llm-mean") && !text(&out).contains("embed/instances/minilm"), "{}", text(&out));
    let mut widths = Vec::new();
    for dir in artifact_dirs(&store, "embed") {
        let file = std::fs::File::open(dir.join("embeddings.parquet")).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        for batch in reader {
            let b = batch.unwrap();
            if b.column_by_name("instance_id").is_none() {
                continue;
            }
            let vectors = b.column_by_name("embedding").unwrap();
            let vectors = vectors.as_list_opt::<i32>().map(|l| l.value_length(0) as usize);
            let vectors = vectors.or_else(|| b.column_by_name("embedding").unwrap().as_fixed_size_list_opt().map(|l| l.value_length() as usize));
            widths.push((b.num_rows(), vectors.expect("embedding is a list column")));
        }
    }
    let rows: usize = widths.iter().map(|(n, _)| n).sum();
    assert!(rows > 0 && widths.iter().all(|&(_, w)| w == 32), "{widths:?}: every instance vector 32 wide (hidden_size)");
}
