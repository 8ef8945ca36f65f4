//! The all-MiniLM-L6-v2 sentence encoder (a 6-layer BERT with mean pooling and L2 normalisation), as
//! `sentence-transformers` computes it: the embedding InsCL's instruction and tag distances are built on.

use crate::error::{ModelError, Result};
use crate::llama_model::{load_tokenizer, preview};
use serde::Deserialize;
use std::path::Path;
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};
use tokenizers::{Tokenizer, TruncationParams};

/// `sentence-transformers`' `max_seq_length` for all-MiniLM-L6-v2; longer texts are truncated.
pub const MAX_SEQ_LENGTH: usize = 256;
/// Texts encoded per forward pass; sorted by length first so that batches carry little padding.
const ENCODE_BATCH: usize = 64;

#[derive(Debug, Clone, Deserialize)]
struct BertConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    layer_norm_eps: f64,
    hidden_act: String,
}

#[derive(Debug)]
struct BertLayer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attention_output: nn::Linear,
    attention_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    output_norm: nn::LayerNorm,
}

impl BertLayer {
    fn new(p: nn::Path, config: &BertConfig) -> Self {
        let (hidden, inner) = (config.hidden_size as i64, config.intermediate_size as i64);
        let norm = nn::LayerNormConfig { eps: config.layer_norm_eps, ..Default::default() };
        let attention = &p / "attention";
        let self_attention = &attention / "self";
        let linear = |path: nn::Path, i: i64, o: i64| nn::linear(path, i, o, Default::default());
        BertLayer {
            query: linear(&self_attention / "query", hidden, hidden),
            key: linear(&self_attention / "key", hidden, hidden),
            value: linear(&self_attention / "value", hidden, hidden),
            attention_output: linear(&attention / "output" / "dense", hidden, hidden),
            attention_norm: nn::layer_norm(&attention / "output" / "LayerNorm", vec![hidden], norm),
            intermediate: linear(&p / "intermediate" / "dense", hidden, inner),
            output: linear(&p / "output" / "dense", inner, hidden),
            output_norm: nn::layer_norm(&p / "output" / "LayerNorm", vec![hidden], norm),
        }
    }

    /// `allowed` is a boolean `[batch, 1, 1, seq]` key mask.
    fn forward(&self, xs: &Tensor, allowed: &Tensor, heads: i64) -> Tensor {
        let (batch, seq, hidden) = xs.size3().expect("BERT hidden states are [batch, seq, hidden]");
        let split = |t: Tensor| t.view([batch, seq, heads, hidden / heads]).transpose(1, 2);
        let attended = Tensor::scaled_dot_product_attention(
            &split(self.query.forward(xs)),
            &split(self.key.forward(xs)),
            &split(self.value.forward(xs)),
            Some(allowed),
            0.0,
            false,
            None,
            false,
        )
        .transpose(1, 2)
        .contiguous()
        .view([batch, seq, hidden]);
        let xs = self.attention_norm.forward(&(self.attention_output.forward(&attended) + xs));
        let inner = self.intermediate.forward(&xs).gelu("none");
        self.output_norm.forward(&(self.output.forward(&inner) + xs))
    }
}

/// all-MiniLM-L6-v2: `encode` returns unit-length 384-dimensional sentence embeddings.
#[derive(Debug)]
pub struct MiniLm {
    _vs: nn::VarStore,
    word_embeddings: nn::Embedding,
    position_embeddings: nn::Embedding,
    token_type_embeddings: nn::Embedding,
    embedding_norm: nn::LayerNorm,
    layers: Vec<BertLayer>,
    heads: i64,
    dim: usize,
    vocab: i64,
    /// Longest row `encode_tokens` accepts: the position table's length.
    max_len: usize,
    tokenizer: Tokenizer,
    device: Device,
}

impl MiniLm {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from the model folder.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|e| ModelError::io(&config_path, e))?;
        let config: BertConfig =
            serde_json::from_str(&text).map_err(|source| ModelError::Json { path: config_path.clone(), source })?;
        if config.hidden_act != "gelu" || !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            return Err(ModelError::Config(format!(
                "{}: expected a BERT with exact GELU and hidden_size divisible by the heads",
                config_path.display()
            )));
        }
        let mut tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;
        // The shipped tokenizer pads every text to 128 and truncates at 128; sentence-transformers instead
        // pads to the longest text of the batch and truncates at 256.
        tokenizer.with_padding(None);
        let max_length = MAX_SEQ_LENGTH.min(config.max_position_embeddings);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length, ..Default::default() }))
            .map_err(|e| ModelError::tokenizer("setting truncation", e))?;

        let mut vs = nn::VarStore::new(device);
        let root = vs.root();
        let embeddings = &root / "embeddings";
        let hidden = config.hidden_size as i64;
        let embedding =
            |name: &str, rows: usize| nn::embedding(&embeddings / name, rows as i64, hidden, Default::default());
        let word_embeddings = embedding("word_embeddings", config.vocab_size);
        let position_embeddings = embedding("position_embeddings", config.max_position_embeddings);
        let token_type_embeddings = embedding("token_type_embeddings", config.type_vocab_size);
        let norm = nn::LayerNormConfig { eps: config.layer_norm_eps, ..Default::default() };
        let embedding_norm = nn::layer_norm(&embeddings / "LayerNorm", vec![hidden], norm);
        let layers =
            (0..config.num_hidden_layers).map(|i| BertLayer::new(&root / "encoder" / "layer" / i, &config)).collect();
        let weights = dir.join("model.safetensors");
        tch::no_grad(|| vs.read_safetensors(&weights)).map_err(|e| ModelError::Weights {
            dir: dir.to_path_buf(),
            message: e.to_string().lines().next().unwrap_or_default().to_string(),
        })?;
        vs.freeze();
        Ok(MiniLm {
            _vs: vs,
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embedding_norm,
            layers,
            heads: config.num_attention_heads as i64,
            dim: config.hidden_size,
            vocab: config.vocab_size as i64,
            max_len: config.max_position_embeddings,
            tokenizer,
            device,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Unit-length embeddings of `texts`, in order.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let token_ids = self.tokenize(texts)?;
        let rows: Vec<&[i64]> = token_ids.iter().map(Vec::as_slice).collect();
        self.encode_tokens(&rows)
    }

    /// The ids `encode` runs on: `[CLS] … [SEP]`, truncated to [`MAX_SEQ_LENGTH`] as sentence-transformers does.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>> {
        let ids = |e: &tokenizers::Encoding| e.get_ids().iter().map(|&id| i64::from(id)).collect::<Vec<i64>>();
        // The batch call tokenizes on all cores; when it fails, the texts one by one name the culprit.
        if let Ok(encodings) = self.tokenizer.encode_batch(texts.to_vec(), true) {
            return Ok(encodings.iter().map(ids).collect());
        }
        let mut token_ids = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let encoding = self
                .tokenizer
                .encode(*text, true)
                .map_err(|e| ModelError::tokenizer(format!("encoding text {index} {:?}", preview(text)), e))?;
            token_ids.push(ids(&encoding));
        }
        Ok(token_ids)
    }

    /// Unit-length embeddings of rows of token ids (from [`Self::tokenize`]), in order.
    pub fn encode_tokens(&self, token_ids: &[&[i64]]) -> Result<Vec<Vec<f32>>> {
        for (index, row) in token_ids.iter().enumerate() {
            // An out-of-range id would abort inside libtorch's embedding lookup instead of failing here.
            if row.len() > self.max_len || row.iter().any(|&id| id < 0 || id >= self.vocab) {
                return Err(ModelError::Input(format!(
                    "row {index}: {} token ids, or an id outside the vocabulary of {}",
                    row.len(),
                    self.vocab
                )));
            }
        }
        let mut order: Vec<usize> = (0..token_ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(token_ids[i].len()));
        let mut embeddings = vec![Vec::new(); token_ids.len()];
        for batch in order.chunks(ENCODE_BATCH) {
            let rows: Vec<&[i64]> = batch.iter().map(|&i| token_ids[i]).collect();
            let pooled = tch::no_grad(|| self.encode_batch(&rows));
            let pooled = Vec::<Vec<f32>>::try_from(&pooled.to_device(Device::Cpu))?;
            for (&index, embedding) in batch.iter().zip(pooled) {
                embeddings[index] = embedding;
            }
        }
        Ok(embeddings)
    }

    /// Right-padded forward pass, masked mean pooling and L2 normalisation: `[batch, hidden]` f32.
    fn encode_batch(&self, rows: &[&[i64]]) -> Tensor {
        let longest = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0i64; rows.len() * longest];
        let mut mask = vec![0f32; rows.len() * longest];
        for (r, row) in rows.iter().enumerate() {
            ids[r * longest..r * longest + row.len()].copy_from_slice(row);
            mask[r * longest..r * longest + row.len()].fill(1.0);
        }
        let shape = [rows.len() as i64, longest as i64];
        let input_ids = Tensor::from_slice(&ids).view(shape).to_device(self.device);
        let mask = Tensor::from_slice(&mask).view(shape).to_device(self.device);
        let positions = Tensor::arange(longest as i64, (Kind::Int64, self.device)).unsqueeze(0);
        let token_types = input_ids.zeros_like();
        let embedded = self.word_embeddings.forward(&input_ids)
            + self.position_embeddings.forward(&positions)
            + self.token_type_embeddings.forward(&token_types);
        let mut xs = self.embedding_norm.forward(&embedded);
        let allowed = mask.ne(0.0).unsqueeze(1).unsqueeze(1);
        for layer in &self.layers {
            xs = layer.forward(&xs, &allowed, self.heads);
        }
        let weights = mask.unsqueeze(-1);
        let summed = (xs * &weights).sum_dim_intlist(1, false, Kind::Float);
        let counts = weights.sum_dim_intlist(1, false, Kind::Float).clamp_min(1e-9);
        let mean = summed / counts;
        let norms = mean.norm_scalaropt_dim(2, [1], true).clamp_min(1e-12);
        mean / norms
    }
}
