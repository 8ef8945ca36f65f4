//! Ingest of the real benchmark (../shared/superni) and of the generated default dataset.

mod common;

use arrow::array::AsArray;
use common::*;
use std::collections::{BTreeMap, BTreeSet};

fn strings(batch: &arrow::array::RecordBatch, name: &str) -> Vec<String> {
    batch.column_by_name(name).unwrap().as_string::<i32>().iter().map(|v| v.unwrap().to_string()).collect()
}

fn outputs(stdout: &[u8]) -> BTreeMap<String, std::path::PathBuf> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let (name, path) = l.split_once('\t').expect("name<TAB>path");
            (name.to_string(), path.into())
        })
        .collect()
}

#[test]
fn superni_gives_16_categories_790_tasks_and_a_20_percent_test_split() {
    let superni = repo_root().join("../shared/superni");
    if std::env::var_os("INSCL_SKIP_SUPERNI").is_some() {
        eprintln!("INSCL_SKIP_SUPERNI is set: skipping the SuperNI ingest test");
        return;
    }
    assert!(superni.is_dir(), "{} is missing (set INSCL_SKIP_SUPERNI=1 to skip this test)", superni.display());
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), &["ingest", "superni", superni.to_str().unwrap(), "--mapping", &mapping()]);
    assert!(out.status.success());
    let files = outputs(&out.stdout);
    assert_eq!(files.keys().collect::<Vec<_>>(), ["instances", "instructions", "tasks"]);

    let (tasks, meta) = inscl_store::read_parquet_file(&files["tasks"]).unwrap();
    assert_eq!(meta["inscl.stage"], "ingest");
    assert_eq!(tasks.num_rows(), 790);
    let categories: BTreeSet<String> = strings(&tasks, "category").into_iter().collect();
    assert_eq!(categories.len(), 16, "{categories:?}");

    let (instances, _) = inscl_store::read_parquet_file(&files["instances"]).unwrap();
    let split = strings(&instances, "split");
    let test_share = split.iter().filter(|s| *s == "test").count() as f64 / split.len() as f64;
    assert!((test_share - 0.2).abs() < 0.005, "test share {test_share}");
    assert!(instances.num_rows() > 200_000, "{} instances", instances.num_rows());

    let (instructions, _) = inscl_store::read_parquet_file(&files["instructions"]).unwrap();
    let cats = strings(&instructions, "category");
    let weights = instructions.column_by_name("weight").unwrap().as_primitive::<arrow::datatypes::Float64Type>();
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    for (c, w) in cats.iter().zip(weights.values().iter()) {
        *sums.entry(c).or_default() += w;
    }
    assert_eq!(sums.len(), 16);
    for (c, s) in sums {
        assert!((s - 1.0).abs() < 1e-9, "weights of {c} sum to {s}");
    }
    assert!(text(&out).contains("unmapped SuperNI categories went to Misc"), "the unmapped ones are listed");
}

#[test]
fn the_generated_dataset_ingests_into_16_categories() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("synth");
    let synth = inscl().args(["synth", "--out", data.to_str().unwrap()]).output().unwrap();
    assert!(synth.status.success(), "{}", text(&synth));
    let again = inscl().args(["synth", "--out", data.to_str().unwrap()]).output().unwrap();
    assert!(text(&again).contains("unchanged"), "regenerating identical data writes nothing");
    let out = run(&tmp.path().join("store"), &["ingest", "superni", data.to_str().unwrap(), "--mapping", &mapping()]);
    assert!(out.status.success());
    let (tasks, _) = inscl_store::read_parquet_file(&outputs(&out.stdout)["tasks"]).unwrap();
    let mut per_cat: BTreeMap<String, usize> = BTreeMap::new();
    for c in strings(&tasks, "category") {
        *per_cat.entry(c).or_default() += 1;
    }
    assert_eq!(per_cat.len(), 16, "{per_cat:?}");
    assert!(per_cat.values().all(|&n| n >= 4), "at least 4 instructions per category: {per_cat:?}");
    assert!(!text(&out).contains("unmapped"), "every generated category is mapped explicitly");
}
