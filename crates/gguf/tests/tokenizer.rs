//! The tokenizer.json rebuilt from GGUF metadata, loaded by the Hugging Face `tokenizers` crate.

mod common;

use inscl_gguf::{read_gguf, special_token_ids, tokenizer_config_json, tokenizer_json};
use tokenizers::Tokenizer;

fn smollm2_tokenizer() -> Tokenizer {
    let gguf = read_gguf(&common::smollm2_gguf()).unwrap();
    let json = serde_json::to_vec(&tokenizer_json(&gguf).unwrap()).unwrap();
    Tokenizer::from_bytes(json).unwrap()
}

#[test]
fn prompt_tokenises_to_smollm2_ids_and_decodes_back() {
    let tokenizer = smollm2_tokenizer();
    let prompt = "The capital of France is";
    let encoding = tokenizer.encode(prompt, true).unwrap();
    assert_eq!(encoding.get_ids(), [504, 3575, 282, 4649, 314]);
    assert_eq!(tokenizer.decode(encoding.get_ids(), false).unwrap(), prompt);
    assert_eq!(tokenizer.get_vocab_size(true), 49152);
}

#[test]
fn ids_match_transformers_gguf_tokenizer() {
    let tokenizer = smollm2_tokenizer();
    let reference = common::transformers_reference();
    let cases = reference["tokenizer_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let ids = tokenizer.encode(text, true).unwrap().get_ids().to_vec();
        assert_eq!(ids, expected, "{text:?}");
        assert_eq!(
            tokenizer.decode(&ids, false).unwrap(),
            case["decoded"].as_str().unwrap(),
            "{text:?}"
        );
    }
}

#[test]
fn digits_are_split_one_by_one_and_special_tokens_are_atomic() {
    let tokenizer = smollm2_tokenizer();
    let ids = tokenizer
        .encode("<|im_start|>2024<|im_end|>", true)
        .unwrap()
        .get_ids()
        .to_vec();
    assert_eq!(ids, [1, 34, 32, 34, 36, 2]);
    assert_eq!(tokenizer.decode(&ids, true).unwrap(), "2024");
    let added = tokenizer.get_added_tokens_decoder();
    assert_eq!(added.len(), 17);
    assert!((0..17).all(|id| added[&id].special));
    assert_eq!(added[&1].content, "<|im_start|>");
    assert_eq!(added[&2].content, "<|im_end|>");
}

#[test]
fn special_ids_and_tokenizer_config() {
    let gguf = read_gguf(&common::smollm2_gguf()).unwrap();
    let ids = special_token_ids(&gguf).unwrap();
    assert_eq!(
        (ids.bos, ids.eos, ids.unk, ids.pad),
        (Some(1), Some(2), Some(0), Some(2))
    );
    let config = tokenizer_config_json(&gguf, 8192).unwrap();
    assert_eq!(config["bos_token"], "<|im_start|>");
    assert_eq!(config["eos_token"], "<|im_end|>");
    assert_eq!(config["pad_token"], "<|im_end|>");
    assert_eq!(config["unk_token"], "<|endoftext|>");
    assert_eq!(config["add_bos_token"], false);
    assert_eq!(config["model_max_length"], 8192);
    assert!(
        config["chat_template"]
            .as_str()
            .unwrap()
            .starts_with("{% for message in messages %}")
    );
    assert_eq!(
        config["added_tokens_decoder"]["16"]["content"],
        "<empty_output>"
    );
}
