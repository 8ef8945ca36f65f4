//! Parity against rouge_metric==1.0.1 outputs recorded by fixtures/make_rouge_fixtures.py.

use inscl_evaluate::{rouge_l_corpus, rouge_l_instance};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    prediction: String,
    references: Vec<String>,
    p: f64,
    r: f64,
    f: f64,
}

#[derive(Deserialize)]
struct Prf3 {
    p: f64,
    r: f64,
    f: f64,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
    corpus: Prf3,
}

const TOL: f64 = 1e-9;

#[test]
fn rouge_metric_parity() {
    let raw = include_str!("../fixtures/rouge_cases.json");
    let fx: Fixture = serde_json::from_str(raw).unwrap();
    assert!(fx.cases.len() >= 300);
    let mut max_err = 0.0f64;
    for (i, c) in fx.cases.iter().enumerate() {
        let got = rouge_l_instance(&c.prediction, &c.references);
        for (g, w, name) in [(got.p, c.p, "p"), (got.r, c.r, "r"), (got.f, c.f, "f")] {
            let e = (g - w).abs();
            max_err = max_err.max(e);
            assert!(e <= TOL, "case {i} {name}: got {g}, want {w}: {:?} {:?}", c.prediction, c.references);
        }
    }
    let pairs: Vec<(String, Vec<String>)> =
        fx.cases.iter().map(|c| (c.prediction.clone(), c.references.clone())).collect();
    let got = rouge_l_corpus(&pairs);
    for (g, w) in [(got.p, fx.corpus.p), (got.r, fx.corpus.r), (got.f, fx.corpus.f)] {
        max_err = max_err.max((g - w).abs());
        assert!((g - w).abs() <= TOL, "corpus: got {g}, want {w}");
    }
    eprintln!("{} cases, max abs error {max_err:e}", fx.cases.len());
}
