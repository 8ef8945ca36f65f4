//! A tiny randomly initialised LLaMA on CPU: masking, positions, KV cache and checkpoint round trips.

mod common;

use inscl_model::llama::positions_from_mask;
use inscl_model::{KvCache, LlamaConfig, LlamaModel, generate_greedy, load_tokenizer};
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Tensor};

fn tiny_model(tied: bool, seed: i64) -> LlamaModel {
    let tokenizer = load_tokenizer(&common::minilm_dir().join("tokenizer.json")).unwrap();
    let vocab = tokenizer.get_vocab_size(true);
    let mut config = LlamaConfig::new(vocab, 32, 64, 2, 4, 2);
    config.tie_word_embeddings = tied;
    config.eos_token_id = Some(inscl_model::TokenIds::One(102));
    // Larger weights than the default 0.02 so that logits differ clearly between tokens.
    config.initializer_range = 0.2;
    LlamaModel::random_init(config, tokenizer, Device::Cpu, seed).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn padding_left_or_right_does_not_change_real_positions() {
    let model = tiny_model(true, 1);
    let short = [5i64, 17, 923, 4000, 77];
    let long = [11i64, 12, 13, 14, 15, 16, 17, 18];
    let alone = model.llama.forward(&Tensor::from_slice(&short).unsqueeze(0), None);
    // Left padding: short sequence preceded by three pad tokens.
    let left_ids = Tensor::from_slice(&[&[0i64, 0, 0][..], &short[..], &long[..]].concat()).view([2, 8]);
    let left_mask = Tensor::from_slice(&[0i64, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]).view([2, 8]);
    let left = model.llama.forward(&left_ids, Some(&left_mask));
    assert!(max_abs_diff(&left.get(0).narrow(0, 3, 5), &alone.get(0)) < 1e-5);
    assert!(!bool::try_from(left.isnan().any()).unwrap(), "padded rows must stay finite");
    // Right padding.
    let right_ids = Tensor::from_slice(&[&short[..], &[0i64, 0, 0][..], &long[..]].concat()).view([2, 8]);
    let right_mask = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]).view([2, 8]);
    let right = model.llama.forward(&right_ids, Some(&right_mask));
    assert!(max_abs_diff(&right.get(0).narrow(0, 0, 5), &alone.get(0)) < 1e-5);
    let long_alone = model.llama.forward(&Tensor::from_slice(&long).unsqueeze(0), None);
    assert!(max_abs_diff(&right.get(1), &long_alone.get(0)) < 1e-5);
}

#[test]
fn kv_cache_steps_reproduce_the_full_forward() {
    let model = tiny_model(false, 2);
    let ids = [3i64, 99, 1000, 2500, 8, 640, 17];
    let full = model.llama.forward(&Tensor::from_slice(&ids).unsqueeze(0), None);
    let mut cache = KvCache::new(model.llama.num_layers());
    let prefix = Tensor::from_slice(&ids[..3]).unsqueeze(0);
    let mask = Tensor::ones([1, 3], (Kind::Bool, Device::Cpu));
    let hidden = model.llama.decode_step(&prefix, &positions_from_mask(&mask), &mask, Some(&mut cache));
    assert!(max_abs_diff(&model.llama.logits(&hidden), &full.narrow(1, 0, 3)) < 1e-5);
    for (step, &token) in ids[3..].iter().enumerate() {
        let position = 3 + step as i64;
        let mask = Tensor::ones([1, position + 1], (Kind::Bool, Device::Cpu));
        let hidden = model.llama.decode_step(
            &Tensor::from_slice(&[token]).unsqueeze(0),
            &Tensor::from_slice(&[position]).unsqueeze(0),
            &mask,
            Some(&mut cache),
        );
        assert!(max_abs_diff(&model.llama.logits(&hidden), &full.narrow(1, position, 1)) < 1e-5);
    }
    assert_eq!(cache.len(), ids.len() as i64);
}

#[test]
fn batched_greedy_generation_equals_one_at_a_time() {
    let model = tiny_model(true, 3);
    let prompts: Vec<Vec<i64>> = vec![
        vec![2023, 2003, 1037],
        vec![7592, 2088, 2003, 1037, 2307, 2173, 2000, 2022, 2045],
        vec![101],
        vec![4000, 4001, 4002, 4003, 4004],
    ];
    let batched = generate_greedy(&model, &prompts, 12, 3, None).unwrap();
    for (prompt, batched_output) in prompts.iter().zip(&batched) {
        let alone = generate_greedy(&model, std::slice::from_ref(prompt), 12, 1, None).unwrap();
        assert_eq!(&alone[0], batched_output, "prompt {prompt:?}");
        assert!(batched_output.len() <= 12 && !batched_output.contains(&102));
    }
    let reported = std::cell::Cell::new(0);
    let progress = |n: usize| reported.set(reported.get() + n);
    generate_greedy(&model, &prompts, 2, 3, Some(&progress)).unwrap();
    assert_eq!(reported.get(), prompts.len());
    assert!(generate_greedy(&model, &[vec![]], 2, 1, None).unwrap_err().to_string().contains("prompt 0"));
}

#[test]
fn hf_files_round_trip_gives_identical_logits() {
    for tied in [true, false] {
        let model = tiny_model(tied, 4);
        let files = model.hf_files().unwrap();
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["config.json", "model.safetensors", "tokenizer.json"]);
        let dir = tempfile::tempdir().unwrap();
        model.save_hf(dir.path()).unwrap();
        for (name, bytes) in &files {
            assert!(std::fs::read(dir.path().join(name)).unwrap() == *bytes, "save_hf streams the bytes of hf_files: {name}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "no temp file is left");
        let reloaded = LlamaModel::load(dir.path(), Device::Cpu).unwrap();
        assert_eq!(reloaded.config, model.config);
        let tensors = Tensor::read_safetensors(dir.path().join("model.safetensors")).unwrap();
        assert_eq!(tensors.iter().any(|(name, _)| name == "lm_head.weight"), !tied);
        assert_eq!(tensors.len(), 2 + 9 * 2 + usize::from(!tied));
        let ids = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6]).view([2, 3]);
        let before = model.llama.forward(&ids, None);
        let after = reloaded.llama.forward(&ids, None);
        assert_eq!(max_abs_diff(&before, &after), 0.0);
    }
}

#[test]
fn truncated_or_unreadable_weights_name_the_file() {
    let model = tiny_model(false, 5);
    let dir = tempfile::tempdir().unwrap();
    model.save_hf(dir.path()).unwrap();
    let weights = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = LlamaModel::load(dir.path(), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains(&weights.display().to_string()), "{err}");
    std::fs::remove_file(&weights).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone"), &weights).unwrap();
    let err = LlamaModel::load(dir.path(), Device::Cpu).unwrap_err();
    assert!(err.to_string().contains(&weights.display().to_string()), "{err}");
    assert!(std::error::Error::source(&err).is_some_and(|s| s.is::<std::io::Error>()), "{err:?}");
}

#[test]
fn missing_weights_are_named() {
    let model = tiny_model(false, 5);
    let dir = tempfile::tempdir().unwrap();
    model.save_hf(dir.path()).unwrap();
    let mut config = model.config.clone();
    config.num_hidden_layers = 3;
    std::fs::write(dir.path().join("config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    let err = LlamaModel::load(dir.path(), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("model.layers.2."), "{err}");
}

#[test]
fn padded_batches_train_with_finite_gradients() {
    let model = tiny_model(false, 6);
    let ids = Tensor::from_slice(&[0i64, 0, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).view([2, 6]);
    let mask = Tensor::from_slice(&[0i64, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]).view([2, 6]);
    let loss_of = || {
        let logits = model.llama.forward(&ids, Some(&mask));
        let targets = ids.narrow(1, 1, 5).reshape([-1]);
        let weights = mask.narrow(1, 1, 5).reshape([-1]).to_kind(Kind::Float);
        let token_nll = logits.narrow(1, 0, 5).reshape([-1, logits.size()[2]]).cross_entropy_loss::<Tensor>(
            &targets,
            None,
            tch::Reduction::None,
            -100,
            0.0,
        );
        (token_nll * &weights).sum(Kind::Float) / weights.sum(Kind::Float)
    };
    let mut optimizer = tch::nn::Adam::default().build(&model.vs, 1e-2).unwrap();
    let before = loss_of();
    optimizer.backward_step(&before);
    for (name, variable) in model.vs.variables() {
        let grad = variable.grad();
        assert!(grad.defined() && bool::try_from(grad.isfinite().all()).unwrap(), "gradient of {name}");
    }
    let after = loss_of().double_value(&[]);
    assert!(after < before.double_value(&[]), "one Adam step lowers the loss: {after}");
}
