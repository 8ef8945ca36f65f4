//! SmolLM2-135M-Instruct (converted from the PyPI GGUF to f32) against `transformers` reference values
//! recorded in fixtures/smollm2_reference.json.

mod common;

use inscl_model::{LlamaModel, LlmMean, TextEncoder, chat_prompt, generate_greedy, generate_text};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tch::{Device, Kind, Tensor};

#[derive(Deserialize)]
struct Reference {
    prompt: String,
    prompt_ids: Vec<i64>,
    next_token: i64,
    next_token_logit: f64,
    first_logits: Vec<f64>,
    nll_text: String,
    mean_nll: f64,
}

fn reference() -> Reference {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/smollm2_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The GGUF converted once per test binary into a temporary folder that lives until the process exits.
fn converted_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let folder = inscl_gguf::convert(&common::smollm2_gguf(), inscl_gguf::DType::F32).unwrap();
        let dir = tempfile::Builder::new().prefix("smollm2-f32-").tempdir().unwrap().keep();
        for (name, bytes) in &folder.files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        dir
    })
}

fn load() -> LlamaModel {
    LlamaModel::load(converted_dir(), Device::Cpu).unwrap()
}

#[test]
fn smollm2_logits_and_nll_match_transformers() {
    let reference = reference();
    let model = load();
    let ids = model.encode(&reference.prompt).unwrap();
    assert_eq!(ids, reference.prompt_ids);
    let logits = tch::no_grad(|| model.llama.forward(&Tensor::from_slice(&ids).unsqueeze(0), None));
    let last = logits.get(0).get(ids.len() as i64 - 1);
    assert_eq!(last.argmax(0, false).int64_value(&[]), reference.next_token);
    let top = last.double_value(&[reference.next_token]);
    assert!((top - reference.next_token_logit).abs() < 0.05, "top-1 logit {top}");
    for (i, want) in reference.first_logits.iter().enumerate() {
        let got = last.double_value(&[i as i64]);
        assert!((got - want).abs() < 0.05, "logit {i}: {got} vs {want}");
    }

    let ids = model.encode(&reference.nll_text).unwrap();
    let input = Tensor::from_slice(&ids).unsqueeze(0);
    let logits = tch::no_grad(|| model.llama.forward(&input, None));
    let n = ids.len() as i64;
    let nll = logits
        .get(0)
        .narrow(0, 0, n - 1)
        .log_softmax(-1, Kind::Float)
        .gather(1, &input.get(0).narrow(0, 1, n - 1).unsqueeze(1), false)
        .mean(Kind::Float)
        .neg()
        .double_value(&[]);
    assert!((nll - reference.mean_nll).abs() < 0.01, "mean NLL {nll} vs {}", reference.mean_nll);
}

#[test]
fn smollm2_answers_chat_prompts_and_batches_consistently() {
    let model = load();
    let questions = [
        "What is the capital of France?",
        "Name three primary colors.",
        "Translate 'good morning' into Spanish. Reply with the translation only, nothing else.",
        "Write a haiku about the sea.",
    ];
    let prompts: Vec<Vec<i64>> = questions.iter().map(|q| model.encode(&chat_prompt(q)).unwrap()).collect();
    let max_new = 24;
    let start = std::time::Instant::now();
    let batched = generate_greedy(&model, &prompts, max_new, 4, None).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let produced: usize = batched.iter().map(Vec::len).sum();
    eprintln!(
        "SmolLM2 CPU greedy, batch 4: {produced} tokens in {seconds:.2}s = {:.1} tokens/s",
        produced as f64 / seconds
    );
    let start = std::time::Instant::now();
    for (prompt, batched_output) in prompts.iter().zip(&batched) {
        let alone = generate_greedy(&model, std::slice::from_ref(prompt), max_new, 1, None).unwrap();
        assert_eq!(&alone[0], batched_output, "prompt {:?}", model.decode(prompt).unwrap());
    }
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("SmolLM2 CPU greedy, batch 1: {:.1} tokens/s", produced as f64 / seconds);
    for (question, output) in questions.iter().zip(&batched) {
        eprintln!("{question} -> {:?}", model.decode(output).unwrap());
    }
    let answer = model.decode(&batched[0]).unwrap();
    assert!(answer.contains("Paris"), "answer: {answer:?}");
    let texts = generate_text(&model, &[chat_prompt(questions[0]).as_str()], max_new, 1).unwrap();
    assert_eq!(texts[0], answer);
}

#[test]
fn smollm2_checkpoint_round_trip_and_mean_embedding() {
    let model = load();
    let dir = tempfile::tempdir().unwrap();
    model.save_hf(dir.path()).unwrap();
    let reloaded = LlamaModel::load(dir.path(), Device::Cpu).unwrap();
    let ids = Tensor::from_slice(&model.encode("Paris is the capital of France.").unwrap()).unsqueeze(0);
    let (before, after) = tch::no_grad(|| (model.llama.forward(&ids, None), reloaded.llama.forward(&ids, None)));
    assert_eq!((before - after).abs().max().double_value(&[]), 0.0);
    assert_eq!(
        reloaded.tokenizer.encode("<|im_start|>user", false).unwrap().get_ids(),
        model.tokenizer.encode("<|im_start|>user", false).unwrap().get_ids()
    );

    let encoder = LlmMean::from_model(&model);
    let from_folder = LlmMean::load(dir.path(), Device::Cpu).unwrap();
    assert_eq!(encoder.dim(), model.config.hidden_size);
    let text = "Summarise the article in one sentence.";
    let vector = &encoder.encode(&[text]).unwrap()[0];
    assert_eq!(vector, &from_folder.encode(&[text]).unwrap()[0]);
    let token_ids = Tensor::from_slice(&model.encode(text).unwrap());
    let expected = model.llama.embed_tokens_weight().index_select(0, &token_ids).mean_dim(0, false, Kind::Float);
    let expected = Vec::<f32>::try_from(&expected).unwrap();
    let max_diff = vector.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 1e-6);
}
