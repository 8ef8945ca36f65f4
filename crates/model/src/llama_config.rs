//! The LLaMA hyper-parameters, read from and written to a Hugging Face `config.json`.

use crate::error::{ModelError, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

/// Hugging Face `LlamaConfig` fields the model needs; the defaults are those of `transformers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    #[serde(default = "default_architectures")]
    pub architectures: Vec<String>,
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Grouped-query attention: the number of key/value heads; `None` means one per query head.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; `None` means `hidden_size / num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_initializer_range")]
    pub initializer_range: f64,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default, deserialize_with = "first_token_id")]
    pub bos_token_id: Option<i64>,
    /// The first end-of-sequence id when `config.json` lists several.
    #[serde(default, deserialize_with = "first_token_id")]
    pub eos_token_id: Option<i64>,
    #[serde(default, deserialize_with = "first_token_id")]
    pub pad_token_id: Option<i64>,
    /// Kept only to refuse checkpoints whose RoPE is scaled: this implementation has plain RoPE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<serde_json::Value>,
    #[serde(default = "default_torch_dtype")]
    pub torch_dtype: String,
}

fn default_architectures() -> Vec<String> {
    vec!["LlamaForCausalLM".to_string()]
}
fn default_model_type() -> String {
    "llama".to_string()
}
fn default_rms_norm_eps() -> f64 {
    1e-6
}
fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_max_position_embeddings() -> usize {
    2048
}
fn default_initializer_range() -> f64 {
    0.02
}
fn default_hidden_act() -> String {
    "silu".to_string()
}
fn default_torch_dtype() -> String {
    "float32".to_string()
}

/// `config.json` token ids may be a number, a list of numbers, or null.
fn first_token_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(i64),
        Many(Vec<i64>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => None,
        Some(OneOrMany::One(id)) => Some(id),
        Some(OneOrMany::Many(ids)) => ids.first().copied(),
    })
}

impl LlamaConfig {
    /// A configuration with `transformers`' defaults for everything but the sizes.
    pub fn new(
        vocab_size: usize,
        hidden_size: usize,
        intermediate_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        num_key_value_heads: usize,
    ) -> Self {
        LlamaConfig {
            architectures: default_architectures(),
            model_type: default_model_type(),
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads: Some(num_key_value_heads),
            head_dim: None,
            rms_norm_eps: 1e-5,
            rope_theta: default_rope_theta(),
            max_position_embeddings: default_max_position_embeddings(),
            tie_word_embeddings: true,
            initializer_range: default_initializer_range(),
            hidden_act: default_hidden_act(),
            attention_bias: false,
            mlp_bias: false,
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: None,
            rope_scaling: None,
            torch_dtype: default_torch_dtype(),
        }
    }

    /// Reads and validates a Hugging Face `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        let config: LlamaConfig =
            serde_json::from_str(&text).map_err(|source| ModelError::Json { path: path.to_path_buf(), source })?;
        config.validate()?;
        Ok(config)
    }

    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_size(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Rejects configurations this implementation would compute wrongly instead of silently diverging.
    pub fn validate(&self) -> Result<()> {
        let fail = |message: String| Err(ModelError::Config(message));
        if self.model_type != "llama" {
            return fail(format!("model_type is {:?}, only \"llama\" is implemented", self.model_type));
        }
        for (name, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.kv_heads()),
        ] {
            if value == 0 {
                return fail(format!("{name} must be positive"));
            }
        }
        if self.head_dim.is_none() && !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return fail(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !self.head_size().is_multiple_of(2) {
            return fail(format!("head size {} must be even for RoPE", self.head_size()));
        }
        if !self.num_attention_heads.is_multiple_of(self.kv_heads()) {
            return fail(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads,
                self.kv_heads()
            ));
        }
        if self.hidden_act != "silu" {
            return fail(format!("hidden_act is {:?}, only \"silu\" is implemented", self.hidden_act));
        }
        if self.attention_bias || self.mlp_bias {
            return fail("attention_bias/mlp_bias are not implemented".to_string());
        }
        if self.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
            return fail("rope_scaling is not implemented (plain RoPE only)".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hf_fields_with_defaults_and_eos_lists() {
        let json = r#"{"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
            "num_hidden_layers": 1, "num_attention_heads": 2, "eos_token_id": [7, 8], "bos_token_id": 1}"#;
        let config: LlamaConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.kv_heads(), 2);
        assert_eq!(config.head_size(), 4);
        assert_eq!(config.rope_theta, 10_000.0);
        assert_eq!(config.eos_token_id, Some(7));
        assert!(!config.tie_word_embeddings);
        config.validate().unwrap();
        let round_trip: LlamaConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(round_trip, config);
    }

    #[test]
    fn rejects_unsupported_configurations() {
        let mut config = LlamaConfig::new(10, 8, 16, 1, 2, 2);
        config.num_key_value_heads = Some(3);
        assert!(config.validate().is_err());
        let mut config = LlamaConfig::new(10, 8, 16, 1, 2, 1);
        config.rope_scaling = Some(serde_json::json!({"type": "linear", "factor": 2.0}));
        assert!(config.validate().unwrap_err().to_string().contains("rope_scaling"));
    }
}
