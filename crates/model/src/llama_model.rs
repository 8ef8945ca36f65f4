//! A decoder checkpoint in memory (any supported family; the type keeps LLaMA's name): weights, configuration,
//! tokenizer and end-of-sequence ids, loaded from and saved to a Hugging Face folder (`config.json`,
//! `*.safetensors` or sharded, `tokenizer.json`, `generation_config.json`, `tokenizer_config.json`).

use crate::chat::ChatTemplate;
use crate::checkpoint::Checkpoint;
use crate::error::{ModelError, Result};
use crate::llama::Llama;
use crate::llama_config::{LlamaConfig, TokenIds};
use crate::tokens::eos_token_ids;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::{Device, Kind, Tensor, nn};
use tokenizers::Tokenizer;

/// The files of a checkpoint folder that [`LlamaModel::save_hf`] always writes, in name order.
pub const HF_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// The files of a loaded folder that a checkpoint keeps as they were: the chat template and special tokens
/// (`tokenizer_config.json`) and the decoding defaults and EOS list (`generation_config.json`). Without them a
/// fine-tuned SmolLM2 would lose its chat template, and transformers its stopping tokens.
pub const HF_KEPT_FILES: [&str; 2] = ["generation_config.json", "tokenizer_config.json"];

/// The model every InsCL stage shares: fine-tuned in place, decoded greedily, and saved as checkpoints.
pub struct LlamaModel {
    pub vs: nn::VarStore,
    pub llama: Llama,
    pub config: LlamaConfig,
    pub tokenizer: Tokenizer,
    /// The folder's end-of-sequence ids (see [`crate::tokens::eos_token_ids`]); the first ends training targets.
    pub eos_token_ids: Vec<i64>,
    /// The folder's `tokenizer_config.json` chat template, if any ([`Self::chat_prompt`]).
    pub chat_template: Option<ChatTemplate>,
    /// Those of [`HF_KEPT_FILES`] the folder had, byte for byte, for [`Self::save_hf`] to write back.
    pub kept_files: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for LlamaModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaModel").field("config", &self.config).field("device", &self.vs.device()).finish()
    }
}

/// Reads a `tokenizer.json`, naming the file in the error.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    if !path.is_file() {
        return Err(ModelError::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
    }
    Tokenizer::from_file(path).map_err(|e| ModelError::tokenizer(format!("file {}", path.display()), e))
}

impl LlamaModel {
    /// Loads a Hugging Face LLaMA folder with f32 weights.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        Self::load_with_kind(dir, device, Kind::Float)
    }

    /// Loads a Hugging Face folder of any supported family, converting the weights (f32, f16 or bf16, one file
    /// or shards) to `kind` (e.g. `Kind::BFloat16`).
    pub fn load_with_kind(dir: &Path, device: Device, kind: Kind) -> Result<Self> {
        let config = LlamaConfig::from_file(&dir.join("config.json"))?;
        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;
        let eos_token_ids = eos_token_ids(dir, &config, &tokenizer)?;
        let chat_template = ChatTemplate::from_tokenizer_config(&dir.join("tokenizer_config.json"))?;
        let mut vs = nn::VarStore::new(device);
        let llama = tch::no_grad(|| Llama::new(vs.root(), &config))?;
        let checkpoint = Checkpoint::open(dir)?;
        let variables: HashMap<String, Tensor> = vs.variables();
        let tied = config.tie_word_embeddings;
        // transformers ignores a saved lm_head when the embeddings are tied, and rotary tables are recomputed.
        let ignorable = |name: &str| (tied && name == "lm_head.weight") || name.ends_with("rotary_emb.inv_freq");
        checkpoint.copy_into(&variables, &ignorable)?;
        if kind != Kind::Float {
            vs.set_kind(kind);
        }
        let mut kept_files = Vec::new();
        for name in HF_KEPT_FILES {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => kept_files.push((name.to_string(), bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ModelError::io(&path, e)),
            }
        }
        Ok(LlamaModel { vs, llama, config, tokenizer, eos_token_ids, chat_template, kept_files })
    }

    /// A freshly initialised model (normal(0, initializer_range) matrices, ones for norms) drawn from `seed`.
    ///
    /// The values come from a ChaCha8 stream per parameter (seeded by `seed` and the parameter's name), not
    /// from libtorch's global generator: the pipeline runs stages on several threads, and a MiniLM being
    /// loaded on another thread draws from that global generator too, which made the same key give different
    /// weights from run to run.
    pub fn random_init(config: LlamaConfig, tokenizer: Tokenizer, device: Device, seed: i64) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let llama = tch::no_grad(|| Llama::new(vs.root(), &config))?;
        let std = config.initializer_range;
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, mut var) in vars {
            if var.dim() < 2 {
                continue;
            }
            let values = seeded_normal(seed, &name, var.numel(), std);
            let source = Tensor::from_slice(&values).view(var.size().as_slice()).to_device(device);
            tch::no_grad(|| var.f_copy_(&source))?;
        }
        let eos_token_ids = config.eos_ids();
        Ok(LlamaModel { vs, llama, config, tokenizer, eos_token_ids, chat_template: None, kept_files: Vec::new() })
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// One user turn in the folder's chat template, ending where the answer starts; ChatML without a template.
    pub fn chat_prompt(&self, user: &str) -> Result<String> {
        crate::chat::prompt_with(self.chat_template.as_ref(), user)
    }

    /// The end-of-sequence token that ends training targets: the folder's first EOS id.
    pub fn eos_token_id(&self) -> Option<i64> {
        self.eos_token_ids.first().copied()
    }

    /// Ids generation stops at: the folder's EOS ids, plus `<|im_end|>`, `</s>` and `<|endoftext|>` when the
    /// vocabulary has them (checkpoints fine-tuned before the folder's EOS was used end answers with those).
    pub fn stop_token_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.eos_token_ids.clone();
        for token in ["<|im_end|>", "</s>", "<|endoftext|>"] {
            if let Some(id) = self.tokenizer.token_to_id(token).map(i64::from)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids
    }

    /// Token ids of `text` without special tokens added (prompts carry their own ChatML markers).
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ModelError::tokenizer(format!("encoding {:?}", preview(text)), e))?;
        Ok(encoding.get_ids().iter().map(|&id| i64::from(id)).collect())
    }

    /// Text of `ids`, special tokens skipped.
    pub fn decode(&self, ids: &[i64]) -> Result<String> {
        let ids: Vec<u32> = ids
            .iter()
            .map(|&id| u32::try_from(id).map_err(|_| ModelError::Input(format!("token id {id} is negative"))))
            .collect::<Result<_>>()?;
        self.tokenizer.decode(&ids, true).map_err(|e| ModelError::tokenizer("decoding", e))
    }

    /// `config.json` and `tokenizer.json` of the checkpoint, and the variables that make `model.safetensors`
    /// (tied `lm_head` left out, as `transformers` writes it).
    fn hf_parts(&self) -> Result<(Vec<u8>, Vec<u8>, BTreeMap<String, Tensor>)> {
        // The family's own config, every original key kept; only the dtype changes, since weights are saved in f32.
        let mut config = self.config.clone();
        config.torch_dtype = "float32".to_string();
        if config.extra.contains_key("dtype") {
            config.extra.insert("dtype".to_string(), serde_json::Value::from("float32"));
        }
        // The folder's EOS list survives in config.json, where transformers' generation falls back to it.
        if self.eos_token_ids.len() > 1 || (config.eos_token_id.is_none() && !self.eos_token_ids.is_empty()) {
            config.eos_token_id = Some(match self.eos_token_ids.as_slice() {
                [one] => TokenIds::One(*one),
                many => TokenIds::Many(many.to_vec()),
            });
        }
        let config_json = serde_json::to_vec_pretty(&config)
            .map_err(|e| ModelError::Serialise { what: "config.json".to_string(), message: e.to_string() })?;
        let tokenizer_json = self
            .tokenizer
            .to_string(false)
            .map_err(|e| ModelError::Serialise { what: "tokenizer.json".to_string(), message: e.to_string() })?;
        Ok((config_json, tokenizer_json.into_bytes(), self.vs.variables().into_iter().collect()))
    }

    /// The checkpoint as Hugging Face files: `config.json`, `model.safetensors` (f32) and `tokenizer.json`,
    /// all in memory; [`Self::save_hf`] writes the same bytes without holding the weights twice.
    pub fn hf_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let (config_json, tokenizer_json, variables) = self.hf_parts()?;
        let named: Vec<(&str, &Tensor)> = variables.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let weights = crate::tensor_file::serialize_f32(&named, safetensors_metadata())?;
        let mut files = vec![
            ("config.json".to_string(), config_json),
            ("model.safetensors".to_string(), weights),
            ("tokenizer.json".to_string(), tokenizer_json),
        ];
        files.extend(self.kept_files.iter().cloned());
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files)
    }

    /// The names of the files [`Self::save_hf`] writes, in name order.
    pub fn hf_file_names(&self) -> Vec<String> {
        let mut names: Vec<String> = HF_FILES.iter().map(|n| n.to_string()).chain(self.kept_files.iter().map(|(n, _)| n.clone())).collect();
        names.sort();
        names
    }

    /// Writes the files of [`Self::hf_files`], byte for byte, into `dir` (created if needed), streaming the
    /// weights one tensor at a time: a checkpoint never needs to fit in memory twice. The files are written in
    /// place, not atomically: callers write into a folder they publish as a whole (the store's staging folder).
    pub fn save_hf(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        let (config_json, tokenizer_json, variables) = self.hf_parts()?;
        let kept = self.kept_files.iter().map(|(n, b)| (n.as_str(), b.clone()));
        for (name, bytes) in [("config.json", config_json), ("tokenizer.json", tokenizer_json)].into_iter().chain(kept) {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| ModelError::io(&path, e))?;
        }
        let path = dir.join("model.safetensors");
        let named: Vec<(&str, &Tensor)> = variables.iter().map(|(n, t)| (n.as_str(), t)).collect();
        crate::tensor_file::write_f32(&named, safetensors_metadata(), &path)
    }
}

fn safetensors_metadata() -> HashMap<String, String> {
    HashMap::from([("format".to_string(), "pt".to_string())])
}

pub(crate) fn preview(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// `n` draws of normal(0, std) as f32 from a ChaCha8 stream keyed by (seed, name), by Box-Muller: the same
/// values on every platform and thread schedule.
fn seeded_normal(seed: i64, name: &str, n: usize, std: f64) -> Vec<f32> {
    use rand::{RngCore, SeedableRng};
    let mut key = [0u8; 32];
    key.copy_from_slice(blake3::hash(format!("{seed}\0{name}").as_bytes()).as_bytes());
    let mut rng = rand_chacha::ChaCha8Rng::from_seed(key);
    let mut uniform = move || ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u1, u2) = (uniform(), uniform());
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let t = std::f64::consts::TAU * u2;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod init_tests {
    #[test]
    fn seeded_normal_is_reproducible_and_has_the_right_moments() {
        let a = super::seeded_normal(1, "model.layers.0.mlp.up_proj.weight", 100_000, 0.02);
        assert_eq!(a, super::seeded_normal(1, "model.layers.0.mlp.up_proj.weight", 100_000, 0.02));
        assert_ne!(a[..8], super::seeded_normal(2, "model.layers.0.mlp.up_proj.weight", 8, 0.02)[..]);
        let mean = a.iter().map(|&v| v as f64).sum::<f64>() / a.len() as f64;
        let var = a.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / a.len() as f64;
        assert!(mean.abs() < 3e-4, "{mean}");
        assert!((var.sqrt() - 0.02).abs() < 3e-4, "{}", var.sqrt());
    }
}
