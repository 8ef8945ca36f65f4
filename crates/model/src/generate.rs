//! Batched greedy decoding with a KV cache: how InsCL's evaluation stage answers every test instruction.

use crate::error::{ModelError, Result};
use crate::llama::{KvCache, Llama, positions_from_mask};
use crate::llama_model::LlamaModel;
use tch::{Device, Kind, Tensor, nn};

/// SmolLM2's ChatML template for one user turn, ending where the assistant's answer starts.
pub fn chat_prompt(user: &str) -> String {
    format!("<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
}

/// Greedy continuations of `prompts` (token ids, no padding), at most `max_new_tokens` each, stopping a
/// sequence at its first end-of-sequence token (which is not returned). Prompts are sorted by length and
/// decoded `batch_size` at a time with left padding; results come back in input order. `progress`, if
/// given, is called after each batch with the number of prompts that batch finished.
/// On CUDA the decoding runs on a bfloat16 copy of f32 weights; on CPU in the weights' own precision.
pub fn generate_greedy(
    model: &LlamaModel,
    prompts: &[Vec<i64>],
    max_new_tokens: usize,
    batch_size: usize,
    progress: Option<&dyn Fn(usize)>,
) -> Result<Vec<Vec<i64>>> {
    if batch_size == 0 {
        return Err(ModelError::Input("batch_size must be positive".to_string()));
    }
    let vocab = model.config.vocab_size as i64;
    for (index, prompt) in prompts.iter().enumerate() {
        if prompt.is_empty() {
            return Err(ModelError::Input(format!("prompt {index} has no tokens")));
        }
        if let Some(bad) = prompt.iter().find(|&&id| id < 0 || id >= vocab) {
            return Err(ModelError::Input(format!(
                "prompt {index} has token id {bad} outside the vocabulary 0..{vocab}"
            )));
        }
    }
    let bf16_copy = bf16_decoder(model)?;
    let llama = bf16_copy.as_ref().map_or(&model.llama, |(_, llama)| llama);
    let stop_ids = model.stop_token_ids();
    let pad_id = stop_ids.first().copied().unwrap_or(0);
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(prompts[i].len()));
    let mut outputs: Vec<Vec<i64>> = vec![Vec::new(); prompts.len()];
    for batch in order.chunks(batch_size) {
        let batch_prompts: Vec<&[i64]> = batch.iter().map(|&i| prompts[i].as_slice()).collect();
        let continuations =
            tch::no_grad(|| decode_batch(llama, model.device(), &batch_prompts, max_new_tokens, &stop_ids, pad_id))?;
        for (&index, continuation) in batch.iter().zip(continuations) {
            outputs[index] = continuation;
        }
        if let Some(report) = progress {
            report(batch.len());
        }
    }
    Ok(outputs)
}

/// Tokenises `prompts` verbatim (wrap them with [`chat_prompt`] first for chat models), decodes greedily
/// and returns the new text with special tokens removed.
pub fn generate_text(
    model: &LlamaModel,
    prompts: &[&str],
    max_new_tokens: usize,
    batch_size: usize,
) -> Result<Vec<String>> {
    let ids = prompts.iter().map(|prompt| model.encode(prompt)).collect::<Result<Vec<_>>>()?;
    let generated = generate_greedy(model, &ids, max_new_tokens, batch_size, None)?;
    generated.iter().map(|tokens| model.decode(tokens)).collect()
}

/// A bfloat16 copy of an f32 model on CUDA (the mixed-precision choice of the paper's fine-tuning setup);
/// `None` when the model should decode as it is.
fn bf16_decoder(model: &LlamaModel) -> Result<Option<(nn::VarStore, Llama)>> {
    let device = model.device();
    if !matches!(device, Device::Cuda(_)) || model.llama.embed_tokens_weight().kind() != Kind::Float {
        return Ok(None);
    }
    let mut vs = nn::VarStore::new(device);
    let llama = tch::no_grad(|| Llama::new(vs.root(), &model.config))?;
    vs.copy(&model.vs)?;
    vs.bfloat16();
    Ok(Some((vs, llama)))
}

fn decode_batch(
    llama: &Llama,
    device: Device,
    prompts: &[&[i64]],
    max_new_tokens: usize,
    stop_ids: &[i64],
    pad_id: i64,
) -> Result<Vec<Vec<i64>>> {
    let batch = prompts.len();
    let mut outputs: Vec<Vec<i64>> = vec![Vec::new(); batch];
    if max_new_tokens == 0 || batch == 0 {
        return Ok(outputs);
    }
    let longest = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(batch * longest);
    let mut mask = Vec::with_capacity(batch * longest);
    for prompt in prompts {
        let padding = longest - prompt.len();
        ids.extend(std::iter::repeat_n(pad_id, padding).chain(prompt.iter().copied()));
        mask.extend(std::iter::repeat_n(0i64, padding).chain(std::iter::repeat_n(1i64, prompt.len())));
    }
    let shape = [batch as i64, longest as i64];
    let input_ids = Tensor::from_slice(&ids).view(shape).to_device(device);
    let mut key_mask = Tensor::from_slice(&mask).view(shape).to_device(device).ne(0);
    let mut cache = KvCache::new(llama.num_layers());
    let positions = positions_from_mask(&key_mask);
    let hidden = llama.decode_step(&input_ids, &positions, &key_mask, Some(&mut cache));
    let mut next_positions = key_mask.to_kind(Kind::Int64).sum_dim_intlist(1, false, Kind::Int64);
    let mut last_hidden = hidden.narrow(1, longest as i64 - 1, 1);
    // Row r of the running tensors decodes prompt active[r]; finished rows are dropped from the batch.
    let mut active: Vec<usize> = (0..batch).collect();
    for step in 0..max_new_tokens {
        let next = llama.logits(&last_hidden).squeeze_dim(1).argmax(-1, false);
        let next_host = Vec::<i64>::try_from(&next.to_device(Device::Cpu))?;
        let mut keep = Vec::with_capacity(active.len());
        for (row, (&prompt_index, &token)) in active.iter().zip(&next_host).enumerate() {
            if stop_ids.contains(&token) {
                continue;
            }
            outputs[prompt_index].push(token);
            keep.push(row as i64);
        }
        if keep.is_empty() || step + 1 == max_new_tokens {
            break;
        }
        let mut tokens = next.unsqueeze(1);
        if keep.len() < active.len() {
            let rows = Tensor::from_slice(&keep).to_device(device);
            cache.select_rows(&rows);
            key_mask = key_mask.index_select(0, &rows);
            next_positions = next_positions.index_select(0, &rows);
            tokens = tokens.index_select(0, &rows);
            active = keep.iter().map(|&row| active[row as usize]).collect();
        }
        let rows = active.len() as i64;
        key_mask = Tensor::cat(&[key_mask, Tensor::ones([rows, 1], (Kind::Bool, device))], 1);
        last_hidden = llama.decode_step(&tokens, &next_positions.unsqueeze(1), &key_mask, Some(&mut cache));
        next_positions += 1;
    }
    Ok(outputs)
}
