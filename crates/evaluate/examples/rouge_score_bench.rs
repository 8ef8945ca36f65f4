//! Times SuperNI's stemmed rougeL on the 10k pairs written by fixtures/bench_rouge_score.py
//! (default path /tmp/rouge_score_bench.json) so both sides score identical data.

use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/rouge_score_bench.json".into());
    let raw = std::fs::read_to_string(&path).expect("run fixtures/bench_rouge_score.py first");
    let pairs: Vec<(String, Vec<String>)> = serde_json::from_str(&raw).expect("pairs JSON");
    let mut best = f64::INFINITY;
    let mut mean = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        mean = inscl_evaluate::rouge_score::rouge_l_stemmed_corpus(&pairs);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "ours rouge-score rougeL (stemmed) max-over-refs: {} pairs, best of 3 {best:.4}s, mean F {mean:?}",
        pairs.len()
    );
}
