//! The models InsCL needs, in tch (libtorch).
//!
//! - [`LlamaModel`]: the LLaMA that InsCL fine-tunes task after task and evaluates by greedy decoding
//!   ([`generate_greedy`]); it loads from and saves to Hugging Face folders so that checkpoints stay usable by
//!   `transformers`.
//! - [`MiniLm`]: all-MiniLM-L6-v2, the sentence encoder behind instruction and tag embeddings.
//! - [`LlmMean`]: the paper's instruction embedding, the mean of the LLaMA's input embeddings over an
//!   instruction's tokens, whose Wasserstein distances between tasks drive InsCL's replay allocation.
//!
//! Both encoders implement [`TextEncoder`].

pub mod bert;
pub mod device;
pub mod encoder;
pub mod error;
pub mod generate;
pub mod llama;
pub mod llama_config;
pub mod llama_model;

pub use bert::MiniLm;
pub use device::parse_device;
pub use encoder::{LlmMean, TextEncoder};
pub use error::ModelError;
pub use generate::{chat_prompt, generate_greedy, generate_text};
pub use llama::{KvCache, Llama};
pub use llama_config::LlamaConfig;
pub use llama_model::{LlamaModel, load_tokenizer};
pub use tch;
pub use tokenizers;
