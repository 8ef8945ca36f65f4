//! Training runs of the tiny model on the generated dataset (CPU).

mod common;

use common::{synth_examples, tiny_model};
use inscl_finetune::{TrainParams, train};
use std::time::Instant;

/// The sentiment category of the CPU dataset (4 tasks, 240 instances) in 3 epochs: the loss of the last 10
/// steps must be under half that of the first 10.
#[test]
fn loss_falls_clearly_on_a_synth_category() {
    inscl_model::tch::set_num_threads(1);
    let examples = synth_examples(&["_sentiment_"], 60);
    assert_eq!(examples.len(), 240);
    let mut model = tiny_model(&examples, 1024, 1);
    let params = TrainParams {
        lr: 2e-3,
        epochs: 3,
        micro_batch: 16,
        grad_accum: 1,
        max_len: 256,
        ..TrainParams::default()
    };
    let started = Instant::now();
    let report = train(&mut model, &examples, &params, None, None).expect("training runs");
    let secs = started.elapsed().as_secs_f64();
    let losses: Vec<f64> = report.log.iter().map(|s| s.loss).collect();
    let first = losses[..10].iter().sum::<f64>() / 10.0;
    let last = losses[losses.len() - 10..].iter().sum::<f64>() / 10.0;
    println!(
        "steps {} warmup {} padding {:.3} tokens {} target tokens {} secs {secs:.2} tokens/s {:.0}",
        report.total_steps, report.warmup_steps, report.padding_fraction, report.n_tokens,
        report.n_target_tokens, report.tokens_per_s
    );
    println!("losses: {}", losses.iter().map(|l| format!("{l:.3}")).collect::<Vec<_>>().join(" "));
    println!("first-10 mean {first:.3}, last-10 mean {last:.3}");
    assert_eq!(report.n_examples, 240);
    assert_eq!(report.total_steps, 3 * 15);
    assert_eq!(report.warmup_steps, 2);
    assert_eq!(report.log.len(), 45);
    assert_eq!(report.log[0].lr, 0.0, "HF warmup: the first update has lr 0");
    assert!(last < 0.5 * first, "loss did not fall: first {first}, last {last}");
    assert!(report.log.iter().all(|s| s.grad_norm.is_finite() && s.loss.is_finite()));
}
