//! The decoder hyper-parameters of every supported family, read from and written to a Hugging Face
//! `config.json`; everything that changes the computation is either implemented or refused by name.

use crate::error::{ModelError, Result};
use crate::family::{Family, HARMLESS_KEYS};
use crate::rope::Rope;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// `config.json` of a decoder of any supported [`Family`] (the name is LLaMA's for the callers that predate the
/// other families). Fields the decoder reads are typed; every other key lands in [`Self::extra`] and must be in
/// [`HARMLESS_KEYS`], so that no setting that changes the computation is silently ignored. Saving writes the
/// typed fields and `extra` back, which keeps the original file's keys.
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
    /// The RoPE base; with a transformers-5 `rope_parameters` object, its `rope_theta` (see [`Self::from_json`]).
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
    /// One id or several (Llama 3 lists `<|end_of_text|>`, `<|eom_id|>`, `<|eot_id|>`); kept as written.
    #[serde(default)]
    pub eos_token_id: Option<TokenIds>,
    #[serde(default, deserialize_with = "first_token_id")]
    pub pad_token_id: Option<i64>,
    /// transformers 4.x RoPE scaling (`type` or `rope_type`, factors); see [`crate::rope::Rope::from_config`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<Value>,
    /// transformers 5.x RoPE settings (`rope_type`, `rope_theta`, factors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_parameters: Option<Value>,
    /// Mistral: the attention window of every layer; Qwen2/3: of the sliding layers when `use_sliding_window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_sliding_window: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_window_layers: Option<usize>,
    /// Qwen2/3: `full_attention` or `sliding_attention` per layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_types: Option<Vec<String>>,
    /// Only 0 is implemented: fine-tuning here has no dropout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_dropout: Option<f64>,
    /// Only 1 is implemented (the sliced matmuls of older transformers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretraining_tp: Option<i64>,
    #[serde(default = "default_torch_dtype")]
    pub torch_dtype: String,
    /// The other keys of the file, all of them in [`HARMLESS_KEYS`] once validated.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `eos_token_id` as `config.json` writes it: one id or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    One(i64),
    Many(Vec<i64>),
}

impl TokenIds {
    pub fn ids(&self) -> Vec<i64> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }

    pub fn first(&self) -> Option<i64> {
        self.ids().first().copied()
    }
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

/// A RoPE settings object, absent or null meaning plain RoPE.
fn rope_object<'a>(name: &'static str, value: &'a Option<Value>) -> Result<Option<(&'static str, &'a serde_json::Map<String, Value>)>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some((name, map))),
        Some(other) => Err(ModelError::Config(format!("{name} = {other} is not an object"))),
    }
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
            rope_parameters: None,
            sliding_window: None,
            use_sliding_window: None,
            max_window_layers: None,
            layer_types: None,
            attention_dropout: None,
            pretraining_tp: None,
            torch_dtype: default_torch_dtype(),
            extra: BTreeMap::new(),
        }
    }

    /// Reads and validates a Hugging Face `config.json`; errors name the file and the field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|source| ModelError::Json { path: path.to_path_buf(), source })?;
        Self::from_json(value).map_err(|e| match e {
            ModelError::Config(message) => ModelError::Config(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    /// Parses and validates a `config.json` object of either transformers convention. A transformers-5
    /// `rope_parameters.rope_theta` becomes [`Self::rope_theta`] (a different top-level `rope_theta` is an error);
    /// Mistral's `sliding_window`, absent, is transformers' default 4096.
    pub fn from_json(mut value: Value) -> Result<Self> {
        let fail = |message: String| ModelError::Config(message);
        let object = value.as_object_mut().ok_or_else(|| fail("config.json is not a JSON object".to_string()))?;
        let model_type = object.get("model_type").and_then(Value::as_str).unwrap_or("llama").to_string();
        let family = Family::from_model_type(&model_type)?;
        if let Some(theta) = object.get("rope_parameters").and_then(|p| p.get("rope_theta")).cloned() {
            let theta_f = theta.as_f64().ok_or_else(|| fail(format!("rope_parameters.rope_theta = {theta} is not a number")))?;
            match object.get("rope_theta").map(|t| t.as_f64()) {
                Some(Some(top)) if top != theta_f => {
                    return Err(fail(format!("rope_theta = {top} disagrees with rope_parameters.rope_theta = {theta_f}")));
                }
                _ => {
                    object.insert("rope_theta".to_string(), theta);
                }
            }
        }
        if family == Family::Mistral && !object.contains_key("sliding_window") {
            object.insert("sliding_window".to_string(), Value::from(4096));
        }
        let config: LlamaConfig = serde_json::from_value(value).map_err(|e| fail(format!("config.json: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_size(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    pub fn family(&self) -> Result<Family> {
        Family::from_model_type(&self.model_type)
    }

    /// The end-of-sequence ids `config.json` lists, in order.
    pub fn eos_ids(&self) -> Vec<i64> {
        self.eos_token_id.as_ref().map(TokenIds::ids).unwrap_or_default()
    }

    /// The RoPE the config asks for, from `rope_parameters` (transformers 5) or `rope_scaling` (4.x).
    pub fn rope(&self) -> Result<Rope> {
        let scaling = match (rope_object("rope_parameters", &self.rope_parameters)?, rope_object("rope_scaling", &self.rope_scaling)?) {
            (Some(_), Some(_)) => {
                return Err(ModelError::Config("both rope_parameters and rope_scaling are set; keep one".to_string()));
            }
            (a, b) => a.or(b),
        };
        Rope::from_config(scaling, self.rope_theta, self.head_size(), self.max_position_embeddings)
    }

    /// The attention window of each layer (`None`: full causal attention), as the family's transformers code
    /// chooses it: Mistral's `sliding_window` on every layer; for Qwen2/3 the layers `layer_types` marks
    /// `sliding_attention`, or, without `layer_types`, those from `max_window_layers` on when `use_sliding_window`.
    pub fn layer_windows(&self) -> Result<Vec<Option<usize>>> {
        let layers = self.num_hidden_layers;
        Ok(match self.family()? {
            Family::Llama => vec![None; layers],
            Family::Mistral => vec![self.sliding_window; layers],
            Family::Qwen2 | Family::Qwen3 => {
                let window = if self.use_sliding_window.unwrap_or(false) { self.sliding_window } else { None };
                match &self.layer_types {
                    Some(types) => {
                        if types.len() != layers {
                            return Err(ModelError::Config(format!(
                                "layer_types has {} entries for {layers} layers",
                                types.len()
                            )));
                        }
                        types
                            .iter()
                            .enumerate()
                            .map(|(i, t)| match (t.as_str(), window) {
                                ("full_attention", _) => Ok(None),
                                ("sliding_attention", Some(w)) => Ok(Some(w)),
                                ("sliding_attention", None) => Err(ModelError::Config(format!(
                                    "layer_types[{i}] = \"sliding_attention\" without use_sliding_window and sliding_window"
                                ))),
                                (other, _) => Err(ModelError::Config(format!("layer_types[{i}] = {other:?} is not implemented"))),
                            })
                            .collect::<Result<_>>()?
                    }
                    None => {
                        let first = self.max_window_layers.unwrap_or(28);
                        (0..layers).map(|i| window.filter(|_| i >= first)).collect()
                    }
                }
            }
        })
    }

    /// Rejects configurations this implementation would compute wrongly instead of silently diverging.
    pub fn validate(&self) -> Result<()> {
        let fail = |message: String| Err(ModelError::Config(message));
        let family = self.family()?;
        for key in self.extra.keys() {
            if !HARMLESS_KEYS.contains(&key.as_str()) {
                return fail(format!("{key} = {} is not implemented", self.extra[key]));
            }
        }
        // Typed fields the family's transformers code does not read: set, they signal a misunderstanding.
        let set_but_unread = [
            ("attention_bias", self.attention_bias),
            ("mlp_bias", self.mlp_bias),
            ("sliding_window", self.sliding_window.is_some()),
            ("use_sliding_window", self.use_sliding_window.unwrap_or(false)),
            ("layer_types", self.layer_types.as_ref().is_some_and(|t| t.iter().any(|t| t != "full_attention"))),
            ("pretraining_tp", self.pretraining_tp.is_some_and(|tp| tp != 1)),
        ];
        for (key, set) in set_but_unread {
            if set && !family.reads(key) {
                return fail(format!("{key} is set but model_type {:?} does not use it", self.model_type));
            }
        }
        if let Some(tp) = self.pretraining_tp.filter(|&tp| tp != 1) {
            return fail(format!("pretraining_tp = {tp} is not implemented (only 1)"));
        }
        if let Some(p) = self.attention_dropout.filter(|&p| p != 0.0) {
            return fail(format!("attention_dropout = {p} is not implemented (only 0)"));
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
            return fail(format!("hidden_act = {:?} is not implemented (only \"silu\")", self.hidden_act));
        }
        if self.sliding_window == Some(0) {
            return fail("sliding_window must be positive".to_string());
        }
        self.rope()?;
        self.layer_windows()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rope::RopeScaling;
    use serde_json::json;

    fn base() -> Value {
        json!({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
               "num_attention_heads": 2, "eos_token_id": [7, 8], "bos_token_id": 1})
    }

    fn with(extra: Value) -> Value {
        let mut value = base();
        value.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        value
    }

    #[test]
    fn reads_hf_fields_with_defaults_and_eos_lists() {
        let config = LlamaConfig::from_json(base()).unwrap();
        assert_eq!(config.kv_heads(), 2);
        assert_eq!(config.head_size(), 4);
        assert_eq!(config.rope_theta, 10_000.0);
        assert_eq!(config.eos_ids(), [7, 8]);
        assert!(!config.tie_word_embeddings);
        let round_trip: LlamaConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(round_trip, config);
    }

    #[test]
    fn rejects_unsupported_configurations_by_field_name() {
        let mut config = LlamaConfig::new(10, 8, 16, 1, 2, 2);
        config.num_key_value_heads = Some(3);
        assert!(config.validate().is_err());
        for (extra, field) in [
            (json!({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}), "rope_scaling.rope_type = \"yarn\""),
            (json!({"rope_parameters": {"rope_type": "linear", "factor": 2.0, "beta_fast": 3}}), "rope_parameters.beta_fast"),
            (json!({"rope_scaling": {"type": "llama3", "factor": 8.0}}), "rope_scaling.low_freq_factor"),
            (json!({"partial_rotary_factor": 0.5}), "partial_rotary_factor"),
            (json!({"model_type": "gemma"}), "model_type = \"gemma\""),
            (json!({"mlp_bias": true, "model_type": "qwen2"}), "mlp_bias"),
            (json!({"sliding_window": 16}), "sliding_window"),
            (json!({"attention_dropout": 0.1}), "attention_dropout"),
            (json!({"hidden_act": "gelu"}), "hidden_act"),
            (json!({"rope_theta": 5.0, "rope_parameters": {"rope_type": "default", "rope_theta": 7.0}}), "rope_theta"),
        ] {
            let err = LlamaConfig::from_json(with(extra.clone())).unwrap_err().to_string();
            assert!(err.contains(field), "{extra}: {err}");
        }
    }

    #[test]
    fn both_rope_conventions_resolve_to_the_same_rope() {
        let factors = json!({"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 16});
        let mut v4 = factors.clone();
        v4["rope_type"] = json!("llama3");
        let old = LlamaConfig::from_json(with(json!({"rope_theta": 500000.0, "rope_scaling": v4}))).unwrap();
        let mut v5 = factors;
        v5["rope_type"] = json!("llama3");
        v5["rope_theta"] = json!(500000.0);
        let new = LlamaConfig::from_json(with(json!({"rope_parameters": v5}))).unwrap();
        assert_eq!(old.rope().unwrap(), new.rope().unwrap());
        assert_eq!(new.rope().unwrap().theta, 500000.0);
        assert!(matches!(new.rope().unwrap().scaling, RopeScaling::Llama3 { factor: 8.0, .. }));
        let typed = LlamaConfig::from_json(with(json!({"rope_scaling": {"type": "linear", "factor": 2.0}}))).unwrap();
        assert_eq!(typed.rope().unwrap().scaling, RopeScaling::Linear { factor: 2.0 });
    }

    #[test]
    fn sliding_windows_per_family() {
        let mistral = LlamaConfig::from_json(with(json!({"model_type": "mistral"}))).unwrap();
        assert_eq!(mistral.layer_windows().unwrap(), [Some(4096)], "transformers' default window");
        let qwen = LlamaConfig::from_json(with(json!({"model_type": "qwen2", "num_hidden_layers": 3,
            "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 1}))).unwrap();
        assert_eq!(qwen.layer_windows().unwrap(), [None, Some(8), Some(8)]);
        let off = LlamaConfig::from_json(with(json!({"model_type": "qwen3", "sliding_window": 8}))).unwrap();
        assert_eq!(off.layer_windows().unwrap(), [None]);
    }
}
