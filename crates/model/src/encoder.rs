//! Text encoders behind InsCL's embeddings: the sentence encoder (MiniLM) and the paper's instruction
//! embedding, the mean of the LLaMA's input-embedding vectors over an instruction's tokens.

use crate::bert::MiniLm;
use crate::error::{ModelError, Result};
use crate::llama_model::{LlamaModel, load_tokenizer, preview};
use std::path::Path;
use tch::{Device, Kind, Tensor};
use tokenizers::Tokenizer;

/// Maps texts to fixed-size vectors in two steps: text → token ids, token ids → vector. A vector depends on
/// the ids alone, so callers may embed each distinct id sequence once: SuperNI instances whose definition fills
/// MiniLM's 256-token window truncate to the same ids, whatever their input.
pub trait TextEncoder {
    fn name(&self) -> &str;
    fn dim(&self) -> usize;
    /// The ids each text is encoded from, truncated as the encoder truncates. An error names the text.
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>, ModelError>;
    /// Vectors of rows returned by [`Self::tokenize`], in order.
    fn encode_tokens(&self, rows: &[&[i64]]) -> Result<Vec<Vec<f32>>, ModelError>;
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let ids = self.tokenize(texts)?;
        let rows: Vec<&[i64]> = ids.iter().map(Vec::as_slice).collect();
        self.encode_tokens(&rows)
    }
}

impl TextEncoder for MiniLm {
    fn name(&self) -> &str {
        "all-MiniLM-L6-v2"
    }

    fn dim(&self) -> usize {
        MiniLm::dim(self)
    }

    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>> {
        MiniLm::tokenize(self, texts)
    }

    fn encode_tokens(&self, rows: &[&[i64]]) -> Result<Vec<Vec<f32>>> {
        MiniLm::encode_tokens(self, rows)
    }
}

/// Mean of the LLaMA input embeddings of a text's tokens (no BOS): the instruction embedding InsCL uses
/// for its Wasserstein task distances. Holds its own copy of the embedding matrix, so later fine-tuning
/// of the model it came from does not change it.
#[derive(Debug)]
pub struct LlmMean {
    embeddings: Tensor,
    tokenizer: Tokenizer,
}

impl LlmMean {
    pub fn from_model(model: &LlamaModel) -> Self {
        let embeddings = tch::no_grad(|| model.llama.embed_tokens_weight().detach().copy());
        LlmMean { embeddings, tokenizer: model.tokenizer.clone() }
    }

    /// Reads only `model.embed_tokens.weight` and `tokenizer.json` from a Hugging Face LLaMA folder.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;
        let name = "model.embed_tokens.weight";
        // Only this tensor is copied out of the (memory-mapped, possibly sharded, f16/bf16) checkpoint.
        let checkpoint = crate::checkpoint::Checkpoint::open(dir)?;
        match checkpoint.tensor(name)? {
            Some(tensor) => Ok(LlmMean { embeddings: tensor.to_kind(Kind::Float).to_device(device), tokenizer }),
            None => Err(ModelError::Weights {
                dir: dir.to_path_buf(),
                message: format!("no tensor {name} in any *.safetensors"),
            }),
        }
    }
}

impl TextEncoder for LlmMean {
    fn name(&self) -> &str {
        "llm-mean-embedding"
    }

    fn dim(&self) -> usize {
        self.embeddings.size()[1] as usize
    }

    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>> {
        let vocab = self.embeddings.size()[0];
        let mut rows = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let context = || format!("text {index} {:?}", preview(text));
            let encoding = self.tokenizer.encode(*text, false).map_err(|e| ModelError::tokenizer(context(), e))?;
            let ids: Vec<i64> = encoding.get_ids().iter().map(|&id| i64::from(id)).collect();
            if ids.is_empty() {
                return Err(ModelError::Input(format!("{} has no tokens to average", context())));
            }
            if let Some(bad) = ids.iter().find(|&&id| id >= vocab) {
                return Err(ModelError::Input(format!("{}: token id {bad} outside the embedding matrix", context())));
            }
            rows.push(ids);
        }
        Ok(rows)
    }

    fn encode_tokens(&self, rows: &[&[i64]]) -> Result<Vec<Vec<f32>>> {
        let device = self.embeddings.device();
        let vocab = self.embeddings.size()[0];
        let mut vectors = Vec::with_capacity(rows.len());
        for (index, ids) in rows.iter().enumerate() {
            // Rows normally come from `tokenize`, which checked them; index_select would abort on a bad id.
            if ids.is_empty() || ids.iter().any(|&id| id < 0 || id >= vocab) {
                return Err(ModelError::Input(format!("row {index}: no tokens, or a token id outside the embedding matrix")));
            }
            let ids = Tensor::from_slice(ids).to_device(device);
            let mean = tch::no_grad(|| {
                self.embeddings.index_select(0, &ids).to_kind(Kind::Float).mean_dim(0, false, Kind::Float)
            });
            vectors.push(Vec::<f32>::try_from(&mean.to_device(Device::Cpu))?);
        }
        Ok(vectors)
    }
}
