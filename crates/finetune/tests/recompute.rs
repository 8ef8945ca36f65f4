//! Gradient checkpointing (`TrainParams::gradient_checkpointing`) recomputes each decoder layer in the
//! backward pass; the gradients must be the plain backward's to the bit, which is what makes it a runtime knob
//! outside every cache key. Checked on the tiny model (tied embeddings, so the LM head's and the embedding's
//! gradients meet in one parameter) over several accumulated steps, and on a model with untied head and a
//! sliding window that the batch does not exceed.

mod common;

use common::{synth_examples, tiny_model, weights};
use inscl_finetune::{TrainParams, train};
use inscl_model::LlamaModel;

fn train_both(examples: &[inscl_finetune::Example], make: impl Fn() -> LlamaModel) {
    let params = TrainParams { lr: 2e-3, epochs: 1, micro_batch: 8, grad_accum: 2, max_len: 128, ..TrainParams::default() };
    let mut plain = make();
    let mut recomputed = make();
    let a = train(&mut plain, examples, &params, None, None).unwrap();
    let b = train(&mut recomputed, examples, &TrainParams { gradient_checkpointing: true, ..params.clone() }, None, None)
        .unwrap();
    assert!(a.log.len() >= 3, "several optimiser steps");
    for (step, (x, y)) in a.log.iter().zip(&b.log).enumerate() {
        assert_eq!(x.loss.to_bits(), y.loss.to_bits(), "step {step}: loss {} vs {}", x.loss, y.loss);
        assert_eq!(x.grad_norm.to_bits(), y.grad_norm.to_bits(), "step {step}: grad norm {} vs {}", x.grad_norm, y.grad_norm);
    }
    let (after_plain, after_recomputed) = (weights(&plain), weights(&recomputed));
    assert_eq!(after_plain.len(), after_recomputed.len());
    for ((name, p), (other, q)) in after_plain.iter().zip(&after_recomputed) {
        assert_eq!(name, other);
        assert!(p == q, "{name} differs after training with gradient checkpointing");
    }
    println!("{} steps, losses {:?}: identical with and without recomputation", a.log.len(),
             a.log.iter().map(|s| s.loss).collect::<Vec<_>>());
}

#[test]
fn recomputed_backward_gives_the_same_bits_as_the_plain_one() {
    inscl_model::tch::set_num_threads(1);
    let examples = synth_examples(&["_sentiment_"], 12);
    train_both(&examples, || tiny_model(&examples, 512, 1));
}

#[test]
fn untied_head_and_a_covering_sliding_window_recompute_identically() {
    inscl_model::tch::set_num_threads(1);
    let examples = synth_examples(&["_sentiment_"], 12);
    let base = tiny_model(&examples, 512, 1);
    let mut config = base.config.clone();
    config.tie_word_embeddings = false;
    config.sliding_window = Some(4096);
    config.model_type = "mistral".into();
    train_both(&examples, || LlamaModel::random_init(config.clone(), base.tokenizer.clone(), base.device(), 3).unwrap());
}
