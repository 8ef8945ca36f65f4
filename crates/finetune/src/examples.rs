//! Training examples in the paper's prompt format and their tokenisation with the loss mask.
//!
//! The prompt is `{definition}\n\n{input}\n\n` and the target is the output followed by the end-of-sequence
//! token; the loss covers target tokens only (labels are -100 on the prompt), as in the paper's training code.

use crate::error::{FinetuneError, Result};
use crate::tokenizer::encode_text;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

/// Label of positions that do not enter the loss (PyTorch's `ignore_index`).
pub const IGNORE_LABEL: i64 = -100;

/// One supervised pair: the model reads `prompt` and learns to write `target` (EOS is added at encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub prompt: String,
    pub target: String,
}

/// One instance as the stage mix holds it: its task definition, its input and every acceptable output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRow {
    pub definition: String,
    pub input: String,
    pub outputs: Vec<String>,
}

/// The prompt the model is trained and evaluated with.
pub fn format_prompt(definition: &str, input: &str) -> String {
    format!("{definition}\n\n{input}\n\n")
}

/// One example per reference output of every row, in row order, then output order. (The paper's released code
/// builds the examples in a loop that overwrites one dict, so a multi-output instance trains its last output
/// several times; here each output trains once.) A row without outputs is an error naming the row.
pub fn build_examples(rows: &[InstanceRow]) -> Result<Vec<Example>> {
    let mut examples = Vec::with_capacity(rows.len());
    for (row_index, row) in rows.iter().enumerate() {
        if row.outputs.is_empty() {
            return Err(FinetuneError::BadRow { row: row_index, reason: "field `outputs` is empty".to_string() });
        }
        let prompt = format_prompt(&row.definition, &row.input);
        for output in &row.outputs {
            examples.push(Example { prompt: prompt.clone(), target: output.clone() });
        }
    }
    Ok(examples)
}

/// An example as token ids: `labels[k]` is the token the model must predict at position k's input, i.e. the
/// labels are aligned with `input_ids` and the model's logits are shifted by one when the loss is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedExample {
    pub input_ids: Vec<i64>,
    pub labels: Vec<i64>,
    /// Prompt tokens dropped from the left to fit `max_len`.
    pub prompt_tokens_dropped: usize,
    /// True if the target itself was longer than `max_len` and lost its tail (the EOS is kept).
    pub target_truncated: bool,
}

impl EncodedExample {
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }

    /// Tokens that enter the loss.
    pub fn n_target_tokens(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE_LABEL).count()
    }

    pub fn was_truncated(&self) -> bool {
        self.prompt_tokens_dropped > 0 || self.target_truncated
    }
}

/// Tokenises `example` into at most `max_len` tokens. The target (with EOS) is never dropped: the prompt is cut
/// from the LEFT so the tokens nearest the answer survive; a target that alone exceeds `max_len` keeps its first
/// `max_len - 1` tokens plus EOS and is flagged.
pub fn encode(tokenizer: &Tokenizer, example: &Example, max_len: usize, eos_id: u32) -> Result<EncodedExample> {
    if max_len < 2 {
        return Err(FinetuneError::BadParam { field: "max_len", reason: format!("must be >= 2, got {max_len}") });
    }
    let prompt_ids = encode_text(tokenizer, &example.prompt)?;
    let mut target_ids = encode_text(tokenizer, &example.target)?;
    let mut target_truncated = false;
    if target_ids.len() + 1 > max_len {
        target_ids.truncate(max_len - 1);
        target_truncated = true;
    }
    target_ids.push(eos_id);
    let prompt_room = max_len - target_ids.len();
    let prompt_tokens_dropped = prompt_ids.len().saturating_sub(prompt_room);
    let kept_prompt = &prompt_ids[prompt_tokens_dropped..];

    let mut input_ids = Vec::with_capacity(kept_prompt.len() + target_ids.len());
    input_ids.extend(kept_prompt.iter().map(|&id| i64::from(id)));
    input_ids.extend(target_ids.iter().map(|&id| i64::from(id)));
    let mut labels = vec![IGNORE_LABEL; kept_prompt.len()];
    labels.extend(target_ids.iter().map(|&id| i64::from(id)));
    Ok(EncodedExample { input_ids, labels, prompt_tokens_dropped, target_truncated })
}

/// Encodes every example; an error names the example.
pub fn encode_all(
    tokenizer: &Tokenizer,
    examples: &[Example],
    max_len: usize,
    eos_id: u32,
) -> Result<Vec<EncodedExample>> {
    examples
        .iter()
        .enumerate()
        .map(|(index, example)| {
            encode(tokenizer, example, max_len, eos_id)
                .map_err(|e| FinetuneError::BadExample { index, reason: e.to_string() })
        })
        .collect()
}
