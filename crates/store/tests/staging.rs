//! Staged outputs: files a stage streams into its artifact's temp folder. They hash like in-memory files, must
//! be declared, and a writer killed in the middle of one leaves no artifact behind.

use inscl_store::{BuildOutcome, Outputs, Spec, Store, StoreError};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn spec(p: i64) -> Spec {
    Spec::new("checkpoint", "1", serde_json::json!({ "p": p }))
}

#[test]
fn staged_files_hash_like_in_memory_ones() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let (mem, _) = store.get_or_build(&spec(1), || Ok::<_, StoreError>(Outputs::default().file("w.bin", bytes.clone()))).unwrap();
    let (staged, outcome) = store
        .build_with(&spec(2), false, |staging| {
            let mut f = std::fs::File::create(staging.path("w.bin")?).unwrap();
            for chunk in bytes.chunks(1 << 16) {
                f.write_all(chunk).unwrap();
            }
            Ok::<_, StoreError>(Outputs::default().staged_file("w.bin"))
        })
        .unwrap();
    assert_eq!(outcome, BuildOutcome::Built);
    assert_eq!(mem.manifest.outputs, staged.manifest.outputs);
    assert_eq!(mem.content(), staged.content());
    assert_eq!(staged.file("w.bin").unwrap(), bytes);
    assert!(store.verify().unwrap().damaged.is_empty());
    assert_eq!(std::fs::read_dir(d.path().join(".tmp")).unwrap().count(), 0);
}

#[test]
fn staged_outputs_must_be_declared_written_and_well_named() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let undeclared = store.build_with(&spec(3), false, |staging| {
        std::fs::write(staging.path("stray.bin")?, b"x").unwrap();
        Ok::<_, StoreError>(Outputs::default().file("a", b"a".to_vec()))
    });
    assert!(matches!(undeclared, Err(StoreError::UndeclaredStaged { .. })), "{undeclared:?}");
    let missing = store.build_with(&spec(3), false, |_| Ok::<_, StoreError>(Outputs::default().staged_file("w.bin")));
    assert!(matches!(missing, Err(StoreError::StagedMissing { .. })), "{missing:?}");
    let clash = store.build_with(&spec(3), false, |staging| {
        std::fs::write(staging.path("t.parquet")?, b"x").unwrap();
        Ok::<_, StoreError>(Outputs::default().staged_file("t.parquet").file("t.parquet", b"y".to_vec()))
    });
    assert!(matches!(clash, Err(StoreError::DuplicateOutput(_))), "{clash:?}");
    let bad = store.build_with(&spec(3), false, |staging| staging.path("../x").map(|_| Outputs::default()));
    assert!(matches!(bad, Err(StoreError::BadOutputName(_))), "{bad:?}");
    // A failed build leaves neither an artifact nor its temp folder.
    assert!(!d.path().join("checkpoint").join(spec(3).key().hex()).exists());
    assert_eq!(std::fs::read_dir(d.path().join(".tmp")).unwrap().count(), 0);
}

const CHILD_ENV: &str = "INSCL_STAGING_TEST_CHILD_STORE";
const CHUNK: usize = 1 << 20;
const CHUNKS: usize = 64;

/// Run by `a_writer_killed_mid_staged_file_leaves_nothing` in a child process: streams a 64 MiB staged file
/// slowly, so that the parent can kill it half-way.
#[test]
#[ignore = "the child half of a_writer_killed_mid_staged_file_leaves_nothing"]
fn staged_writer_child() {
    let Ok(root) = std::env::var(CHILD_ENV) else { return };
    let store = Store::open(root).unwrap();
    store
        .build_with(&spec(4), false, |staging| {
            let mut f = std::fs::File::create(staging.path("model.safetensors")?).unwrap();
            for i in 0..CHUNKS {
                f.write_all(&vec![i as u8; CHUNK]).unwrap();
                f.flush().unwrap();
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok::<_, StoreError>(Outputs::default().staged_file("model.safetensors"))
        })
        .unwrap();
}

fn staged_bytes(tmp_root: &Path) -> u64 {
    std::fs::read_dir(tmp_root)
        .map(|rd| rd.flatten().filter_map(|d| std::fs::metadata(d.path().join("model.safetensors")).ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

#[test]
fn a_writer_killed_mid_staged_file_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["staged_writer_child", "--exact", "--ignored", "--test-threads=1"])
        .env(CHILD_ENV, d.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tmp_root = d.path().join(".tmp");
    let deadline = Instant::now() + Duration::from_secs(60);
    while staged_bytes(&tmp_root) < 4 * CHUNK as u64 {
        assert!(Instant::now() < deadline, "the child never started writing");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = staged_bytes(&tmp_root);
    assert!(partial > 0 && partial < (CHUNK * CHUNKS) as u64, "killed half-way: {partial} bytes staged");
    let key = spec(4).key();
    assert!(!d.path().join("checkpoint").join(key.hex()).exists(), "a killed writer left an artifact");
    assert!(store.peek("checkpoint", &key).is_none());

    // The next build of the key clears the orphan and builds the artifact whole.
    let (a, outcome) = store
        .build_with(&spec(4), false, |staging| {
            std::fs::write(staging.path("model.safetensors")?, vec![9u8; CHUNK]).unwrap();
            Ok::<_, StoreError>(Outputs::default().staged_file("model.safetensors"))
        })
        .unwrap();
    assert_eq!(outcome, BuildOutcome::Built);
    assert_eq!(a.manifest.outputs[0].bytes, CHUNK as u64);
    assert_eq!(std::fs::read_dir(&tmp_root).unwrap().count(), 0, "the orphaned temp folder is removed");
    assert!(store.verify().unwrap().damaged.is_empty());
}
