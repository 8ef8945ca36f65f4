//! One fine-tuning step on each family's tiny checkpoint against torch autograd in `transformers`: the loss
//! (mean cross-entropy over target tokens) and the global gradient norm before clipping, to 1e-4 relative.
//! The checkpoints and reference values come from `crates/model/scripts/make_tiny_models.py` at test time.

#[path = "../../model/tests/common/tiny.rs"]
mod tiny;

use inscl_finetune::{Example, TrainParams, encode, train};
use inscl_model::LlamaModel;
use inscl_model::tch::Device;

fn one_step(variant: &str) {
    let reference = tiny::reference(variant).train;
    let mut model = LlamaModel::load(&tiny::model_dir(variant), Device::Cpu).unwrap();
    assert_eq!(model.eos_token_id(), Some(reference.eos_id), "{variant}: EOS comes from the folder");
    let examples: Vec<Example> = reference
        .prompts
        .iter()
        .zip(&reference.targets)
        .map(|(prompt, target)| Example { prompt: prompt.clone(), target: target.clone() })
        .collect();
    for (example, ids) in examples.iter().zip(&reference.input_ids) {
        let encoded = encode(&model.tokenizer, example, 512, reference.eos_id as u32).unwrap();
        assert_eq!(&encoded.input_ids, ids, "{variant}: the example encodes as the reference's");
    }
    let params = TrainParams {
        lr: 1e-5,
        epochs: 1,
        micro_batch: examples.len(),
        grad_accum: 1,
        max_len: 512,
        warmup_ratio: 0.0,
        ..TrainParams::default()
    };
    let report = train(&mut model, &examples, &params, None, None).unwrap();
    let step = &report.log[0];
    println!(
        "{variant}: loss ours {:.6} theirs {:.6}, grad norm ours {:.6} theirs {:.6}",
        step.loss, reference.loss, step.grad_norm, reference.grad_norm
    );
    let relative = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(relative(step.loss, reference.loss) < 1e-4, "{variant}: loss {} vs {}", step.loss, reference.loss);
    assert!(
        relative(step.grad_norm, reference.grad_norm) < 1e-4,
        "{variant}: grad norm {} vs {}",
        step.grad_norm,
        reference.grad_norm
    );
}

#[test]
fn one_training_step_matches_transformers_for_every_family() {
    for variant in tiny::VARIANTS {
        one_step(variant);
    }
}
