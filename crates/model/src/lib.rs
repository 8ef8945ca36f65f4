//! The models InsCL needs, in tch (libtorch).
//!
//! - [`LlamaModel`]: the decoder that InsCL fine-tunes task after task and evaluates by greedy decoding
//!   ([`generate_greedy`]). It runs the families of [`Family`] (`llama` incl. Llama 3.x RoPE, `qwen2`,
//!   `qwen3`, `mistral`), refuses by name any `config.json` setting it does not implement, loads Hugging
//!   Face folders as users have them (sharded, f16/bf16, memory-mapped) and saves them back in the family's
//!   format, so that checkpoints stay usable by `transformers`.
//! - [`chat_prompt_for`]: a user turn in the folder's own chat template (minijinja), ChatML without one.
//! - [`score::mean_nll`]: each text's mean next-token negative log-likelihood under such a model.
//! - [`MiniLm`]: all-MiniLM-L6-v2, the sentence encoder behind instruction and tag embeddings.
//! - [`LlmMean`]: the paper's instruction embedding, the mean of the LLaMA's input embeddings over an
//!   instruction's tokens, whose Wasserstein distances between tasks drive InsCL's replay allocation.
//!
//! Both encoders implement [`TextEncoder`].

pub mod bert;
pub mod chat;
pub mod checkpoint;
pub mod device;
pub mod encoder;
pub mod error;
pub mod family;
pub mod generate;
pub mod llama;
pub mod llama_config;
pub mod llama_model;
pub mod rope;
pub mod score;
pub mod tensor_file;
pub mod tokens;

pub use bert::MiniLm;
pub use chat::{ChatTemplate, Message, chat_prompt_for};
pub use device::parse_device;
pub use encoder::{LlmMean, TextEncoder};
pub use error::ModelError;
pub use family::Family;
pub use generate::{chat_prompt, generate_greedy, generate_text};
pub use llama::{KvCache, Llama};
pub use llama_config::{LlamaConfig, TokenIds};
pub use llama_model::{LlamaModel, load_tokenizer};
pub use tch;
pub use tokenizers;
