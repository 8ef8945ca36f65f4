//! The decoder shared by every supported family (RMSNorm, RoPE, grouped-query attention, SwiGLU), with the
//! switches of [`Family`]: projection biases, Qwen3's per-head query/key norms and Mistral's sliding window;
//! parameter names are Hugging Face's, so that `transformers` checkpoints load into it and back.

use crate::error::Result;
use crate::family::Family;
use crate::llama_config::LlamaConfig;
use crate::rope::{Rope, Rotary};
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

/// Keys and values of every layer for the positions decoded so far, `[batch, kv_heads, past, head]` each.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    /// An empty cache for a model with `num_layers` decoder layers ([`Llama::num_layers`]).
    pub fn new(num_layers: usize) -> Self {
        KvCache { layers: (0..num_layers).map(|_| None).collect() }
    }

    /// Number of positions already held.
    pub fn len(&self) -> i64 {
        match self.layers.first() {
            Some(Some((keys, _))) => keys.size()[2],
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the given batch rows (finished sequences are dropped from the batch).
    pub fn select_rows(&mut self, rows: &Tensor) {
        for (keys, values) in self.layers.iter_mut().flatten() {
            *keys = keys.index_select(0, rows);
            *values = values.index_select(0, rows);
        }
    }
}

fn normal_init(std: f64) -> Init {
    Init::Randn { mean: 0.0, stdev: std }
}

/// RMSNorm computed in f32 whatever the weights' dtype, as `transformers` does.
#[derive(Debug)]
struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    fn new(p: nn::Path, size: usize, eps: f64) -> Self {
        RmsNorm { weight: p.var("weight", &[size as i64], Init::Const(1.0)), eps }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        let kind = xs.kind();
        let xs32 = xs.to_kind(Kind::Float);
        let variance = xs32.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
        let normed = (xs32 * (variance + self.eps).rsqrt()).to_kind(kind);
        &self.weight * normed
    }
}

/// A projection with a `[out, in]` weight and, where the family has one, a bias (`nn.Linear`; biases start at
/// zero as in `transformers`).
#[derive(Debug)]
struct Projection {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Projection {
    fn new(p: nn::Path, in_dim: usize, out_dim: usize, std: f64, bias: bool) -> Self {
        Projection {
            weight: p.var("weight", &[out_dim as i64, in_dim as i64], normal_init(std)),
            bias: bias.then(|| p.var("bias", &[out_dim as i64], Init::Const(0.0))),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.linear(&self.weight, self.bias.as_ref())
    }
}

#[derive(Debug)]
struct Attention {
    q_proj: Projection,
    k_proj: Projection,
    v_proj: Projection,
    o_proj: Projection,
    /// Qwen3: RMSNorm over each head of the queries and keys, before RoPE.
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    /// Keys further back than this many positions are not attended to (Mistral, Qwen sliding layers).
    window: Option<i64>,
    heads: i64,
    kv_heads: i64,
    head_size: i64,
}

impl Attention {
    fn new(p: nn::Path, config: &LlamaConfig, family: Family, window: Option<usize>) -> Self {
        let hidden = config.hidden_size;
        let head_size = config.head_size();
        let heads = config.num_attention_heads;
        let kv_heads = config.kv_heads();
        let std = config.initializer_range;
        let qkv_bias = family.qkv_bias(config.attention_bias);
        let norm = |name: &str| family.qk_norm().then(|| RmsNorm::new(&p / name, head_size, config.rms_norm_eps));
        Attention {
            q_proj: Projection::new(&p / "q_proj", hidden, heads * head_size, std, qkv_bias),
            k_proj: Projection::new(&p / "k_proj", hidden, kv_heads * head_size, std, qkv_bias),
            v_proj: Projection::new(&p / "v_proj", hidden, kv_heads * head_size, std, qkv_bias),
            o_proj: Projection::new(&p / "o_proj", heads * head_size, hidden, std, family.o_bias(config.attention_bias)),
            q_norm: norm("q_norm"),
            k_norm: norm("k_norm"),
            window: window.map(|w| w as i64),
            heads: heads as i64,
            kv_heads: kv_heads as i64,
            head_size: head_size as i64,
        }
    }

    /// `allowed` is a boolean `[batch, 1, seq, past + seq]` mask (true = may attend), already restricted to the
    /// layer's window; `None` means plain causal attention over `xs` alone, which SDPA is told with `is_causal`
    /// and no mask, so that PyTorch may pick its flash or memory-efficient kernels (and group the KV heads
    /// itself) instead of materialising the attention weights.
    fn forward(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        allowed: Option<&Tensor>,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
    ) -> Tensor {
        let (batch, seq, _) = xs.size3().expect("attention input is [batch, seq, hidden]");
        let split = |t: Tensor, heads: i64, norm: Option<&RmsNorm>| {
            let t = t.view([batch, seq, heads, self.head_size]);
            norm.map_or(t.shallow_clone(), |n| n.forward(&t)).transpose(1, 2)
        };
        let queries = rotary.apply(&split(self.q_proj.forward(xs), self.heads, self.q_norm.as_ref()));
        let mut keys = rotary.apply(&split(self.k_proj.forward(xs), self.kv_heads, self.k_norm.as_ref()));
        let mut values = split(self.v_proj.forward(xs), self.kv_heads, None);
        if let Some(slot) = cache {
            if let Some((past_keys, past_values)) = slot.as_ref() {
                keys = Tensor::cat(&[past_keys, &keys], 2);
                values = Tensor::cat(&[past_values, &values], 2);
            }
            *slot = Some((keys.shallow_clone(), values.shallow_clone()));
        }
        let groups = self.heads / self.kv_heads;
        let attended = match allowed {
            None => Tensor::scaled_dot_product_attention::<Tensor>(&queries, &keys, &values, None, 0.0, true, None, groups > 1),
            // On CPU, SDPA groups the KV heads itself under a mask too: a decoding step then reads the cache
            // once instead of copying it `groups` times (SmolLM2, 8 rows, 400 cached tokens: 0.38 ms instead of
            // 2.96 ms per layer, same values). CUDA's memory-efficient kernel takes a mask but not grouped
            // heads, so there the heads are repeated to keep that kernel.
            Some(allowed) if !queries.device().is_cuda() => Tensor::scaled_dot_product_attention(
                &queries, &keys, &values, Some(allowed), 0.0, false, None, groups > 1,
            ),
            Some(allowed) => {
                if groups > 1 {
                    keys = keys.repeat_interleave_self_int(groups, 1, None);
                    values = values.repeat_interleave_self_int(groups, 1, None);
                }
                Tensor::scaled_dot_product_attention(&queries, &keys, &values, Some(allowed), 0.0, false, None, false)
            }
        };
        let merged = attended.transpose(1, 2).contiguous().view([batch, seq, self.heads * self.head_size]);
        self.o_proj.forward(&merged)
    }
}

#[derive(Debug)]
struct Mlp {
    gate_proj: Projection,
    up_proj: Projection,
    down_proj: Projection,
}

impl Mlp {
    fn new(p: nn::Path, config: &LlamaConfig, family: Family) -> Self {
        let (hidden, inner, std) = (config.hidden_size, config.intermediate_size, config.initializer_range);
        let bias = family == Family::Llama && config.mlp_bias;
        Mlp {
            gate_proj: Projection::new(&p / "gate_proj", hidden, inner, std, bias),
            up_proj: Projection::new(&p / "up_proj", hidden, inner, std, bias),
            down_proj: Projection::new(&p / "down_proj", inner, hidden, std, bias),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        self.down_proj.forward(&(self.gate_proj.forward(xs).silu() * self.up_proj.forward(xs)))
    }
}

#[derive(Debug)]
struct DecoderLayer {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

impl DecoderLayer {
    /// Pre-norm attention and MLP, each added to the residual stream; `allowed` as in [`Attention::forward`].
    fn forward(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        allowed: Option<&Tensor>,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
    ) -> Tensor {
        // Residual additions stay out of place: `+=` on a Tensor is `add_`, which would overwrite activations
        // that autograd still needs during fine-tuning.
        let xs = xs + self.self_attn.forward(&self.input_layernorm.forward(xs), rotary, allowed, cache);
        let mlp_out = self.mlp.forward(&self.post_attention_layernorm.forward(&xs));
        xs + mlp_out
    }
}

/// The decoder-only transformer: `model.*` parameters plus `lm_head` unless tied to the embeddings.
#[derive(Debug)]
pub struct Llama {
    embed_tokens: Tensor,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    lm_head: Option<Tensor>,
    rope: Rope,
    /// The inverse RoPE frequencies, computed once (per call only for `dynamic` RoPE).
    inv_freq: Tensor,
}

impl Llama {
    /// Creates the parameters under `p` with `transformers`' initialisation (normal(0, initializer_range)
    /// for matrices, ones for norms); `LlamaModel::load` overwrites them with a checkpoint.
    pub fn new(p: nn::Path, config: &LlamaConfig) -> Result<Self> {
        config.validate()?;
        let family = config.family()?;
        let windows = config.layer_windows()?;
        let rope = config.rope()?;
        let inv_freq = rope.inv_freq(0, p.device());
        let model = &p / "model";
        let std = config.initializer_range;
        let (vocab, hidden) = (config.vocab_size as i64, config.hidden_size as i64);
        let embed_tokens = (&model / "embed_tokens").var("weight", &[vocab, hidden], normal_init(std));
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let lp = &model / "layers" / i;
                DecoderLayer {
                    input_layernorm: RmsNorm::new(&lp / "input_layernorm", config.hidden_size, config.rms_norm_eps),
                    self_attn: Attention::new(&lp / "self_attn", config, family, windows[i]),
                    post_attention_layernorm: RmsNorm::new(
                        &lp / "post_attention_layernorm",
                        config.hidden_size,
                        config.rms_norm_eps,
                    ),
                    mlp: Mlp::new(&lp / "mlp", config, family),
                }
            })
            .collect();
        let norm = RmsNorm::new(&model / "norm", config.hidden_size, config.rms_norm_eps);
        let lm_head =
            (!config.tie_word_embeddings).then(|| (&p / "lm_head").var("weight", &[vocab, hidden], normal_init(std)));
        Ok(Llama {
            embed_tokens,
            layers,
            norm,
            lm_head,
            rope,
            inv_freq,
        })
    }

    /// The input embedding matrix `[vocab, hidden]` (shares storage with the parameter).
    pub fn embed_tokens_weight(&self) -> &Tensor {
        &self.embed_tokens
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Logits `[batch, seq, vocab]` for every position. `attention_mask` is `[batch, seq]` of 1 (token) and
    /// 0 (padding), for left- or right-padded batches; positions count only real tokens.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>) -> Tensor {
        let hidden = self.hidden_states(input_ids, attention_mask);
        self.logits(&hidden)
    }

    /// Final normalised hidden states `[batch, seq, hidden]` (the input of the LM head).
    pub fn hidden_states(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>) -> Tensor {
        let (batch, seq) = input_ids.size2().expect("input_ids is [batch, seq]");
        let device = input_ids.device();
        let key_mask = match attention_mask {
            Some(mask) => mask.to_device(device).ne(0),
            None => Tensor::ones([batch, seq], (Kind::Bool, device)),
        };
        let positions = positions_from_mask(&key_mask);
        // Without a padding mask (a right-padded training batch: no real token follows a pad) and with every
        // sliding window at least as long as the batch, the mask is exactly causal.
        if attention_mask.is_none() && self.window_shorter_than(seq).is_none() {
            let xs = Tensor::embedding(&self.embed_tokens, input_ids, -1, false, false);
            let rotary = Rotary::new(&positions, &self.inv_freq_for(&positions), xs.kind());
            return self.layers_forward(xs, &rotary, |_| None, None);
        }
        self.decode_step(input_ids, &positions, &key_mask, None)
    }

    /// Forward and backward of a right-padded training batch (no attention mask) with activation
    /// recomputation, "gradient checkpointing": the forward keeps only each decoder layer's input, and the
    /// backward recomputes one layer at a time from it, so the activations held are one layer's plus one
    /// `[batch, seq, hidden]` tensor per layer. `loss_of` maps the final normalised hidden states to the
    /// scalar to differentiate; `autocast` runs the layers under CUDA autocast as the plain forward would.
    /// The gradients that accumulate into the parameters are the plain backward's: each layer's recomputed
    /// graph is seeded with the gradient of its output, and every kernel sees the same inputs. Returns what
    /// `loss_of` returned, detached.
    pub fn backward_recomputing(
        &self,
        input_ids: &Tensor,
        autocast: bool,
        loss_of: &dyn Fn(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let (batch, seq) = input_ids.size2()?;
        if let Some(w) = self.window_shorter_than(seq) {
            return Err(crate::error::ModelError::Input(format!(
                "gradient checkpointing of a {seq}-token batch under a {w}-token sliding window is not implemented"
            )));
        }
        let positions = positions_from_mask(&Tensor::ones([batch, seq], (Kind::Bool, input_ids.device())));
        let embed = || Tensor::embedding(&self.embed_tokens, input_ids, -1, false, false);
        let rotary = Rotary::new(&positions, &self.inv_freq_for(&positions), self.embed_tokens.kind());
        let layer_forward =
            |layer: &DecoderLayer, xs: &Tensor| tch::autocast(autocast, || layer.forward(xs, &rotary, None, None));
        // A tied embedding gets two gradients per batch, the LM head's and the lookup's. The plain backward sums
        // them before adding them to the earlier micro batches' gradient; doing the same here keeps the bits
        // (float addition is commutative but not associative).
        let earlier = match &self.lm_head {
            None if self.embed_tokens.grad().defined() => {
                let mut grad = self.embed_tokens.grad();
                let saved = grad.copy();
                let _ = grad.f_zero_()?;
                Some(saved)
            }
            _ => None,
        };
        let mut inputs = Vec::with_capacity(self.layers.len());
        let top = tch::no_grad(|| {
            let mut xs = embed();
            for layer in &self.layers {
                let next = layer_forward(layer, &xs);
                inputs.push(std::mem::replace(&mut xs, next));
            }
            xs
        });
        let top = top.set_requires_grad(true);
        let loss = loss_of(&self.norm.forward(&top))?;
        loss.f_backward()?;
        let mut grad = top.grad();
        // (out * grad).sum() has gradient `grad` with respect to `out` exactly (a product with ones), so each
        // recomputed layer passes on the same gradients as the whole graph would.
        for (layer, input) in self.layers.iter().zip(inputs).rev() {
            let input = input.set_requires_grad(true);
            let out = layer_forward(layer, &input);
            out.f_mul(&grad)?.f_sum(out.kind())?.f_backward()?;
            grad = input.grad();
        }
        embed().f_mul(&grad)?.f_sum(grad.kind())?.f_backward()?;
        if let Some(saved) = earlier {
            let _ = self.embed_tokens.grad().f_add_(&saved)?;
        }
        Ok(loss.detach())
    }

    /// Projects hidden states to vocabulary logits.
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden.linear::<Tensor>(self.lm_head.as_ref().unwrap_or(&self.embed_tokens), None)
    }

    /// One incremental step: `input_ids`/`positions` are `[batch, seq]` for the new tokens, `key_mask` is
    /// `[batch, past + seq]` (true for real tokens, past and new), and `cache` holds the past keys/values
    /// and receives the new ones. Returns the normalised hidden states of the new tokens. Without a cache it
    /// is a full pass over `input_ids`.
    pub fn decode_step(
        &self,
        input_ids: &Tensor,
        positions: &Tensor,
        key_mask: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> Tensor {
        let device = input_ids.device();
        let seq = input_ids.size()[1];
        let past = cache.as_ref().map_or(0, |c| c.len());
        let total = past + seq;
        let query_index = Tensor::arange_start(past, total, (Kind::Int64, device)).unsqueeze(1);
        let key_index = Tensor::arange(total, (Kind::Int64, device)).unsqueeze(0);
        // A padded query row would otherwise see no key at all and turn into NaN, which poisons gradients
        // even under a zero loss weight; letting every position see itself keeps those rows finite.
        let causal = key_index.le_tensor(&query_index);
        let itself = key_index.eq_tensor(&query_index);
        let allowed = key_mask.to_kind(Kind::Bool).unsqueeze(1).unsqueeze(1).logical_and(&causal).logical_or(&itself);
        // Sliding windows count cache slots, as transformers' masks do; left padding keeps real tokens
        // contiguous at the end, so for them this is the distance in positions.
        let windowed: Vec<(i64, Tensor)> = {
            let mut sizes: Vec<i64> = self.layers.iter().filter_map(|l| l.self_attn.window).collect();
            sizes.sort_unstable();
            sizes.dedup();
            sizes
                .into_iter()
                .map(|w| (w, allowed.logical_and(&(&query_index - &key_index).lt(w)).logical_or(&itself)))
                .collect()
        };
        let xs = Tensor::embedding(&self.embed_tokens, input_ids, -1, false, false);
        let rotary = Rotary::new(positions, &self.inv_freq_for(positions), xs.kind());
        let mask = |window: Option<i64>| match window {
            Some(w) => Some(&windowed.iter().find(|(size, _)| *size == w).expect("a mask per window size").1),
            None => Some(&allowed),
        };
        self.layers_forward(xs, &rotary, mask, cache)
    }

    /// A sliding window of some layer shorter than a `seq`-token batch (with none, an unpadded batch attends
    /// exactly causally in every layer).
    fn window_shorter_than(&self, seq: i64) -> Option<i64> {
        self.layers.iter().filter_map(|l| l.self_attn.window).find(|&w| w < seq)
    }

    /// RoPE inverse frequencies; dynamic scaling depends on the longest position.
    fn inv_freq_for(&self, positions: &Tensor) -> Tensor {
        if self.rope.is_dynamic() {
            let longest = positions.max().int64_value(&[]) + 1;
            self.rope.inv_freq(longest, positions.device())
        } else {
            self.inv_freq.shallow_clone()
        }
    }

    /// The decoder layers and the final norm; `mask(window)` gives each layer's attention mask (`None`: causal).
    fn layers_forward<'m>(
        &self,
        mut xs: Tensor,
        rotary: &Rotary,
        mask: impl Fn(Option<i64>) -> Option<&'m Tensor>,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor {
        for (index, layer) in self.layers.iter().enumerate() {
            let slot = cache.as_deref_mut().map(|c| &mut c.layers[index]);
            xs = layer.forward(&xs, rotary, mask(layer.self_attn.window), slot);
        }
        self.norm.forward(&xs)
    }

    pub fn device(&self) -> Device {
        self.embed_tokens.device()
    }
}

/// `cumsum(mask) - 1`, clamped at 0, so that left padding does not shift the positions of real tokens.
pub fn positions_from_mask(key_mask: &Tensor) -> Tensor {
    (key_mask.to_kind(Kind::Int64).cumsum(1, Kind::Int64) - 1).clamp_min(0)
}
