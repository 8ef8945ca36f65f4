//! The typed stage sections of a pipeline file (`[annotate]`, `[embed]`, `[distance]`, `[insinfo]`, `[replay]`,
//! `[model]`, `[finetune]`, `[evaluate]`). Every key has the paper's value as its default, so a pipeline file only
//! states what it changes. Paths are resolved against the pipeline file's folder. Names (taggers, encoders,
//! solvers, devices) are enums: serde refuses an unknown one while the file is read, and every later `match` is
//! exhaustive, so no name can fall through to a default. [`crate::validate`] checks every value at load.

use crate::device::DeviceChoice;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Who writes the intention tags of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tagger {
    /// Offline, deterministic KeyBERT-style tags (MiniLM cosine + MMR).
    Keyphrase,
    /// The InsCL tagging prompt through a local chat model, greedy.
    Local,
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
}

impl Tagger {
    pub fn name(self) -> &'static str {
        match self {
            Tagger::Keyphrase => "keyphrase",
            Tagger::Local => "local",
            Tagger::Openai => "openai",
        }
    }
}

/// How an instruction becomes the vector W is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoder {
    /// all-MiniLM-L6-v2 sentence embeddings.
    Minilm,
    /// The mean of the base LLM's input embeddings over the instruction's tokens (the paper's choice).
    LlmMean,
}

impl Encoder {
    pub fn name(self) -> &'static str {
        match self {
            Encoder::Minilm => "minilm",
            Encoder::LlmMean => "llm-mean",
        }
    }
}

/// The optimal-transport solver of W.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolverName {
    /// Network-simplex EMD, as POT's `ot.emd2`.
    Exact,
    /// Log-domain entropic OT with `sinkhorn_reg`.
    Sinkhorn,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnotateSection {
    pub tagger: Tagger,
    pub min_tags: usize,
    pub max_tags: usize,
    /// KeyBERT's MMR diversity for the keyphrase tagger.
    pub diversity: f32,
    /// openai: the endpoint base (the key comes from INSCL_API_KEY, never from this file).
    pub api_base: Option<String>,
    pub model: Option<String>,
    /// openai: requests in flight. Not in the key: replies are cached per instruction.
    pub concurrency: usize,
    /// local: the chat model folder (a HF LLaMA folder); defaults to the converted SmolLM2.
    pub local_model: Option<PathBuf>,
    pub max_new_tokens: usize,
    /// openai: what an instruction that still has no parseable tags after the retries gets: `fail` (the stage
    /// fails, naming it) or `keyphrase` (the keyphrase tagger's tags, with `source` saying so).
    pub on_failure: inscl_annotate::OnFailure,
    /// openai: the reply's token cap, sent as `max_tokens` (default [`inscl_annotate::DEFAULT_MAX_TOKENS`]).
    pub max_tokens: Option<usize>,
    /// The WordNet 3.0 tables of the lemmatiser (fetched by `make setup`); default: under the models folder.
    pub wordnet: Option<PathBuf>,
}

impl Default for AnnotateSection {
    fn default() -> Self {
        AnnotateSection {
            tagger: Tagger::Keyphrase,
            min_tags: 3,
            max_tags: 8,
            diversity: 0.5,
            api_base: None,
            model: None,
            concurrency: 4,
            local_model: None,
            max_new_tokens: 192,
            on_failure: inscl_annotate::OnFailure::Fail,
            max_tokens: None,
            wordnet: None,
        }
    }
}

impl AnnotateSection {
    /// The openai tagger's reply cap: `max_tokens`, else the default.
    pub fn openai_max_tokens(&self) -> usize {
        self.max_tokens.unwrap_or(inscl_annotate::DEFAULT_MAX_TOKENS)
    }

    /// The local chat model folder: `local_model`, else the converted SmolLM2 of `make smollm2`.
    pub fn local_model_path(&self, base_dir: &Path, models: &Path) -> PathBuf {
        crate::models::resolve(self.local_model.as_deref(), base_dir, models, crate::models::SMOLLM2)
    }

    pub fn wordnet_path(&self, base_dir: &Path, models: &Path) -> PathBuf {
        crate::models::resolve(self.wordnet.as_deref(), base_dir, models, crate::models::WORDNET)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbedSection {
    pub encoder: Encoder,
    /// The encoder of Prototype Data's train-instance embeddings. MiniLM (the default) runs a forward pass per
    /// text (all SuperNI: ~25 min on 2 cores); `llm-mean`, the base model's mean input embedding that InsCL
    /// embeds instructions with, needs none (about a minute).
    pub instance_encoder: Encoder,
    /// The all-MiniLM-L6-v2 folder (safetensors + tokenizer.json); default: under the models folder.
    pub minilm: Option<PathBuf>,
    /// Texts per forward pass. Not in the key: vectors are cached per text, whatever batch made them.
    pub batch_size: usize,
}

impl EmbedSection {
    pub fn minilm_path(&self, base_dir: &Path, models: &Path) -> PathBuf {
        crate::models::resolve(self.minilm.as_deref(), base_dir, models, crate::models::MINILM)
    }
}

impl Default for EmbedSection {
    fn default() -> Self {
        EmbedSection {
            encoder: Encoder::Minilm,
            instance_encoder: Encoder::Minilm,
            minilm: None,
            batch_size: 64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistanceSection {
    pub solver: SolverName,
    pub sinkhorn_reg: f64,
}

impl Default for DistanceSection {
    fn default() -> Self {
        DistanceSection { solver: SolverName::Exact, sinkhorn_reg: 0.05 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsInfoSection {
    pub eps: f64,
    pub min_samples: usize,
}

impl Default for InsInfoSection {
    fn default() -> Self {
        InsInfoSection { eps: 0.1, min_samples: 5 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplaySection {
    /// Replay per earlier category; the budget at stage i is (i−1)·alpha.
    pub alpha: usize,
    pub seed: u64,
}

impl Default for ReplaySection {
    fn default() -> Self {
        ReplaySection { alpha: 200, seed: 1 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// "tiny" (random-initialised small LLaMA with a BPE tokenizer trained on the dataset), a Hugging Face
    /// LLaMA folder, or a .gguf file (converted to f32 as a cached stage).
    pub base: String,
    /// Tiny model only.
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub intermediate_size: usize,
    pub init_seed: i64,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            base: "tiny".into(),
            vocab_size: 1024,
            hidden_size: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            intermediate_size: 344,
            init_seed: 1,
        }
    }
}

impl ModelSection {
    pub fn base_path(&self, base_dir: &Path) -> Option<PathBuf> {
        (self.base != "tiny").then(|| base_dir.join(&self.base))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinetuneSection {
    pub lr: f64,
    pub epochs: usize,
    pub micro_batch: usize,
    pub grad_accum: usize,
    pub max_len: usize,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    pub seed: u64,
    /// Resumable state every this many seconds of training (and at epoch ends). Not in the key.
    pub save_every_secs: u64,
    /// Which device trains. Not in the key itself; the precision it implies (bf16 on CUDA, f32 on CPU) is.
    pub device: DeviceChoice,
    /// Recompute the decoder layers' activations in the backward pass instead of keeping them, for models
    /// whose activations would not fit. Not in the key: the gradients are the same bits either way.
    pub gradient_checkpointing: bool,
}

impl Default for FinetuneSection {
    fn default() -> Self {
        FinetuneSection {
            lr: 2e-5,
            epochs: 2,
            micro_batch: 8,
            grad_accum: 16,
            max_len: 2048,
            warmup_ratio: 0.03,
            max_grad_norm: 1.0,
            seed: 1,
            save_every_secs: 600,
            device: DeviceChoice::Auto,
            gradient_checkpointing: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluateSection {
    pub max_new_tokens: usize,
    /// Prompts decoded at once. Not in the key (see [`crate::stages`]: the greedy answers do not depend on it).
    pub batch_size: usize,
    /// Evaluate at most this many test instances per category (a fixed pseudo-random subset, by id hash).
    pub max_test_per_category: Option<usize>,
    pub max_prompt_len: usize,
    /// As `[finetune] device`: only the precision it implies enters the key.
    pub device: DeviceChoice,
}

impl Default for EvaluateSection {
    fn default() -> Self {
        EvaluateSection {
            max_new_tokens: 128,
            batch_size: 32,
            max_test_per_category: None,
            max_prompt_len: 1920,
            device: DeviceChoice::Auto,
        }
    }
}

/// `[ewc]`: method `ewc`'s penalty λ/2 · Σ F (θ − θ*)² towards the previous stage's weights θ*, with F the
/// diagonal Fisher of the previous stage's training mix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EwcSection {
    pub lambda: f64,
}

impl Default for EwcSection {
    fn default() -> Self {
        EwcSection { lambda: 5000.0 }
    }
}

/// `[lwf]`: method `lwf`'s distillation term, weight · T² · KL(teacher ‖ student) per target token, with the
/// previous stage's model as the teacher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LwfSection {
    pub temperature: f64,
    pub weight: f64,
}

impl Default for LwfSection {
    fn default() -> Self {
        LwfSection { temperature: 2.0, weight: 1.0 }
    }
}

/// The names of the stage sections, in the order a pipeline file documents them.
pub const SECTION_NAMES: [&str; 10] =
    ["annotate", "embed", "distance", "insinfo", "replay", "model", "finetune", "evaluate", "ewc", "lwf"];

/// All stage sections, parsed.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    pub annotate: AnnotateSection,
    pub embed: EmbedSection,
    pub distance: DistanceSection,
    pub insinfo: InsInfoSection,
    pub replay: ReplaySection,
    pub model: ModelSection,
    pub finetune: FinetuneSection,
    pub evaluate: EvaluateSection,
    pub ewc: EwcSection,
    pub lwf: LwfSection,
}

/// What is wrong with a section: the section, the key when one is to blame, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionProblem {
    pub section: String,
    pub key: Option<String>,
    pub problem: String,
}

impl std::fmt::Display for SectionProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "[{}] {k}: {}", self.section, self.problem),
            None => write!(f, "[{}]: {}", self.section, self.problem),
        }
    }
}

impl Sections {
    /// Parses the sections present in `raw` (the rest keep their defaults). Structural errors only: value
    /// checks are [`crate::validate::check_sections`].
    pub fn parse(raw: &std::collections::BTreeMap<String, toml::Value>) -> Result<Sections, SectionProblem> {
        fn take<T: serde::de::DeserializeOwned + Default>(
            raw: &std::collections::BTreeMap<String, toml::Value>,
            name: &str,
        ) -> Result<T, SectionProblem> {
            match raw.get(name) {
                None => Ok(T::default()),
                Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| {
                    // toml names neither the key of a bad value nor always the unknown one: find it by parsing
                    // each key alone (every field has a default).
                    let key = v.as_table().and_then(|t| {
                        t.iter()
                            .find(|(k, v)| {
                                let alone = toml::Value::Table([((*k).clone(), (*v).clone())].into_iter().collect());
                                alone.try_into::<T>().is_err()
                            })
                            .map(|(k, _)| k.clone())
                    });
                    SectionProblem { section: name.into(), key, problem: e.message().trim().to_string() }
                }),
            }
        }
        Ok(Sections {
            annotate: take(raw, "annotate")?,
            embed: take(raw, "embed")?,
            distance: take(raw, "distance")?,
            insinfo: take(raw, "insinfo")?,
            replay: take(raw, "replay")?,
            model: take(raw, "model")?,
            finetune: take(raw, "finetune")?,
            evaluate: take(raw, "evaluate")?,
            ewc: take(raw, "ewc")?,
            lwf: take(raw, "lwf")?,
        })
    }
}
