//! The four promises of the artifact store, shown with real processes: atomic writes survive `kill -9`,
//! damage is detected and rebuilt, identical content cuts rebuilds off early, and concurrent runs build once.

mod common;

use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_writer_killed_mid_write_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, store) = (tmp.path().join("data"), tmp.path().join("store"));
    tiny_dataset(&data, 4, 30);
    let mapping = mapping();
    let args = ["ingest", "superni", data.to_str().unwrap(), "--mapping", &mapping];
    let mut child = inscl()
        .arg("--store")
        .arg(&store)
        .args(args)
        .env("INSCL_TEST_WRITE_DELAY_MS", "3000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first output file is in the temp dir, then kill -9 while the rest are being written.
    let deadline = Instant::now() + Duration::from_secs(60);
    let tmp_root = store.join(".tmp");
    loop {
        let written = std::fs::read_dir(&tmp_root)
            .map(|rd| rd.flatten().any(|d| std::fs::read_dir(d.path()).map(|f| f.count() > 0).unwrap_or(false)))
            .unwrap_or(false);
        if written {
            break;
        }
        assert!(Instant::now() < deadline, "the writer never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(artifact_dirs(&store, "ingest").is_empty(), "a killed writer left an artifact behind");
    let verify = run(&store, &["verify"]);
    assert!(verify.status.success());
    assert!(text(&verify).contains("0 artifacts checked, 0 damaged"));

    // The next run builds it whole and clears the killed writer's temp dir.
    let again = run(&store, &args);
    assert!(again.status.success());
    assert!(text(&again).contains("built"));
    assert_eq!(artifact_dirs(&store, "ingest").len(), 1);
    assert_eq!(std::fs::read_dir(&tmp_root).unwrap().count(), 0, "orphaned temp dirs are removed");
    assert!(run(&store, &["verify"]).status.success());
}

#[test]
fn damaged_artifacts_are_detected_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, store) = (tmp.path().join("data"), tmp.path().join("store"));
    tiny_dataset(&data, 3, 20);
    let mapping = mapping();
    let args = ["ingest", "superni", data.to_str().unwrap(), "--mapping", &mapping];
    assert!(run(&store, &args).status.success());
    let dir = artifact_dirs(&store, "ingest").pop().unwrap();
    let parquet = dir.join("instances.parquet");
    let original = std::fs::read(&parquet).unwrap();

    // Truncated: caught by the size check of every reuse, and rebuilt.
    std::fs::write(&parquet, &original[..original.len() / 2]).unwrap();
    let out = run(&store, &args);
    assert!(out.status.success());
    assert!(text(&out).contains("rebuilt (damaged:"), "{}", text(&out));
    assert_eq!(std::fs::read(&parquet).unwrap(), original, "the rebuild is byte-identical");

    // Same size, one byte flipped: caught by `verify`, which exits 1, names the file and quarantines it.
    let mut tampered = original.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0xff;
    std::fs::write(&parquet, &tampered).unwrap();
    let verify = run(&store, &["verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(text(&verify).contains("instances.parquet: blake3 differs"), "{}", text(&verify));
    assert!(artifact_dirs(&store, "ingest").is_empty(), "the damaged artifact is no longer used");
    let out = run(&store, &args);
    assert!(text(&out).contains("built"));
    assert_eq!(std::fs::read(&parquet).unwrap(), original);
    assert!(run(&store, &["verify"]).status.success());
}

#[test]
fn two_processes_on_one_store_build_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, store) = (tmp.path().join("data"), tmp.path().join("store"));
    tiny_dataset(&data, 4, 30);
    let mapping = mapping();
    let args = ["ingest", "superni", data.to_str().unwrap(), "--mapping", &mapping];
    let spawn = || {
        inscl()
            .arg("--store")
            .arg(&store)
            .args(args)
            .env("INSCL_TEST_WRITE_DELAY_MS", "400")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{}\n{}", text(&a), text(&b));
    let built = [&a, &b].iter().filter(|o| text(o).contains("built 1 (ingest 1), cached 0")).count();
    assert_eq!(built, 1, "exactly one process builds:\n{}\n{}", text(&a), text(&b));
    assert!([&a, &b].iter().any(|o| text(o).contains("built 0, cached 1")));
    assert_eq!(artifact_dirs(&store, "ingest").len(), 1);
    assert_eq!(a.stdout, b.stdout, "both print the same artifact paths");
    assert!(run(&store, &["verify"]).status.success());
}

#[test]
fn equal_content_cuts_rebuilds_off_early() {
    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use inscl_store::{Outputs, Spec, Store};
    use std::sync::Arc;

    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let table = |v: i64| {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![v]))]).unwrap()
    };
    let build = |v: i64| move || Ok::<_, inscl_store::StoreError>(Outputs::default().table("t", table(v)));
    // Two versions of an upstream stage with different params but identical output...
    let (up1, _) = store.get_or_build(&Spec::new("up", "1", serde_json::json!({"p": 1})), build(7)).unwrap();
    let (up2, _) = store.get_or_build(&Spec::new("up", "1", serde_json::json!({"p": 2})), build(7)).unwrap();
    assert_ne!(up1.key(), up2.key());
    assert_eq!(up1.content(), up2.content());
    // ...give the downstream stage one key: it is built once.
    let down = |up: &inscl_store::Artifact| Spec::new("down", "1", serde_json::json!({})).input("up", up.key(), up.content());
    assert_eq!(down(&up1).key(), down(&up2).key());
    let (_, first) = store.get_or_build(&down(&up1), build(8)).unwrap();
    let (_, second) = store.get_or_build(&down(&up2), || -> Result<Outputs, inscl_store::StoreError> {
        panic!("early cutoff failed: downstream rebuilt")
    })
    .unwrap();
    assert_eq!((first, second), (inscl_store::BuildOutcome::Built, inscl_store::BuildOutcome::Cached));
    // A different upstream output does change the downstream key.
    let (up3, _) = store.get_or_build(&Spec::new("up", "1", serde_json::json!({"p": 3})), build(9)).unwrap();
    assert_ne!(down(&up3).key(), down(&up1).key());
}
