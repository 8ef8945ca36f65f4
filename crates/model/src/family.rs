//! The decoder families `inscl-model` runs, chosen by `config.json`'s `model_type`, and what each family's
//! `transformers` code computes differently from LLaMA. They share one decoder ([`crate::llama::Llama`]):
//! Qwen2, Qwen3 and Mistral are LLaMA with biases, per-head query/key norms or a sliding window, so one kernel
//! with these switches is both faster to keep correct and as fast as the LLaMA path when they are off.

use crate::error::{ModelError, Result};

/// A supported `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `llama` (LLaMA 1-3.x, SmolLM2): optional `attention_bias` (q, k, v and o) and `mlp_bias`.
    Llama,
    /// `qwen2` (Qwen2, Qwen2.5): q/k/v projections always have a bias, o_proj never.
    Qwen2,
    /// `qwen3`: RMSNorm over each query and key head (`q_norm`, `k_norm`) before RoPE; optional `attention_bias`.
    Qwen3,
    /// `mistral`: a sliding attention window on every layer.
    Mistral,
}

impl Family {
    pub fn from_model_type(model_type: &str) -> Result<Self> {
        Ok(match model_type {
            "llama" => Family::Llama,
            "qwen2" => Family::Qwen2,
            "qwen3" => Family::Qwen3,
            "mistral" => Family::Mistral,
            other => {
                return Err(ModelError::Config(format!(
                    "config.json: model_type = {other:?} is not implemented (llama, qwen2, qwen3 and mistral are)"
                )));
            }
        })
    }

    pub fn model_type(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Qwen2 => "qwen2",
            Family::Qwen3 => "qwen3",
            Family::Mistral => "mistral",
        }
    }

    /// The `architectures` entry `transformers` loads the family with.
    pub fn architecture(self) -> &'static str {
        match self {
            Family::Llama => "LlamaForCausalLM",
            Family::Qwen2 => "Qwen2ForCausalLM",
            Family::Qwen3 => "Qwen3ForCausalLM",
            Family::Mistral => "MistralForCausalLM",
        }
    }

    /// Config keys that change the computation and that the family's `transformers` code reads. A key of this
    /// kind that the family does not read is refused, since whoever wrote it expected it to matter.
    pub fn reads(self, key: &str) -> bool {
        match key {
            "attention_bias" => matches!(self, Family::Llama | Family::Qwen3),
            "mlp_bias" | "pretraining_tp" => self == Family::Llama,
            "sliding_window" => self != Family::Llama,
            "use_sliding_window" | "max_window_layers" | "layer_types" => matches!(self, Family::Qwen2 | Family::Qwen3),
            _ => true,
        }
    }

    /// Whether q/k/v (and o) projections carry a bias, given the config's `attention_bias`.
    pub fn qkv_bias(self, attention_bias: bool) -> bool {
        self == Family::Qwen2 || attention_bias
    }

    pub fn o_bias(self, attention_bias: bool) -> bool {
        self != Family::Qwen2 && attention_bias
    }

    pub fn qk_norm(self) -> bool {
        self == Family::Qwen3
    }
}

/// `config.json` keys that do not change what the model computes (bookkeeping, generation defaults read
/// elsewhere, training-only settings whose value is checked where it matters). Any key outside this list and
/// outside the fields the decoder reads is refused by name.
pub const HARMLESS_KEYS: &[&str] = &[
    "_name_or_path",
    "architectures",
    "model_type",
    "torch_dtype",
    "dtype",
    "transformers_version",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "use_cache",
    "initializer_range",
    "max_position_embeddings",
    "tokenizer_class",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "is_decoder",
    "is_encoder_decoder",
    "tie_encoder_decoder",
    "unsloth_version",
];
