//! GGUF → Hugging Face folder on the real SmolLM2 file: tensor names, shapes, values, and the JSON files.

mod common;

use std::collections::BTreeMap;

use inscl_gguf::{DType, HfFolder, convert};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use tokenizers::Tokenizer;

fn json_file(folder: &HfFolder, name: &str) -> Value {
    serde_json::from_slice(
        folder
            .file(name)
            .unwrap_or_else(|| panic!("{name} missing")),
    )
    .unwrap()
}

fn f32_row(tensors: &SafeTensors, name: &str, row: usize, len: usize) -> Vec<f32> {
    let view = tensors.tensor(name).unwrap();
    let cols = if view.shape().len() == 2 {
        view.shape()[1]
    } else {
        0
    };
    let start = row * cols * 4;
    view.data()[start..start + len * 4]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn f32_folder_matches_transformers_gguf_loader() {
    let folder = convert(&common::smollm2_gguf(), DType::F32).unwrap();
    let names: Vec<&str> = folder.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );

    let tensors = SafeTensors::deserialize(folder.file("model.safetensors").unwrap()).unwrap();
    let shapes: BTreeMap<String, Vec<usize>> = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec()))
        .collect();
    assert_eq!(shapes.len(), 272);
    let expected_shapes = [
        ("model.embed_tokens.weight", vec![49152, 576]),
        ("model.norm.weight", vec![576]),
        ("model.layers.0.self_attn.q_proj.weight", vec![576, 576]),
        ("model.layers.0.self_attn.k_proj.weight", vec![192, 576]),
        ("model.layers.29.self_attn.v_proj.weight", vec![192, 576]),
        ("model.layers.29.self_attn.o_proj.weight", vec![576, 576]),
        ("model.layers.17.mlp.gate_proj.weight", vec![1536, 576]),
        ("model.layers.17.mlp.up_proj.weight", vec![1536, 576]),
        ("model.layers.17.mlp.down_proj.weight", vec![576, 1536]),
        ("model.layers.5.input_layernorm.weight", vec![576]),
        ("model.layers.5.post_attention_layernorm.weight", vec![576]),
    ];
    for (name, shape) in expected_shapes {
        assert_eq!(shapes.get(name), Some(&shape), "{name}");
    }
    assert!(
        !shapes.contains_key("lm_head.weight"),
        "tied embeddings have no lm_head"
    );
    assert!(
        tensors
            .tensors()
            .iter()
            .all(|(_, view)| view.dtype() == Dtype::F32)
    );

    // Exact values from transformers' dequantisation; q/k rows 0, 1, 32, 33 catch a wrong permutation.
    let reference = common::transformers_reference();
    for sample in reference["weight_samples"].as_array().unwrap() {
        let name = sample["name"].as_str().unwrap();
        let row = sample["row"].as_u64().unwrap() as usize;
        let expected: Vec<f32> = serde_json::from_value(sample["first_values"].clone()).unwrap();
        assert_eq!(
            f32_row(&tensors, name, row, expected.len()),
            expected,
            "{name} row {row}"
        );
    }

    let config = json_file(&folder, "config.json");
    let expected_config = [
        ("architectures", serde_json::json!(["LlamaForCausalLM"])),
        ("model_type", "llama".into()),
        ("vocab_size", 49152.into()),
        ("hidden_size", 576.into()),
        ("intermediate_size", 1536.into()),
        ("num_hidden_layers", 30.into()),
        ("num_attention_heads", 9.into()),
        ("num_key_value_heads", 3.into()),
        ("head_dim", 64.into()),
        ("rms_norm_eps", 1e-5.into()),
        ("rope_theta", 100_000.0.into()),
        ("max_position_embeddings", 8192.into()),
        ("tie_word_embeddings", true.into()),
        ("bos_token_id", 1.into()),
        ("eos_token_id", 2.into()),
        ("torch_dtype", "float32".into()),
    ];
    for (key, value) in expected_config {
        assert_eq!(config[key], value, "config.json {key}");
    }
    let generation = json_file(&folder, "generation_config.json");
    assert_eq!(
        (&generation["bos_token_id"], &generation["eos_token_id"]),
        (&1.into(), &2.into())
    );
    assert_eq!(
        json_file(&folder, "tokenizer_config.json")["eos_token"],
        "<|im_end|>"
    );

    let tokenizer = Tokenizer::from_bytes(folder.file("tokenizer.json").unwrap()).unwrap();
    let ids = tokenizer
        .encode("The capital of France is", false)
        .unwrap()
        .get_ids()
        .to_vec();
    assert_eq!(ids, [504, 3575, 282, 4649, 314]);
}

#[test]
fn bf16_folder_halves_the_weights() {
    let folder = convert(&common::smollm2_gguf(), DType::Bf16).unwrap();
    let tensors = SafeTensors::deserialize(folder.file("model.safetensors").unwrap()).unwrap();
    let q = tensors
        .tensor("model.layers.0.self_attn.q_proj.weight")
        .unwrap();
    assert_eq!(
        (q.dtype(), q.shape(), q.data().len()),
        (Dtype::BF16, &[576, 576][..], 576 * 576 * 2)
    );
    let reference = common::transformers_reference();
    let sample = &reference["weight_samples"][0];
    assert_eq!(sample["name"], "model.embed_tokens.weight");
    let expected: Vec<f32> = serde_json::from_value(sample["first_values"].clone()).unwrap();
    let embed = tensors.tensor("model.embed_tokens.weight").unwrap();
    let row0: Vec<f32> = embed.data()[..expected.len() * 2]
        .chunks_exact(2)
        .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
        .collect();
    let rounded: Vec<f32> = expected
        .iter()
        .map(|&v| half::bf16::from_f32(v).to_f32())
        .collect();
    assert_eq!(row0, rounded);
    assert_eq!(json_file(&folder, "config.json")["torch_dtype"], "bfloat16");
}

#[test]
fn convert_to_dir_streams_the_bytes_of_convert() {
    let folder = convert(&common::smollm2_gguf(), DType::Bf16).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut reported = 0;
    let names = inscl_gguf::convert_to_dir(&common::smollm2_gguf(), DType::Bf16, dir.path(), |done, total| {
        assert!(done <= total);
        reported = done;
    })
    .unwrap();
    assert_eq!(reported, 272, "progress reaches every tensor");
    let expected: Vec<&str> = folder.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, expected);
    for (name, bytes) in &folder.files {
        assert!(std::fs::read(dir.path().join(name)).unwrap() == *bytes, "{name} differs");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), names.len(), "no temp file is left");
}
