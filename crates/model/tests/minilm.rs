//! all-MiniLM-L6-v2 parity with sentence-transformers (values in fixtures/minilm_reference.json).

mod common;

use inscl_model::{MiniLm, TextEncoder};
use serde::Deserialize;
use tch::Device;

#[derive(Deserialize)]
struct Reference {
    example_sentence: String,
    example_first_dims: Vec<f32>,
    cosine_pair: (String, String),
    cosine: f32,
}

fn reference() -> Reference {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/minilm_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn minilm_matches_sentence_transformers() {
    let reference = reference();
    let model = MiniLm::load(&common::minilm_dir(), Device::Cpu).unwrap();
    assert_eq!(TextEncoder::dim(&model), 384);
    let embedding = &model.encode(&[reference.example_sentence.as_str()]).unwrap()[0];
    assert_eq!(embedding.len(), 384);
    for (i, (got, want)) in embedding.iter().zip(&reference.example_first_dims).enumerate() {
        assert!((got - want).abs() < 1e-3, "dim {i}: {got} vs {want}");
    }
    assert!((dot(embedding, embedding) - 1.0).abs() < 1e-5, "embeddings are unit length");
    let (a, b) = &reference.cosine_pair;
    let pair = model.encode(&[a.as_str(), b.as_str()]).unwrap();
    let cosine = dot(&pair[0], &pair[1]);
    assert!((cosine - reference.cosine).abs() < 1e-3, "cosine {cosine} vs {}", reference.cosine);
}

#[test]
fn minilm_batches_are_padding_invariant_and_truncate_long_texts() {
    let model = MiniLm::load(&common::minilm_dir(), Device::Cpu).unwrap();
    let long_text = "word ".repeat(600);
    let texts = [
        "A man is eating food.",
        "short",
        "A considerably longer sentence, which forces the others in its batch to be padded quite a lot.",
        long_text.as_str(),
        "",
    ];
    let batched = model.encode(&texts).unwrap();
    for (text, batched_vector) in texts.iter().zip(&batched) {
        let alone = &model.encode(&[text]).unwrap()[0];
        let max_diff = alone.iter().zip(batched_vector).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max_diff < 1e-5, "{text:?}: batched differs by {max_diff}");
    }
    // Truncation at 256 tokens: 600 words give the same embedding as 300.
    let shorter = "word ".repeat(300);
    let truncated = &model.encode(&[shorter.as_str()]).unwrap()[0];
    let max_diff = truncated.iter().zip(&batched[3]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 1e-6);
}

#[test]
fn minilm_throughput_batch_64() {
    let model = MiniLm::load(&common::minilm_dir(), Device::Cpu).unwrap();
    let sentences: Vec<String> = (0..256)
        .map(|i| {
            format!(
                "Instruction {i}: summarise the following news article about topic number {} in one sentence.",
                i % 17
            )
        })
        .collect();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let start = std::time::Instant::now();
    let vectors = model.encode(&texts).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), 256);
    eprintln!("MiniLM CPU: {:.1} sentences/s (batch 64, {} threads)", 256.0 / elapsed, tch::get_num_threads());
}

#[derive(Deserialize)]
struct Truncation {
    max_seq_length: usize,
    texts: Vec<String>,
    token_counts: Vec<usize>,
    vectors: Vec<Vec<f32>>,
}

/// Texts shaped like the Prototype Data stage's (definition + input), most longer than the 256-token window:
/// our token ids and vectors against sentence-transformers' (fixtures/make_minilm_truncation.py).
#[test]
fn minilm_truncates_long_texts_as_sentence_transformers_does() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/minilm_truncation.json");
    let fixture: Truncation = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(fixture.max_seq_length, inscl_model::bert::MAX_SEQ_LENGTH);
    let model = MiniLm::load(&common::minilm_dir(), Device::Cpu).unwrap();
    let texts: Vec<&str> = fixture.texts.iter().map(String::as_str).collect();
    let ids = model.tokenize(&texts).unwrap();
    let counts: Vec<usize> = ids.iter().map(Vec::len).collect();
    assert_eq!(counts, fixture.token_counts);
    let rows: Vec<&[i64]> = ids.iter().map(Vec::as_slice).collect();
    let ours = model.encode_tokens(&rows).unwrap();
    for (i, (got, want)) in ours.iter().zip(&fixture.vectors).enumerate() {
        let max_diff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max_diff < 1e-4, "text {i}: differs from sentence-transformers by {max_diff}");
    }
    // Texts 1 and 2 differ only after the window: the same ids, hence one vector for both.
    assert_eq!(ids[1], ids[2]);
    assert_eq!(ours, model.encode(&texts).unwrap(), "encode = tokenize + encode_tokens");
}
