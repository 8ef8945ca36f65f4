//! Crash safety: a training process killed with SIGKILL continues, from its last saved state, to the weights an
//! uninterrupted run reaches; a state from another model config, vocabulary or data set is refused.

mod common;

use common::{max_abs_diff, synth_examples, tiny_model, weights};
use inscl_finetune::state::state_path;
use inscl_finetune::{Example, FinetuneError, TrainParams, tiny_config, train, train_bpe_tokenizer};
use inscl_model::LlamaModel;
use inscl_model::tch::Device;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "INSCL_FT_CHILD";
const RESUME_DIR_ENV: &str = "INSCL_FT_RESUME_DIR";
const KILL_TEST: &str = "killed_run_resumes_to_the_uninterrupted_weights";
/// The parent kills the child once it reports this step and a state exists.
const KILL_AFTER_STEP: usize = 5;

fn resume_setup() -> (Vec<Example>, TrainParams) {
    // One intra-op thread: the same reduction order in the child, the resumed and the reference run.
    inscl_model::tch::set_num_threads(1);
    let examples = synth_examples(&["_mathematics_"], 15);
    let params = TrainParams {
        lr: 1e-3,
        epochs: 2,
        micro_batch: 4,
        grad_accum: 2,
        max_len: 128,
        save_every_steps: Some(2),
        save_every_secs: 3600,
        ..TrainParams::default()
    };
    (examples, params)
}

/// The child: trains into the resume directory, announcing each step; it is killed part-way.
fn run_child(resume_dir: &Path) {
    let (examples, params) = resume_setup();
    let mut model = tiny_model(&examples, 512, 7);
    let announce = |step: &inscl_finetune::StepLog| {
        println!("STEP {}", step.step);
        // Pacing only, so that the parent's kill lands part-way through the run rather than after it.
        std::thread::sleep(Duration::from_millis(100));
    };
    train(&mut model, &examples, &params, Some(resume_dir), Some(&announce)).expect("child training runs");
}

#[test]
fn killed_run_resumes_to_the_uninterrupted_weights() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let dir = PathBuf::from(std::env::var_os(RESUME_DIR_ENV).expect("child gets a resume dir"));
        run_child(&dir);
        return;
    }
    let (examples, params) = resume_setup();
    let killed_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([KILL_TEST, "--exact", "--nocapture"])
        .env(CHILD_ENV, "1")
        .env(RESUME_DIR_ENV, killed_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("test binary re-executes");
    let stdout = child.stdout.take().unwrap();
    let mut killed_after = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(step) = line.strip_prefix("STEP ").and_then(|s| s.trim().parse::<usize>().ok()) else { continue };
        if step >= KILL_AFTER_STEP && state_path(killed_dir.path()).exists() {
            child.kill().unwrap();
            killed_after = Some(step);
            break;
        }
    }
    let status = child.wait().unwrap();
    let killed_after = killed_after.expect("the child finished before it could be killed");
    assert!(!status.success(), "the child was killed, yet exited with {status}");

    // What a kill during a save leaves behind; the next run must clear it, not trip over it.
    let stray = killed_dir.path().join(".train_state.tmp-4242");
    std::fs::write(&stray, b"half-written").unwrap();
    let mut resumed = tiny_model(&examples, 512, 7);
    let resumed_report = train(&mut resumed, &examples, &params, Some(killed_dir.path()), None).unwrap();
    let resumed_from = resumed_report.resumed_from_step.expect("the resumed run found the state");
    assert!(!stray.exists(), "the stale temporary state was not removed");

    let fresh_dir = tempfile::tempdir().unwrap();
    let mut reference = tiny_model(&examples, 512, 7);
    let reference_report = train(&mut reference, &examples, &params, Some(fresh_dir.path()), None).unwrap();
    assert_eq!(reference_report.resumed_from_step, None);
    assert_eq!(reference_report.total_steps, 16);
    assert!(
        resumed_from >= 2 && resumed_from <= killed_after && resumed_from < reference_report.total_steps,
        "resumed from step {resumed_from}, killed after step {killed_after}"
    );

    let diff = max_abs_diff(&weights(&resumed), &weights(&reference));
    println!("killed after step {killed_after}, resumed from step {resumed_from}, max |w_resumed - w_ref| = {diff:e}");
    assert!(diff <= 1e-6, "resumed weights differ from the uninterrupted run's by {diff}");
    assert_eq!(resumed_report.log.len(), reference_report.log.len());
    for (a, b) in resumed_report.log.iter().zip(&reference_report.log) {
        assert_eq!((a.step, a.epoch, a.tokens), (b.step, b.epoch, b.tokens));
        assert!((a.loss - b.loss).abs() <= 1e-6, "step {}: loss {} vs {}", a.step, a.loss, b.loss);
        assert_eq!(a.lr, b.lr);
    }
    // A finished state is final: calling again trains nothing and returns the same weights.
    let mut again = tiny_model(&examples, 512, 7);
    let again_report = train(&mut again, &examples, &params, Some(fresh_dir.path()), None).unwrap();
    assert_eq!(again_report.resumed_from_step, Some(16));
    assert_eq!(max_abs_diff(&weights(&again), &weights(&reference)), 0.0);
}

fn one_epoch_state(dir: &Path, examples: &[Example]) -> TrainParams {
    let params = TrainParams {
        lr: 1e-3,
        epochs: 1,
        micro_batch: 8,
        grad_accum: 1,
        max_len: 128,
        ..TrainParams::default()
    };
    let mut model = tiny_model(examples, 512, 3);
    train(&mut model, examples, &params, Some(dir), None).unwrap();
    assert!(state_path(dir).exists());
    params
}

#[test]
fn a_state_from_another_config_vocabulary_data_or_start_is_refused() {
    inscl_model::tch::set_num_threads(1);
    let examples = synth_examples(&["_rewriting_"], 4);
    let dir = tempfile::tempdir().unwrap();
    let params = one_epoch_state(dir.path(), &examples);

    let tokenizer = train_bpe_tokenizer(&common::texts(&examples), 512).unwrap();
    let mut wider = tiny_config(tokenizer.get_vocab_size(true));
    wider.hidden_size = 64;
    wider.intermediate_size = 192;
    let mut other_config = LlamaModel::random_init(wider, tokenizer, Device::Cpu, 3).unwrap();
    let err = train(&mut other_config, &examples, &params, Some(dir.path()), None).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, FinetuneError::StateMismatch { what: "model config", .. }),
        "unexpected error: {message}"
    );
    assert!(message.contains("hidden_size=128") && message.contains("hidden_size=64"), "{message}");

    let mut other_vocab = tiny_model(&examples, 400, 3);
    let err = train(&mut other_vocab, &examples, &params, Some(dir.path()), None).unwrap_err();
    assert!(err.to_string().contains("vocab_size=400"), "{err}");

    let refused_as_another_run = |err: &FinetuneError| {
        matches!(err, FinetuneError::StateMismatch { what, .. } if what.contains("fingerprint"))
    };
    let mut same_model = tiny_model(&examples, 512, 3);
    let err = train(&mut same_model, &examples[1..], &params, Some(dir.path()), None).unwrap_err();
    assert!(refused_as_another_run(&err), "other data: unexpected error {err}");

    let mut other_start = tiny_model(&examples, 512, 4);
    let err = train(&mut other_start, &examples, &params, Some(dir.path()), None).unwrap_err();
    assert!(refused_as_another_run(&err), "other initial weights: unexpected error {err}");

    let shorter = TrainParams { lr: 5e-4, ..params.clone() };
    let err = train(&mut same_model, &examples, &shorter, Some(dir.path()), None).unwrap_err();
    assert!(refused_as_another_run(&err), "other lr: unexpected error {err}");

    // Same model, data and parameters but another save cadence: the state is this run's and is continued.
    let cadence = TrainParams { save_every_steps: Some(1), save_every_secs: 5, ..params.clone() };
    let report = train(&mut same_model, &examples, &cadence, Some(dir.path()), None).unwrap();
    assert_eq!(report.resumed_from_step, Some(report.total_steps));
}
