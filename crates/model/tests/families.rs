//! Every supported family against transformers: tiny random checkpoints (biases and norms randomised, head_dim
//! != hidden / heads, Llama 3 / linear / dynamic RoPE, tied and untied, Mistral's window shorter than the
//! sequences, sharded, f16 and bf16 files) built by `scripts/make_tiny_models.py` at test time. Logits to 1e-4,
//! mean NLL to 1e-4, greedy decoding token for token while the reference's top-2 margin exceeds 1e-3.

#[path = "common/tiny.rs"]
mod tiny;

use inscl_model::{LlamaModel, chat_prompt, chat_prompt_for, generate_greedy, score};
use serde_json::{Value, json};
use tch::{Device, Tensor};

fn check_family(variant: &str) {
    let dir = tiny::model_dir(variant);
    let reference = tiny::reference(variant);
    let model = LlamaModel::load(&dir, Device::Cpu).unwrap();
    check_against(&model, variant, &reference);
}

fn check_against(model: &LlamaModel, variant: &str, reference: &tiny::Reference) {
    let theirs = tiny::reference_logits(variant);
    let ours = tch::no_grad(|| model.llama.forward(&Tensor::from_slice(&reference.logits_ids).unsqueeze(0), None)).get(0);
    let max_delta = (&ours - &theirs).abs().max().double_value(&[]);
    let spread = theirs.std(true).double_value(&[]);

    assert_eq!(model.encode(&reference.nll_text).unwrap(), reference.nll_ids, "{variant}: tokenisation");
    let nll = score::mean_nll(model, &[reference.nll_text.as_str()]).unwrap()[0];

    let generated = generate_greedy(model, std::slice::from_ref(&reference.prompt_ids), reference.greedy_ids.len(), 1, None)
        .unwrap()
        .remove(0);
    let steps = tiny::assert_same_greedy(
        &generated,
        &reference.greedy_ids,
        &reference.greedy_margins,
        &model.stop_token_ids(),
        variant,
    );
    println!(
        "{variant} (transformers {}): max |Δlogit| {max_delta:.2e} (logit std {spread:.2}), mean NLL ours {nll:.6} theirs {:.6}, greedy {steps}/{} steps equal",
        reference.transformers_version,
        reference.mean_nll,
        reference.greedy_ids.len()
    );
    assert!(max_delta < 1e-4, "{variant}: max |Δlogit| = {max_delta}");
    assert!((nll - reference.mean_nll).abs() < 1e-4, "{variant}: mean NLL {nll} vs {}", reference.mean_nll);
    assert!(steps >= 4, "{variant}: only {steps} greedy steps were comparable");
}

#[test]
fn llama_with_attention_and_mlp_biases_tied() {
    check_family("llama_bias_tied");
}

#[test]
fn llama3_rope_untied_sharded() {
    let dir = tiny::model_dir("llama3_untied");
    assert!(dir.join("model.safetensors.index.json").is_file() && dir.join("model-00002-of-00003.safetensors").is_file());
    check_family("llama3_untied");
}

#[test]
fn llama_linear_rope() {
    check_family("llama_linear");
}

#[test]
fn llama_dynamic_rope_beyond_max_positions() {
    check_family("llama_dynamic");
}

#[test]
fn qwen2_qkv_biases_from_f16() {
    check_family("qwen2");
}

#[test]
fn qwen3_qk_norm_from_bf16() {
    check_family("qwen3");
}

#[test]
fn mistral_sliding_window() {
    check_family("mistral");
    // The window under left padding and the KV cache: a batch decodes as each prompt alone does.
    let model = LlamaModel::load(&tiny::model_dir("mistral"), Device::Cpu).unwrap();
    let prompts = vec![tiny::reference("mistral").prompt_ids, (100..111).collect::<Vec<i64>>()];
    let batched = generate_greedy(&model, &prompts, 12, 2, None).unwrap();
    for (prompt, output) in prompts.iter().zip(&batched) {
        assert_eq!(&generate_greedy(&model, std::slice::from_ref(prompt), 12, 1, None).unwrap()[0], output);
    }
}

/// Copies a tiny folder, rewriting its config.json with `edit`.
fn edited_copy(variant: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> tempfile::TempDir {
    let from = tiny::model_dir(variant);
    let to = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.path().join(path.file_name().unwrap())).unwrap();
    }
    let config_path = to.path().join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    edit(config.as_object_mut().unwrap());
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    to
}

/// Sets each key of `edit` in `config`, removing those whose value is null.
fn apply(config: &mut serde_json::Map<String, Value>, edit: &Value) {
    for (key, value) in edit.as_object().unwrap() {
        if value.is_null() {
            config.remove(key);
        } else {
            config.insert(key.clone(), value.clone());
        }
    }
}

/// Max |Δlogit| against the reference of `variant` for its folder with `edit` applied to config.json.
fn logit_delta_with(variant: &str, edit: Value) -> f64 {
    let dir = edited_copy(variant, |config| apply(config, &edit));
    let model = LlamaModel::load(dir.path(), Device::Cpu).unwrap();
    let ids = Tensor::from_slice(&tiny::reference(variant).logits_ids).unsqueeze(0);
    let ours = tch::no_grad(|| model.llama.forward(&ids, None)).get(0);
    (ours - tiny::reference_logits(variant)).abs().max().double_value(&[])
}

#[test]
fn the_tiny_models_are_sensitive_to_each_feature() {
    // Controls: without the feature under test the logits miss the reference by far more than the 1e-4
    // tolerance, so the parity tests above would catch a kernel that dropped it.
    for (variant, edit) in [
        ("llama3_untied", json!({"rope_scaling": null})),
        ("llama_linear", json!({"rope_scaling": null})),
        ("llama_dynamic", json!({"rope_scaling": null})),
        ("mistral", json!({"sliding_window": null})),
        ("qwen3", json!({"rope_theta": 20000.0})),
    ] {
        let delta = logit_delta_with(variant, edit.clone());
        println!("{variant} with {edit}: max |Δlogit| {delta:.3}");
        assert!(delta > 1e-2, "{variant} with {edit}: {delta}");
    }
}

#[test]
fn transformers5_rope_parameters_decode_like_transformers() {
    // The same Llama 3 checkpoint with its config in transformers-5 form: no top-level rope_theta, the whole
    // RoPE in `rope_parameters`. Running it as plain theta-10000 RoPE would miss the reference by far.
    let dir = edited_copy("llama3_untied", |config| {
        let theta = config.remove("rope_theta").unwrap();
        let mut rope = config.remove("rope_scaling").unwrap();
        rope["rope_theta"] = theta;
        config.insert("rope_parameters".into(), rope);
    });
    let model = LlamaModel::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(model.config.rope_theta, 500000.0);
    check_against(&model, "llama3_untied", &tiny::reference("llama3_untied"));
}

#[test]
fn unimplemented_or_unknown_config_fields_are_refused_by_name() {
    for (edit, field) in [
        (json!({"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}}), "rope_scaling.rope_type = \"yarn\""),
        (json!({"rope_scaling": null, "rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0}}), "rope_parameters.rope_type"),
        (json!({"quantization_config": {"quant_method": "gptq"}}), "quantization_config"),
        (json!({"use_sliding_window": true, "sliding_window": 4}), "sliding_window is set but model_type \"llama\""),
    ] {
        let dir = edited_copy("llama_linear", |config| apply(config, &edit));
        let err = LlamaModel::load(dir.path(), Device::Cpu).unwrap_err().to_string();
        assert!(err.contains(field) && err.contains("config.json"), "{edit}: {err}");
    }
    // A checkpoint with tensors the configuration does not use (qwen2 biases read as a llama) is refused too.
    let dir = edited_copy("qwen2", |config| {
        config.insert("model_type".into(), json!("llama"));
    });
    let err = LlamaModel::load(dir.path(), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("q_proj.bias"), "{err}");
}

#[test]
fn saved_qwen2_loads_in_transformers_and_decodes_the_same() {
    let model = LlamaModel::load(&tiny::model_dir("qwen2"), Device::Cpu).unwrap();
    let out = tempfile::tempdir().unwrap();
    model.save_hf(out.path()).unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(out.path().join("config.json")).unwrap()).unwrap();
    let original: Value =
        serde_json::from_slice(&std::fs::read(tiny::model_dir("qwen2").join("config.json")).unwrap()).unwrap();
    for (key, value) in original.as_object().unwrap() {
        if key != "dtype" && key != "torch_dtype" {
            assert_eq!(&saved[key], value, "config.json keeps {key}");
        }
    }
    assert_eq!(saved["dtype"], "float32");
    let (theirs, margins) = tiny::transformers_greedy(out.path());
    let prompt = tiny::reference("qwen2").prompt_ids;
    let ours = generate_greedy(&model, &[prompt], theirs.len(), 1, None).unwrap().remove(0);
    let steps = tiny::assert_same_greedy(&ours, &theirs, &margins, &model.stop_token_ids(), "qwen2 resaved");
    assert!(steps >= 4, "only {steps} comparable steps");
    // And it reloads here bit for bit.
    let again = LlamaModel::load(out.path(), Device::Cpu).unwrap();
    let ids = Tensor::from_slice(&[5i64, 6, 7]).unsqueeze(0);
    let delta = (model.llama.forward(&ids, None) - again.llama.forward(&ids, None)).abs().max().double_value(&[]);
    assert_eq!(delta, 0.0);
}

#[test]
fn eos_comes_from_the_folder() {
    let model = LlamaModel::load(&tiny::model_dir("qwen3"), Device::Cpu).unwrap();
    let im_end = i64::from(model.tokenizer.token_to_id("<|im_end|>").unwrap());
    assert_eq!(model.eos_token_ids, [im_end]);
    assert_eq!(model.eos_token_id(), Some(im_end));
    let dir = edited_copy("qwen3", |config| {
        config.insert("eos_token_id".into(), json!([im_end, 0]));
    });
    std::fs::write(dir.path().join("generation_config.json"), r#"{"eos_token_id": [7, 2]}"#).unwrap();
    let model = LlamaModel::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(model.eos_token_ids, [7, 2, 0]);
}

#[test]
fn chat_templates_render_like_transformers() {
    let message = "  What is the capital of France?  ";
    // SmolLM2's own template (from the GGUF), as the tiny folders carry it.
    let dir = tiny::model_dir("qwen2");
    let ours = chat_prompt_for(&dir, message).unwrap();
    assert_eq!(ours, tiny::transformers_chat(&dir, message));
    assert!(ours.contains("<|im_start|>system"), "the template's system turn: {ours:?}");
    let model = LlamaModel::load(&dir, Device::Cpu).unwrap();
    assert_eq!(model.chat_prompt(message).unwrap(), ours);
    // A template using Python string methods, whitespace control, trim/lstrip_blocks and raise_exception.
    let custom = edited_copy("qwen2", |_| {});
    let template = "{%- for message in messages %}\n    {%- if message['role'] == 'user' %}\n<|user|>{{ message.content.strip() }}{{ eos_token }}\n    {%- else %}{{ raise_exception('only user turns') }}\n    {%- endif %}\n{% endfor %}\n{%- if add_generation_prompt %}<|assistant|>\n{% endif %}";
    let config_path = custom.path().join("tokenizer_config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["chat_template"] = json!(template);
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    assert_eq!(chat_prompt_for(custom.path(), message).unwrap(), tiny::transformers_chat(custom.path(), message));
    // Without a template: ChatML.
    std::fs::remove_file(&config_path).unwrap();
    assert_eq!(chat_prompt_for(custom.path(), message).unwrap(), chat_prompt(message));
}

#[test]
fn mean_embedding_and_scores_read_bf16_and_sharded_folders() {
    for variant in ["qwen3", "llama3_untied"] {
        let dir = tiny::model_dir(variant);
        let model = LlamaModel::load(&dir, Device::Cpu).unwrap();
        let text = "Summarise the article in one sentence.";
        let from_folder = inscl_model::LlmMean::load(&dir, Device::Cpu).unwrap();
        let from_model = inscl_model::LlmMean::from_model(&model);
        use inscl_model::TextEncoder;
        assert_eq!(from_folder.encode(&[text]).unwrap(), from_model.encode(&[text]).unwrap(), "{variant}");
    }
    let model = LlamaModel::load(&tiny::model_dir("qwen2"), Device::Cpu).unwrap();
    let err = score::mean_nll(&model, &["a"]).unwrap_err().to_string();
    assert!(err.contains("text 0") && err.contains("at least 2"), "{err}");
    let two = score::mean_nll(&model, &["Paris is nice.", "Paris is nice. Rome too."]).unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[0], score::mean_nll(&model, &["Paris is nice."]).unwrap()[0], "texts are scored independently");
}
