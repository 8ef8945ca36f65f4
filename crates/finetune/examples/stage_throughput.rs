//! Times one quick-pipeline stage of a tiny LLaMA on CPU: trains a BPE on a synth category, initialises the
//! model, runs `train`, and prints tokens/s and the loss at the start and end.
//!
//! `cargo run --release -p inscl-finetune --example stage_throughput -- [hidden layers vocab threads epochs
//! category micro_batch lr]` (defaults: the `tiny_config` sizes, 1 thread, 2 epochs, `_sentiment_`, 16, 2e-3).

use inscl_finetune::{InstanceRow, TrainParams, build_examples, tiny_config, train, train_bpe_tokenizer};
use inscl_model::LlamaModel;
use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], index: usize, default: T) -> T {
    args.get(index).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = tiny_config(0);
    let hidden: usize = arg(&args, 0, base.hidden_size);
    let layers: usize = arg(&args, 1, base.num_hidden_layers);
    let vocab: usize = arg(&args, 2, 1024);
    let threads: i32 = arg(&args, 3, 1);
    let epochs: usize = arg(&args, 4, 2);
    let category: String = arg(&args, 5, "_sentiment_".to_string());
    let micro_batch: usize = arg(&args, 6, 16);
    let lr: f64 = arg(&args, 7, 2e-3);
    inscl_model::tch::set_num_threads(threads);

    let mut rows = Vec::new();
    for (path, bytes) in inscl_data::synth::generate(&inscl_data::synth::SynthParams::default()) {
        if path.starts_with("tasks/") && path.contains(&category) {
            let task: serde_json::Value = serde_json::from_slice(&bytes)?;
            let definition = task["Definition"][0].as_str().unwrap_or_default().to_string();
            for instance in task["Instances"].as_array().into_iter().flatten() {
                let outputs = instance["output"].as_array().into_iter().flatten();
                rows.push(InstanceRow {
                    definition: definition.clone(),
                    input: instance["input"].as_str().unwrap_or_default().to_string(),
                    outputs: outputs.filter_map(|o| o.as_str().map(str::to_string)).collect(),
                });
            }
        }
    }
    let examples = build_examples(&rows)?;
    let texts: Vec<String> = examples.iter().flat_map(|e| [e.prompt.clone(), e.target.clone()]).collect();
    let started = Instant::now();
    let tokenizer = train_bpe_tokenizer(&texts, vocab)?;
    let tokenizer_secs = started.elapsed().as_secs_f64();
    let mut config = tiny_config(tokenizer.get_vocab_size(true));
    config.hidden_size = hidden;
    config.num_hidden_layers = layers;
    config.intermediate_size = (hidden * 11).div_ceil(4 * 32) * 32;
    let params = TrainParams { lr, epochs, micro_batch, grad_accum: 1, max_len: 512, ..TrainParams::default() };
    let mut model = LlamaModel::random_init(config.clone(), tokenizer, inscl_model::tch::Device::Cpu, 1)?;
    let n_params: i64 = model.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    let started = Instant::now();
    let report = train(&mut model, &examples, &params, None, None)?;
    let secs = started.elapsed().as_secs_f64();
    let mean = |xs: &[inscl_finetune::StepLog]| xs.iter().map(|s| s.loss).sum::<f64>() / xs.len().max(1) as f64;
    let k = report.log.len().min(5);
    println!(
        "hidden {hidden} layers {layers} inter {} vocab {} params {n_params} threads {threads}: {} examples, \
         {} tokens/epoch ({:.1}/example, {:.1} target), {} steps, {secs:.2} s ({:.0} tokens/s), tokenizer {tokenizer_secs:.2} s, \
         padding {:.3}, loss first-{k} {:.3} last-{k} {:.3}",
        config.intermediate_size,
        config.vocab_size,
        report.n_examples,
        report.n_tokens,
        report.n_tokens as f64 / report.n_examples as f64,
        report.n_target_tokens as f64 / report.n_examples as f64,
        report.total_steps,
        report.tokens_per_s,
        report.padding_fraction,
        mean(&report.log[..k]),
        mean(&report.log[report.log.len() - k..]),
    );
    Ok(())
}
