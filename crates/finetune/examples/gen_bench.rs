//! Batched greedy generation of the evaluate stage on a real model, for `make bench`: `generate_greedy` (KV
//! cache, left padding, length-sorted batches) on real SuperNI prompts in the training prompt format. It dumps
//! the prompt ids, the batches and its outputs, so that bench/ref_generate.py runs HF `generate` on the same
//! batches and counts the sequences whose tokens agree.
//!
//! `gen_bench --model DIR --superni DIR --tasks A,B [--per-task 16] [--batch 8] [--max-new 32]
//! [--max-prompt 256] [--threads 1] [--device cpu|cuda] [--dtype f32|bf16] [--dump FILE]`
//!
//! Prints one JSON line: sequences, new tokens, seconds (and of those the prefill, timed apart as one-token
//! generation), sequences/s and peak RSS.

use inscl_finetune::examples::format_prompt;
use inscl_model::LlamaModel;
use inscl_model::generate::generate_greedy;
use serde_json::json;
use std::time::Instant;

#[path = "bench_common/mod.rs"]
mod bench_common;
use bench_common::{Common, common, device, flag, num, peak_rss, rows, weight_kind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Common { model_dir, superni, tasks, threads } = common(&args)?;
    let batch: usize = num(&args, "--batch", 8);
    let max_new: usize = num(&args, "--max-new", 32);
    let max_prompt: usize = num(&args, "--max-prompt", 256);

    let device = device(&args)?;
    let model = LlamaModel::load_with_kind(&model_dir, device, weight_kind(&args)?)?;
    let mut prompts = Vec::new();
    for row in rows(&superni, &tasks, num(&args, "--per-task", 16))? {
        let ids = model.encode(&format_prompt(&row.definition, &row.input))?;
        // Cut from the left, as the evaluate stage cuts prompts to max_prompt_len.
        prompts.push(ids[ids.len().saturating_sub(max_prompt)..].to_vec());
    }
    // Where the time goes: the same batches with one new token are the prompts' prefill (plus one LM-head row
    // per prompt); the rest of the timed run is the decoding steps. It also warms the allocator up.
    let started = Instant::now();
    generate_greedy(&model, &prompts, 1, batch, None)?;
    let prefill_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let outputs = generate_greedy(&model, &prompts, max_new, batch, None)?;
    let secs = started.elapsed().as_secs_f64();
    let new_tokens: usize = outputs.iter().map(Vec::len).sum();
    if let Some(dump) = flag(&args, "--dump") {
        let stop = model.stop_token_ids();
        let body = json!({
            "prompts": prompts, "outputs": outputs, "batch_size": batch, "max_new_tokens": max_new,
            "stop_ids": stop, "pad_id": stop.first().copied().unwrap_or(0),
        });
        std::fs::write(&dump, serde_json::to_vec(&body)?)?;
    }
    println!(
        "{}",
        json!({
            "threads": threads, "device": format!("{device:?}"), "sequences": prompts.len(), "batch": batch, "max_new_tokens": max_new,
            "new_tokens": new_tokens, "secs": secs, "prefill_secs": prefill_secs, "sequences_per_s": prompts.len() as f64 / secs,
            "peak_rss_bytes": peak_rss(),
        })
    );
    Ok(())
}
