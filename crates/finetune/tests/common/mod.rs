//! Shared fixtures: instances of the generated CPU dataset (`inscl-data`'s synth tasks) and a tiny model with
//! a tokenizer trained on them.

#![allow(dead_code)]

use inscl_finetune::{InstanceRow, build_examples, Example, tiny_config, train_bpe_tokenizer};
use inscl_model::LlamaModel;
use inscl_model::tch::Device;

/// Instances of the synth tasks whose name contains one of `task_filters`, in task-name order.
pub fn synth_rows(task_filters: &[&str], instances_per_task: usize) -> Vec<InstanceRow> {
    let params = inscl_data::synth::SynthParams { seed: 1, instances_per_task };
    let mut rows = Vec::new();
    for (path, bytes) in inscl_data::synth::generate(&params) {
        if !path.starts_with("tasks/") || !task_filters.iter().any(|f| path.contains(f)) {
            continue;
        }
        let task: serde_json::Value = serde_json::from_slice(&bytes).expect("synth task files are JSON");
        let definition = task["Definition"][0].as_str().expect("a definition").to_string();
        for instance in task["Instances"].as_array().expect("instances") {
            rows.push(InstanceRow {
                definition: definition.clone(),
                input: instance["input"].as_str().expect("input").to_string(),
                outputs: instance["output"]
                    .as_array()
                    .expect("outputs")
                    .iter()
                    .map(|o| o.as_str().expect("output").to_string())
                    .collect(),
            });
        }
    }
    assert!(!rows.is_empty(), "no synth task matches {task_filters:?}");
    rows
}

pub fn synth_examples(task_filters: &[&str], instances_per_task: usize) -> Vec<Example> {
    build_examples(&synth_rows(task_filters, instances_per_task)).expect("synth rows have outputs")
}

/// Prompt and target texts, for training the tokenizer.
pub fn texts(examples: &[Example]) -> Vec<String> {
    examples.iter().flat_map(|e| [e.prompt.clone(), e.target.clone()]).collect()
}

/// A randomly initialised tiny model on CPU whose tokenizer is trained on `examples`.
pub fn tiny_model(examples: &[Example], vocab_size: usize, seed: i64) -> LlamaModel {
    tiny_model_on(examples, vocab_size, seed, Device::Cpu)
}

/// [`tiny_model`] on `device`; the weights are drawn on the host, so they are the same on every device.
pub fn tiny_model_on(examples: &[Example], vocab_size: usize, seed: i64, device: Device) -> LlamaModel {
    let tokenizer = train_bpe_tokenizer(&texts(examples), vocab_size).expect("tokenizer trains");
    let config = tiny_config(tokenizer.get_vocab_size(true));
    LlamaModel::random_init(config, tokenizer, device, seed).expect("tiny model initialises")
}

/// All variables of the model, sorted by name, as f32 vectors.
pub fn weights(model: &LlamaModel) -> Vec<(String, Vec<f32>)> {
    let mut named: Vec<_> = model.vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
        .into_iter()
        .map(|(name, t)| {
            let flat = t.detach().flatten(0, -1).to_kind(inscl_model::tch::Kind::Float);
            (name, Vec::<f32>::try_from(&flat).expect("f32 weights"))
        })
        .collect()
}

pub fn max_abs_diff(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0f32;
    for ((name_a, xs), (name_b, ys)) in a.iter().zip(b) {
        assert_eq!(name_a, name_b);
        assert_eq!(xs.len(), ys.len());
        for (x, y) in xs.iter().zip(ys) {
            worst = worst.max((x - y).abs());
        }
    }
    worst
}
