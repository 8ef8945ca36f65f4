//! The annotate stage of InsCL: every instruction gets its *intention tags*, the raw material of InsInfo.
//!
//! InsCL (Wang et al., NAACL 2024) follows InsTag: a strong chat model (GPT-4 in the paper) reads each task
//! instruction through a fixed tagging prompt ([`prompt::tagging_prompt`]) and answers with a JSON list of
//! coarse-grained `{"tag", "explanation"}` pairs. The tags are then normalised (lowercase, non-letters to
//! spaces, WordNet lemmatisation: [`normalise::TagNormaliser`]) so that "Grammar Checks" and "grammar-check"
//! count as one tag when InsInfo measures how rare an instruction's tags are in the replay pool.
//!
//! Three interchangeable [`Tagger`]s produce the raw tags:
//! - [`openai::OpenAiTagger`]: the paper's set-up, any OpenAI-compatible chat-completions endpoint, asking
//!   for structured output ([`response_format`]) and falling back to keyphrases if told to ([`OnFailure`]);
//! - [`local::LocalTagger`]: the same prompt through a local chat model ([`ChatGenerator`]), falling back to
//!   keyphrases per instruction when the model's reply cannot be parsed;
//! - [`keyphrase::KeyphraseTagger`]: the offline, deterministic default: KeyBERT-style keyphrases ranked by
//!   embedding similarity to the instruction ([`PhraseEmbedder`]) with Maximal Marginal Relevance.
//!
//! [`annotate`] runs a tagger over instructions through a row-level [`cache::TagCache`] keyed by the tagger's
//! configuration and the instruction text, so adding a task tags only its new instructions and a rerun makes
//! no model or API call. Models enter through the [`PhraseEmbedder`] and [`ChatGenerator`] traits, so this
//! crate does not depend on any tensor library.

pub mod cache;
pub mod keyphrase;
pub mod lemma;
pub mod local;
pub mod normalise;
pub mod openai;
pub mod parse;
pub mod prompt;
pub mod response_format;
mod stage;
mod stopwords;

use serde::{Deserialize, Serialize};

pub use cache::{MemoryTagCache, TagCache, cache_key, canonical_json};
pub use keyphrase::KeyphraseTagger;
pub use lemma::{Pos, WordNetLexicon};
pub use local::LocalTagger;
pub use normalise::TagNormaliser;
pub use openai::{DEFAULT_MAX_TOKENS, OnFailure, OpenAiTagger};
pub use response_format::{FormatStep, ResponseFormat};
pub use stage::{Progress, annotate};

/// Errors of the annotate stage. Messages name the instruction, reply or file at fault and never contain the
/// API key.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    #[error("instruction {id:?}: {reason}")]
    InvalidInstruction { id: String, reason: String },
    #[error("tagger reply is not a usable tag list: {0}")]
    Parse(String),
    #[error("instruction {id:?}: tagging failed after {attempts} attempt(s): {reason}")]
    TaggingFailed {
        id: String,
        attempts: usize,
        reason: String,
    },
    #[error("environment variable {0} is not set (the API key for the OpenAI-compatible tagger)")]
    MissingApiKey(&'static str),
    #[error("invalid tagger configuration: {0}")]
    Config(String),
    #[error("phrase embedder: {0}")]
    Embedder(String),
    #[error("chat generator: {0}")]
    Generator(String),
    #[error("WordNet data {path}: {reason}")]
    Lexicon { path: String, reason: String },
    #[error("tagger returned {got} tag lists for {expected} instructions")]
    CountMismatch { expected: usize, got: usize },
}

/// One instruction to tag: its id (for error messages and output rows) and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instruction {
    pub id: String,
    pub text: String,
}

/// One tag as the tagger produced it, before normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawTag {
    pub tag: String,
    pub explanation: String,
}

/// The tags of one instruction and which tagger produced them (`"openai:<model>:<response format>"` with
/// the format `json_schema`, `json_object` or `plain`, `"local"`, `"keyphrase"`, `"keyphrase-fallback"`).
/// This is what the cache stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagList {
    pub tags: Vec<RawTag>,
    pub source: String,
}

/// One output row of the stage: one (instruction, normalised tag) pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagRow {
    pub instruction_id: String,
    pub tag_raw: String,
    pub explanation: String,
    pub tag_norm: String,
    pub source: String,
}

/// Produces raw intention tags for a batch of instructions.
pub trait Tagger {
    /// The identity of the tagger's configuration (model, prompt version, parameters; never a secret). It
    /// keys the row-level cache: two taggers with equal configs must produce the same tags.
    fn config(&self) -> serde_json::Value;
    /// One tag list per instruction, in order.
    fn tag(&self, items: &[Instruction]) -> Result<Vec<TagList>, AnnotateError>;
    /// How many instructions [`annotate`] hands over per call: the unit of progress and of caching, so a
    /// failure loses at most one batch of work.
    fn batch_size(&self) -> usize {
        32
    }
}

/// Sentence embeddings, e.g. all-MiniLM-L6-v2. Vectors are expected to be unit length (cosine is computed
/// robustly anyway).
pub trait PhraseEmbedder {
    /// Identity of the model (name and revision), part of the tagger config and so of the cache key.
    fn model_id(&self) -> String;
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError>;
}

/// A chat model decoding greedily with its ChatML template: one single-turn conversation per message.
pub trait ChatGenerator {
    /// Identity of the model (name and revision), part of the tagger config and so of the cache key.
    fn model_id(&self) -> String;
    fn chat(&self, user_messages: &[String], max_new_tokens: usize) -> Result<Vec<String>, AnnotateError>;
}
