//! Hugging Face tokenizer files rebuilt from GGUF metadata (`tokenizer.ggml.*`): a byte-level BPE whose
//! vocabulary and merges are copied verbatim, with the SmolLM2 pre-tokenizer (digits split one by one).

use serde_json::{Map, Value, json};

use crate::GgufError;
use crate::reader::Gguf;

/// llama.cpp token types (`enum llama_token_type`) that become Hugging Face added tokens.
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// The token strings with their ids, and which of them are added (special or user-defined) tokens.
struct Vocabulary<'g> {
    tokens: Vec<&'g str>,
    /// (id, special) for every added token, in id order.
    added: Vec<(usize, bool)>,
}

fn vocabulary(gguf: &Gguf) -> Result<Vocabulary<'_>, GgufError> {
    let model = gguf.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(GgufError::Tokenizer(format!(
            "tokenizer.ggml.model is `{model}`; only `gpt2` (byte-level BPE) is converted"
        )));
    }
    let tokens = gguf.get_str_array("tokenizer.ggml.tokens")?;
    let added = match gguf.get("tokenizer.ggml.token_type") {
        None => Vec::new(),
        Some(_) => {
            let types = gguf.get_i64_array("tokenizer.ggml.token_type")?;
            if types.len() != tokens.len() {
                return Err(GgufError::Tokenizer(format!(
                    "tokenizer.ggml.token_type has {} entries for {} tokens",
                    types.len(),
                    tokens.len()
                )));
            }
            types
                .iter()
                .enumerate()
                .filter_map(|(id, &t)| match t {
                    TOKEN_TYPE_CONTROL => Some((id, true)),
                    TOKEN_TYPE_USER_DEFINED => Some((id, false)),
                    _ => None,
                })
                .collect()
        }
    };
    Ok(Vocabulary { tokens, added })
}

fn optional_token_id(gguf: &Gguf, key: &str, n_tokens: usize) -> Result<Option<usize>, GgufError> {
    if gguf.get(key).is_none() {
        return Ok(None);
    }
    let id = gguf.get_i64(key)?;
    match usize::try_from(id) {
        Ok(id) if id < n_tokens => Ok(Some(id)),
        _ => Err(GgufError::Tokenizer(format!(
            "{key} = {id} is outside the vocabulary of {n_tokens} tokens"
        ))),
    }
}

/// Special token ids named by the GGUF metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpecialTokenIds {
    pub bos: Option<usize>,
    pub eos: Option<usize>,
    pub unk: Option<usize>,
    pub pad: Option<usize>,
}

pub fn special_token_ids(gguf: &Gguf) -> Result<SpecialTokenIds, GgufError> {
    let n = gguf.get_array("tokenizer.ggml.tokens")?.len();
    Ok(SpecialTokenIds {
        bos: optional_token_id(gguf, "tokenizer.ggml.bos_token_id", n)?,
        eos: optional_token_id(gguf, "tokenizer.ggml.eos_token_id", n)?,
        unk: optional_token_id(gguf, "tokenizer.ggml.unknown_token_id", n)?,
        pad: optional_token_id(gguf, "tokenizer.ggml.padding_token_id", n)?,
    })
}

/// `tokenizer.json` for the `tokenizers` library (format of tokenizers ≥ 0.20: merges as string pairs).
pub fn tokenizer_json(gguf: &Gguf) -> Result<Value, GgufError> {
    let vocab = vocabulary(gguf)?;
    let mut vocab_map = Map::with_capacity(vocab.tokens.len());
    for (id, token) in vocab.tokens.iter().enumerate() {
        if vocab_map.insert(token.to_string(), json!(id)).is_some() {
            return Err(GgufError::Tokenizer(format!(
                "token `{token}` (id {id}) appears twice in tokenizer.ggml.tokens"
            )));
        }
    }
    let merges = gguf
        .get_str_array("tokenizer.ggml.merges")?
        .iter()
        .enumerate()
        .map(|(i, merge)| {
            // Byte-level tokens never contain a raw space, so the single space separates the pair.
            let mut parts = merge.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(left), Some(right), None) if !left.is_empty() && !right.is_empty() => {
                    Ok(json!([left, right]))
                }
                _ => Err(GgufError::Tokenizer(format!(
                    "merge {i} `{merge}` is not two tokens separated by a space"
                ))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let added_tokens: Vec<Value> = vocab
        .added
        .iter()
        .map(|&(id, special)| {
            json!({
                "id": id, "content": vocab.tokens[id], "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": !special, "special": special,
            })
        })
        .collect();
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens,
        "normalizer": null,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "\\p{N}"}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": false,
            "vocab": vocab_map,
            "merges": merges,
        },
    }))
}

/// `tokenizer_config.json` for `transformers.AutoTokenizer`: special tokens and the chat template.
pub fn tokenizer_config_json(gguf: &Gguf, max_length: u64) -> Result<Value, GgufError> {
    let vocab = vocabulary(gguf)?;
    let ids = special_token_ids(gguf)?;
    let mut config = Map::new();
    let added_decoder: Map<String, Value> = vocab
        .added
        .iter()
        .map(|&(id, special)| {
            let entry = json!({
                "content": vocab.tokens[id], "lstrip": false, "normalized": !special, "rstrip": false,
                "single_word": false, "special": special,
            });
            (id.to_string(), entry)
        })
        .collect();
    config.insert("added_tokens_decoder".into(), Value::Object(added_decoder));
    for (key, id) in [
        ("bos_token", ids.bos),
        ("eos_token", ids.eos),
        ("unk_token", ids.unk),
        ("pad_token", ids.pad),
    ] {
        if let Some(id) = id {
            config.insert(key.into(), json!(vocab.tokens[id]));
        }
    }
    let flag = |key: &str| match gguf.get(key) {
        Some(crate::MetadataValue::Bool(b)) => Some(*b),
        _ => None,
    };
    config.insert(
        "add_bos_token".into(),
        json!(flag("tokenizer.ggml.add_bos_token").unwrap_or(false)),
    );
    config.insert(
        "add_eos_token".into(),
        json!(flag("tokenizer.ggml.add_eos_token").unwrap_or(false)),
    );
    if gguf.get("tokenizer.chat_template").is_some() {
        config.insert(
            "chat_template".into(),
            json!(gguf.get_str("tokenizer.chat_template")?),
        );
    }
    config.insert("clean_up_tokenization_spaces".into(), json!(false));
    config.insert("model_max_length".into(), json!(max_length));
    config.insert("tokenizer_class".into(), json!("PreTrainedTokenizerFast"));
    Ok(Value::Object(config))
}

/// `generation_config.json`: the special token ids generation stops and pads with.
pub fn generation_config_json(gguf: &Gguf) -> Result<Value, GgufError> {
    let ids = special_token_ids(gguf)?;
    let mut config = Map::new();
    for (key, id) in [
        ("bos_token_id", ids.bos),
        ("eos_token_id", ids.eos),
        ("pad_token_id", ids.pad),
    ] {
        if let Some(id) = id {
            config.insert(key.into(), json!(id));
        }
    }
    Ok(Value::Object(config))
}
