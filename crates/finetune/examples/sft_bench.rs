//! Training tokens/s and peak RSS of one finetune stage on a real model, for `make bench`: the same `train`
//! the finetune stage calls, on real SuperNI instances, with a resumable state written at the epoch end as
//! the stage does. It dumps the token batches it trained on and the learning rate of every step, so that
//! bench/ref_sft.py trains HF transformers on exactly the same tensors and the losses can be compared.
//!
//! `sft_bench --model DIR --superni DIR --tasks A,B [--per-task 16] [--micro-batch 4] [--grad-accum 2]
//! [--max-len 256] [--threads 1] [--device cpu|cuda] [--gradient-checkpointing] [--dump FILE]`
//!
//! On CUDA the weights stay f32 and the forward pass runs under bf16 autocast, as the finetune stage trains.
//!
//! Prints one JSON line: tokens, steps, seconds, tokens/s, peak RSS (VmHWM) and the loss of every step.

use inscl_finetune::batching::{epoch_plan, pad_batch};
use inscl_finetune::examples::encode_all;
use inscl_finetune::{TrainParams, build_examples, train};
use inscl_model::LlamaModel;
use serde_json::json;
use std::time::Instant;

#[path = "bench_common/mod.rs"]
mod bench_common;
use bench_common::{Common, common, device, flag, num, peak_rss, rows};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Common { model_dir, superni, tasks, threads } = common(&args)?;
    let params = TrainParams {
        epochs: 1,
        micro_batch: num(&args, "--micro-batch", 4),
        grad_accum: num(&args, "--grad-accum", 2),
        max_len: num(&args, "--max-len", 256),
        gradient_checkpointing: args.iter().any(|a| a == "--gradient-checkpointing"),
        ..TrainParams::default()
    };

    let examples = build_examples(&rows(&superni, &tasks, num(&args, "--per-task", 16))?)?;
    let started = Instant::now();
    let device = device(&args)?;
    let mut model = LlamaModel::load(&model_dir, device)?;
    let load_secs = started.elapsed().as_secs_f64();
    // Distinct weights (a tied LM head counts once), for the 6·N·tokens FLOP estimate behind MFU.
    let parameters: i64 = model.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    let state = tempfile::tempdir()?;
    let started = Instant::now();
    // The stage leaves a resumable state at every epoch end; `--no-state` times the training alone.
    let resume = (!args.iter().any(|a| a == "--no-state")).then(|| state.path());
    let report = train(&mut model, &examples, &params, resume, None)?;
    let secs = started.elapsed().as_secs_f64();
    let tokens: usize = report.log.iter().map(|s| s.tokens).sum();

    if let Some(dump) = flag(&args, "--dump") {
        let eos = model.eos_token_id().ok_or("the model has no eos_token_id")?;
        let encoded = encode_all(&model.tokenizer, &examples, params.max_len, eos as u32)?;
        let lengths: Vec<usize> = encoded.iter().map(|e| e.len()).collect();
        let plan = epoch_plan(&lengths, params.micro_batch, params.seed, 0);
        let steps: Vec<serde_json::Value> = plan
            .chunks(params.grad_accum)
            .map(|group| {
                let batches: Vec<serde_json::Value> = group
                    .iter()
                    .map(|indices| {
                        let b = pad_batch(&encoded, indices, eos);
                        json!({
                            "rows": b.rows, "width": b.width, "real_tokens": b.n_real_tokens,
                            "input_ids": b.input_ids, "labels": b.labels,
                        })
                    })
                    .collect();
                json!(batches)
            })
            .collect();
        let lrs: Vec<f64> = report.log.iter().map(|s| s.lr).collect();
        let body = json!({ "steps": steps, "lr": lrs, "max_grad_norm": params.max_grad_norm });
        std::fs::write(&dump, serde_json::to_vec(&body)?)?;
    }
    let losses: Vec<f64> = report.log.iter().map(|s| s.loss).collect();
    println!(
        "{}",
        json!({
            "threads": threads, "device": format!("{device:?}"), "parameters": parameters,
            "gradient_checkpointing": params.gradient_checkpointing, "examples": report.n_examples, "steps": report.total_steps, "tokens": tokens,
            "load_secs": load_secs, "secs": secs, "tokens_per_s": tokens as f64 / secs,
            "padding_fraction": report.padding_fraction, "peak_rss_bytes": peak_rss(), "losses": losses,
        })
    );
    Ok(())
}
