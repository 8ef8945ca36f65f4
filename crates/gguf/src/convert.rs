//! GGUF (llama.cpp, LLaMA architecture) → Hugging Face `LlamaForCausalLM` folder: dequantised weights
//! under HF names with the Q/K rotary permutation undone, plus config, tokenizer and generation files.

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::Path;
use std::str::FromStr;

use half::{bf16, f16};
use safetensors::Dtype;
use safetensors::tensor::View;
use serde_json::{Value, json};

use crate::GgufError;
use crate::dequant::dequantize;
use crate::reader::{Gguf, TensorInfo, bad_tensor, read_gguf};
use crate::tokenizer::{
    generation_config_json, special_token_ids, tokenizer_config_json, tokenizer_json,
};

/// Floating-point type of the weights written to `model.safetensors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    Bf16,
}

impl FromStr for DType {
    type Err = GgufError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" => Ok(Self::F32),
            "f16" => Ok(Self::F16),
            "bf16" => Ok(Self::Bf16),
            other => Err(GgufError::UnknownDType(other.to_string())),
        }
    }
}

impl DType {
    /// The name `config.json` uses (`torch_dtype`).
    pub fn torch_name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }

    fn safetensors_dtype(self) -> Dtype {
        match self {
            Self::F32 => Dtype::F32,
            Self::F16 => Dtype::F16,
            Self::Bf16 => Dtype::BF16,
        }
    }

    fn encode(self, values: &[f32]) -> Vec<u8> {
        match self {
            Self::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Self::F16 => values
                .iter()
                .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                .collect(),
            Self::Bf16 => values
                .iter()
                .flat_map(|&v| bf16::from_f32(v).to_le_bytes())
                .collect(),
        }
    }
}

/// The converted folder as (file name, contents); the caller decides where and how to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct HfFolder {
    pub files: Vec<(String, Vec<u8>)>,
}

impl HfFolder {
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bytes)| bytes.as_slice())
    }
}

/// LLaMA hyper-parameters from the `llama.*` metadata keys.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaHyperParams {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
}

fn positive(gguf: &Gguf, key: &str) -> Result<usize, GgufError> {
    let value = gguf.get_i64(key)?;
    usize::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| GgufError::Unsupported(format!("{key} = {value} is not a positive count")))
}

/// A float hyper-parameter. llama.cpp stores them as f32; widening through the shortest f32 decimal keeps
/// 1e-5 as 1e-5 in config.json rather than 9.999999747378752e-6.
fn float_param(gguf: &Gguf, key: &str) -> Result<f64, GgufError> {
    match gguf.get(key) {
        Some(crate::MetadataValue::F32(v)) => Ok(v.to_string().parse().unwrap_or(f64::from(*v))),
        _ => gguf.get_f64(key),
    }
}

impl LlamaHyperParams {
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, GgufError> {
        let arch = gguf.get_str("general.architecture")?;
        if arch != "llama" {
            return Err(GgufError::Unsupported(format!(
                "general.architecture is `{arch}`, only `llama` is converted"
            )));
        }
        if let Some(crate::MetadataValue::String(kind)) = gguf.get("llama.rope.scaling.type")
            && kind != "none"
        {
            return Err(GgufError::Unsupported(format!(
                "llama.rope.scaling.type `{kind}`"
            )));
        }
        let hidden_size = positive(gguf, "llama.embedding_length")?;
        let num_attention_heads = positive(gguf, "llama.attention.head_count")?;
        let num_key_value_heads = match gguf.get("llama.attention.head_count_kv") {
            Some(_) => positive(gguf, "llama.attention.head_count_kv")?,
            None => num_attention_heads,
        };
        let head_dim = match gguf.get("llama.rope.dimension_count") {
            Some(_) => positive(gguf, "llama.rope.dimension_count")?,
            None => hidden_size / num_attention_heads,
        };
        let vocab_size = match gguf.get("llama.vocab_size") {
            Some(_) => positive(gguf, "llama.vocab_size")?,
            None => gguf.get_array("tokenizer.ggml.tokens")?.len(),
        };
        let rope_theta = match gguf.get("llama.rope.freq_base") {
            Some(_) => float_param(gguf, "llama.rope.freq_base")?,
            None => 10_000.0,
        };
        Ok(Self {
            vocab_size,
            hidden_size,
            intermediate_size: positive(gguf, "llama.feed_forward_length")?,
            num_hidden_layers: positive(gguf, "llama.block_count")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            rms_norm_eps: float_param(gguf, "llama.attention.layer_norm_rms_epsilon")?,
            rope_theta,
            max_position_embeddings: positive(gguf, "llama.context_length")?,
            tie_word_embeddings: gguf.tensor("output.weight").is_none(),
        })
    }
}

/// Which attention projection a tensor is, when its rows carry llama.cpp's rotary permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RotaryRows {
    Query,
    Key,
}

/// Maps a llama.cpp tensor name to its Hugging Face LLaMA name.
pub fn hf_tensor_name(gguf_name: &str) -> Option<String> {
    let top = match gguf_name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(name) = top {
        return Some(name.to_string());
    }
    let rest = gguf_name.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    layer.parse::<usize>().ok()?;
    let (kind, suffix) = rest.split_once('.')?;
    let module = match kind {
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{module}.{suffix}"))
}

fn rotary_rows(gguf_name: &str) -> Option<RotaryRows> {
    let rest = gguf_name.strip_prefix("blk.")?;
    let (_, rest) = rest.split_once('.')?;
    match rest {
        "attn_q.weight" => Some(RotaryRows::Query),
        "attn_k.weight" => Some(RotaryRows::Key),
        _ => None,
    }
}

/// Undoes llama.cpp's rotary row permutation of a `[rows, cols]` row-major matrix: view the rows as
/// `[n_head, head_dim/2, 2]`, swap the last two axes, flatten back (HF rotates halves, GGML pairs).
pub fn unpermute_rows(
    values: &[f32],
    rows: usize,
    cols: usize,
    n_head: usize,
) -> Result<Vec<f32>, String> {
    if values.len() != rows * cols {
        return Err(format!(
            "{} values for a [{rows}, {cols}] matrix",
            values.len()
        ));
    }
    if n_head == 0 || !rows.is_multiple_of(2 * n_head) {
        return Err(format!(
            "{rows} rows do not split into {n_head} heads of even size"
        ));
    }
    let head_dim = rows / n_head;
    let half = head_dim / 2;
    let mut out = vec![0.0f32; values.len()];
    for head in 0..n_head {
        for pair in 0..2 {
            for i in 0..half {
                let dst = head * head_dim + pair * half + i;
                let src = head * head_dim + i * 2 + pair;
                out[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&values[src * cols..(src + 1) * cols]);
            }
        }
    }
    Ok(out)
}

/// `config.json` for `transformers.LlamaForCausalLM`.
pub fn config_json(
    gguf: &Gguf,
    params: &LlamaHyperParams,
    dtype: DType,
) -> Result<Value, GgufError> {
    let ids = special_token_ids(gguf)?;
    Ok(json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": params.vocab_size,
        "hidden_size": params.hidden_size,
        "intermediate_size": params.intermediate_size,
        "num_hidden_layers": params.num_hidden_layers,
        "num_attention_heads": params.num_attention_heads,
        "num_key_value_heads": params.num_key_value_heads,
        "head_dim": params.head_dim,
        "hidden_act": "silu",
        "rms_norm_eps": params.rms_norm_eps,
        "rope_theta": params.rope_theta,
        "rope_scaling": null,
        "max_position_embeddings": params.max_position_embeddings,
        "tie_word_embeddings": params.tie_word_embeddings,
        "attention_bias": false,
        "attention_dropout": 0.0,
        "mlp_bias": false,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "use_cache": true,
        "bos_token_id": ids.bos,
        "eos_token_id": ids.eos,
        "pad_token_id": ids.pad,
        "torch_dtype": dtype.torch_name(),
    }))
}

/// Dequantises one tensor to f32 in PyTorch layout (rotary permutation undone for q/k projections).
pub fn load_tensor_f32(
    gguf: &Gguf,
    info: &TensorInfo,
    params: &LlamaHyperParams,
) -> Result<Vec<f32>, GgufError> {
    let values = dequantize(info, &gguf.tensor_bytes(info)?)?;
    let Some(kind) = rotary_rows(&info.name) else {
        return Ok(values);
    };
    let n_head = match kind {
        RotaryRows::Query => params.num_attention_heads,
        RotaryRows::Key => params.num_key_value_heads,
    };
    let [rows, cols] = info.shape()[..] else {
        return Err(bad_tensor(
            info,
            format!("expected a matrix, found shape {:?}", info.shape()),
        ));
    };
    unpermute_rows(&values, rows, cols, n_head).map_err(|reason| bad_tensor(info, reason))
}

fn json_bytes(file: &'static str, value: &Value) -> Result<Vec<u8>, GgufError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| GgufError::Json { file, source })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Converts a LLaMA GGUF into the files of a Hugging Face folder.
pub fn convert(path: &Path, dtype: DType) -> Result<HfFolder, GgufError> {
    convert_with_progress(path, dtype, |_, _| {})
}

/// A GGUF about to be converted: read, checked, every tensor named.
struct Conversion {
    gguf: Gguf,
    params: LlamaHyperParams,
    dtype: DType,
    /// Hugging Face names, in the order of `gguf.tensors`.
    names: Vec<String>,
}

/// Progress of the tensors dequantised so far, and the first error (a view cannot return one).
struct Sink<'a> {
    done: usize,
    progress: &'a mut dyn FnMut(usize, usize),
    failed: Option<GgufError>,
}

/// One tensor, dequantised and encoded only when the safetensors writer asks for its bytes: a conversion
/// holds one tensor at a time, not the whole model.
struct LazyTensor<'a, 's> {
    conversion: &'a Conversion,
    info: &'a TensorInfo,
    shape: Vec<usize>,
    sink: &'a RefCell<Sink<'s>>,
}

impl LazyTensor<'_, '_> {
    fn bytes(&self) -> Result<Vec<u8>, GgufError> {
        let c = self.conversion;
        let bytes = c.dtype.encode(&load_tensor_f32(&c.gguf, self.info, &c.params)?);
        if bytes.len() != self.data_len() {
            return Err(bad_tensor(self.info, format!("{} bytes once converted, its shape needs {}", bytes.len(), self.data_len())));
        }
        Ok(bytes)
    }
}

impl View for LazyTensor<'_, '_> {
    fn dtype(&self) -> Dtype {
        self.conversion.dtype.safetensors_dtype()
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        let result = self.bytes();
        let mut sink = self.sink.borrow_mut();
        sink.done += 1;
        let done = sink.done;
        (sink.progress)(done, self.conversion.names.len());
        match result {
            Ok(bytes) => Cow::Owned(bytes),
            Err(e) => {
                sink.failed.get_or_insert(e);
                Cow::Owned(vec![0; self.data_len()])
            }
        }
    }

    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * self.dtype().bitsize() / 8
    }
}

impl Conversion {
    fn open(path: &Path, dtype: DType) -> Result<Conversion, GgufError> {
        let gguf = read_gguf(path)?;
        let params = LlamaHyperParams::from_gguf(&gguf)?;
        let names = gguf
            .tensors
            .iter()
            .map(|info| hf_tensor_name(&info.name).ok_or_else(|| GgufError::UnknownTensorName { tensor: info.name.clone() }))
            .collect::<Result<_, _>>()?;
        Ok(Conversion { gguf, params, dtype, names })
    }

    fn tensors<'a, 's>(&'a self, sink: &'a RefCell<Sink<'s>>) -> Vec<(&'a str, LazyTensor<'a, 's>)> {
        self.names
            .iter()
            .zip(&self.gguf.tensors)
            .map(|(name, info)| (name.as_str(), LazyTensor { conversion: self, info, shape: info.shape(), sink }))
            .collect()
    }

    fn metadata() -> std::collections::HashMap<String, String> {
        [("format".to_string(), "pt".to_string())].into_iter().collect()
    }

    /// Every file but `model.safetensors`, in name order.
    fn small_files(&self) -> Result<Vec<(String, Vec<u8>)>, GgufError> {
        let (gguf, params) = (&self.gguf, &self.params);
        Ok(vec![
            ("config.json".to_string(), json_bytes("config.json", &config_json(gguf, params, self.dtype)?)?),
            ("generation_config.json".to_string(), json_bytes("generation_config.json", &generation_config_json(gguf)?)?),
            ("tokenizer.json".to_string(), json_bytes("tokenizer.json", &tokenizer_json(gguf)?)?),
            (
                "tokenizer_config.json".to_string(),
                json_bytes("tokenizer_config.json", &tokenizer_config_json(gguf, params.max_position_embeddings as u64)?)?,
            ),
        ])
    }
}

/// [`convert`], calling `progress(done, total)` after each tensor.
pub fn convert_with_progress(
    path: &Path,
    dtype: DType,
    mut progress: impl FnMut(usize, usize),
) -> Result<HfFolder, GgufError> {
    let conversion = Conversion::open(path, dtype)?;
    let sink = RefCell::new(Sink { done: 0, progress: &mut progress, failed: None });
    let safetensors = safetensors::tensor::serialize(conversion.tensors(&sink), Some(Conversion::metadata()))?;
    if let Some(e) = sink.into_inner().failed {
        return Err(e);
    }
    let mut files = conversion.small_files()?;
    files.push(("model.safetensors".to_string(), safetensors));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(HfFolder { files })
}

/// [`convert_with_progress`] straight into the folder `dir` (created if needed), the weights streamed one
/// tensor at a time, so that a model never has to fit in memory. The files are written in place, not
/// atomically: write into a folder that is published whole (a temp folder, the store's staging folder).
/// Returns the names of the files written, in name order; their bytes equal [`convert`]'s.
pub fn convert_to_dir(
    path: &Path,
    dtype: DType,
    dir: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<String>, GgufError> {
    let conversion = Conversion::open(path, dtype)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GgufError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut names = Vec::new();
    for (name, bytes) in conversion.small_files()? {
        let file = dir.join(&name);
        std::fs::write(&file, bytes).map_err(io(&file))?;
        names.push(name);
    }
    let weights = dir.join("model.safetensors");
    let sink = RefCell::new(Sink { done: 0, progress: &mut progress, failed: None });
    let written = safetensors::tensor::serialize_to_file(conversion.tensors(&sink), Some(Conversion::metadata()), &weights)
        .map_err(|e| match e {
            safetensors::SafeTensorError::IoError(source) => GgufError::Io { path: weights.clone(), source },
            other => GgufError::Safetensors(other),
        });
    if let Some(e) = sink.into_inner().failed {
        // Zeros stand where that tensor failed: no file anyone should load.
        let _ = std::fs::remove_file(&weights);
        return Err(e);
    }
    written?;
    names.push("model.safetensors".to_string());
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// llama.cpp's `permute` (convert_hf_to_gguf.py): reshape rows to `[n_head, 2, head_dim/2]`, swap the last two.
    fn llama_cpp_permute(values: &[f32], rows: usize, cols: usize, n_head: usize) -> Vec<f32> {
        let half = rows / n_head / 2;
        let mut out = vec![0.0; values.len()];
        for head in 0..n_head {
            for i in 0..half {
                for pair in 0..2 {
                    let dst = head * 2 * half + i * 2 + pair;
                    let src = head * 2 * half + pair * half + i;
                    out[dst * cols..(dst + 1) * cols]
                        .copy_from_slice(&values[src * cols..(src + 1) * cols]);
                }
            }
        }
        out
    }

    #[test]
    fn unpermute_moves_interleaved_pairs_into_halves() {
        // One head of dim 4, 2 columns: GGUF rows (r0, r1, r2, r3) hold HF rows (0, 2, 1, 3).
        let gguf = [0.0, 0.1, 1.0, 1.1, 2.0, 2.1, 3.0, 3.1];
        assert_eq!(
            unpermute_rows(&gguf, 4, 2, 1).unwrap(),
            [0.0, 0.1, 2.0, 2.1, 1.0, 1.1, 3.0, 3.1]
        );
        // Two heads of dim 4, one column: the permutation stays inside each head.
        let gguf: Vec<f32> = (0..8).map(|r| r as f32).collect();
        assert_eq!(
            unpermute_rows(&gguf, 8, 1, 2).unwrap(),
            [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]
        );
        // Head dim 6: rows (0..6) → (0, 2, 4, 1, 3, 5).
        let gguf: Vec<f32> = (0..6).map(|r| r as f32).collect();
        assert_eq!(
            unpermute_rows(&gguf, 6, 1, 1).unwrap(),
            [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
        );
    }

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        let (rows, cols, n_head) = (24, 3, 3);
        let hf: Vec<f32> = (0..rows * cols).map(|i| i as f32 * 0.5 - 7.0).collect();
        let gguf = llama_cpp_permute(&hf, rows, cols, n_head);
        assert_ne!(gguf, hf);
        assert_eq!(unpermute_rows(&gguf, rows, cols, n_head).unwrap(), hf);
    }

    #[test]
    fn unpermute_rejects_bad_shapes() {
        assert!(
            unpermute_rows(&[0.0; 6], 6, 1, 2)
                .unwrap_err()
                .contains("6 rows")
        );
        assert!(
            unpermute_rows(&[0.0; 5], 4, 2, 1)
                .unwrap_err()
                .contains("5 values")
        );
    }

    #[test]
    fn tensor_names_follow_hugging_face_llama() {
        let cases = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            (
                "blk.0.attn_q.weight",
                "model.layers.0.self_attn.q_proj.weight",
            ),
            (
                "blk.7.attn_k.weight",
                "model.layers.7.self_attn.k_proj.weight",
            ),
            (
                "blk.12.attn_v.weight",
                "model.layers.12.self_attn.v_proj.weight",
            ),
            (
                "blk.29.attn_output.weight",
                "model.layers.29.self_attn.o_proj.weight",
            ),
            (
                "blk.3.ffn_gate.weight",
                "model.layers.3.mlp.gate_proj.weight",
            ),
            ("blk.3.ffn_up.weight", "model.layers.3.mlp.up_proj.weight"),
            (
                "blk.3.ffn_down.weight",
                "model.layers.3.mlp.down_proj.weight",
            ),
            (
                "blk.4.attn_norm.weight",
                "model.layers.4.input_layernorm.weight",
            ),
            (
                "blk.4.ffn_norm.weight",
                "model.layers.4.post_attention_layernorm.weight",
            ),
        ];
        for (gguf, hf) in cases {
            assert_eq!(hf_tensor_name(gguf).as_deref(), Some(hf), "{gguf}");
        }
        for unknown in [
            "rope_freqs.weight",
            "blk.x.attn_q.weight",
            "blk.1.attn_qkv.weight",
            "blk.1",
        ] {
            assert_eq!(hf_tensor_name(unknown), None, "{unknown}");
        }
        assert_eq!(rotary_rows("blk.2.attn_q.weight"), Some(RotaryRows::Query));
        assert_eq!(rotary_rows("blk.2.attn_k.weight"), Some(RotaryRows::Key));
        assert_eq!(rotary_rows("blk.2.attn_v.weight"), None);
    }

    #[test]
    fn dtype_parses_and_encodes() {
        assert_eq!("f32".parse::<DType>().unwrap(), DType::F32);
        assert_eq!("f16".parse::<DType>().unwrap(), DType::F16);
        assert_eq!("bf16".parse::<DType>().unwrap(), DType::Bf16);
        assert!(
            "fp8"
                .parse::<DType>()
                .unwrap_err()
                .to_string()
                .contains("`fp8`")
        );
        assert_eq!(DType::F16.encode(&[1.0, -2.0]), [0x00, 0x3C, 0x00, 0xC0]);
        assert_eq!(DType::Bf16.encode(&[1.0, -2.0]), [0x80, 0x3F, 0x00, 0xC0]);
        assert_eq!(DType::F32.encode(&[1.0]), 1.0f32.to_le_bytes());
    }
}
