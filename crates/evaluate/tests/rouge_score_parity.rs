//! Parity with google `rouge-score==0.1.2` (`RougeScorer(['rougeL'], use_stemmer=True)`) and NLTK's
//! `PorterStemmer`, on outputs recorded by fixtures/make_rouge_score_fixtures.py.

use inscl_evaluate::porter::stem;
use inscl_evaluate::rouge_score::{
    RougeLStemmedScorer, rouge_l_stemmed, rouge_l_stemmed_corpus, rouge_l_stemmed_pair, score_lcs,
    tokenize,
};
use serde::Deserialize;

const TOL: f64 = 1e-9;

#[derive(Deserialize)]
struct ScoreJson {
    precision: f64,
    recall: f64,
    fmeasure: f64,
}

#[derive(Deserialize)]
struct Case {
    prediction: String,
    references: Vec<String>,
    prediction_tokens: Vec<String>,
    reference_tokens: Vec<Vec<String>>,
    per_reference: Vec<ScoreJson>,
    max_fmeasure: f64,
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
    corpus_mean_max_fmeasure: f64,
}

#[derive(Deserialize)]
struct Words {
    words: Vec<(String, String)>,
}

fn cases() -> Cases {
    serde_json::from_str(include_str!("../fixtures/rouge_score_cases.json")).unwrap()
}

#[test]
fn porter_matches_nltk_on_every_fixture_word() {
    let fx: Words =
        serde_json::from_str(include_str!("../fixtures/porter_rouge_score_words.json")).unwrap();
    assert!(fx.words.len() >= 5000);
    let non_ascii = fx.words.iter().filter(|(w, _)| !w.is_ascii()).count();
    assert!(non_ascii >= 15, "fixture must exercise the code-point path");
    for (word, want) in &fx.words {
        assert_eq!(&stem(word), want, "stem({word:?})");
    }
    eprintln!(
        "{} words identical to NLTK ({non_ascii} non-ASCII)",
        fx.words.len()
    );
}

#[test]
fn tokenizer_matches_rouge_score_default_tokenizer() {
    for (i, c) in cases().cases.iter().enumerate() {
        assert_eq!(
            tokenize(&c.prediction),
            c.prediction_tokens,
            "case {i} prediction {:?}",
            c.prediction
        );
        for (r, want) in c.references.iter().zip(&c.reference_tokens) {
            assert_eq!(&tokenize(r), want, "case {i} reference {r:?}");
        }
    }
}

#[test]
fn rouge_l_matches_rouge_score_per_reference_and_max() {
    let fx = cases();
    assert!(fx.cases.len() >= 400);
    let mut max_err = 0.0f64;
    let mut shared = RougeLStemmedScorer::new();
    for (i, c) in fx.cases.iter().enumerate() {
        assert_eq!(c.references.len(), c.per_reference.len());
        for (r, want) in c.references.iter().zip(&c.per_reference) {
            let got = rouge_l_stemmed_pair(&c.prediction, r);
            let reused = shared.score(&c.prediction, r);
            assert_eq!(got, reused, "case {i}: cached scorer differs");
            for (g, w, name) in [
                (got.precision, want.precision, "precision"),
                (got.recall, want.recall, "recall"),
                (got.fmeasure, want.fmeasure, "fmeasure"),
            ] {
                max_err = max_err.max((g - w).abs());
                assert!(
                    (g - w).abs() <= TOL,
                    "case {i} {name}: got {g}, want {w}: {:?} vs {r:?}",
                    c.prediction
                );
            }
        }
        let got = rouge_l_stemmed(&c.prediction, &c.references);
        max_err = max_err.max((got - c.max_fmeasure).abs());
        assert!(
            (got - c.max_fmeasure).abs() <= TOL,
            "case {i} max F: got {got}, want {}",
            c.max_fmeasure
        );
    }
    let pairs: Vec<(&str, Vec<&str>)> = fx
        .cases
        .iter()
        .map(|c| {
            (
                c.prediction.as_str(),
                c.references.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let corpus = rouge_l_stemmed_corpus(&pairs);
    max_err = max_err.max((corpus - fx.corpus_mean_max_fmeasure).abs());
    assert!(
        (corpus - fx.corpus_mean_max_fmeasure).abs() <= TOL,
        "corpus {corpus} vs {}",
        fx.corpus_mean_max_fmeasure
    );
    eprintln!(
        "{} cases, corpus mean max-F {corpus}, max abs error {max_err:e}",
        fx.cases.len()
    );
}

#[test]
fn token_level_lcs_agrees_with_string_scoring() {
    for c in cases().cases.iter().take(100) {
        for (r, want) in c.reference_tokens.iter().zip(&c.per_reference) {
            let got = score_lcs(&c.prediction_tokens, r);
            assert!((got.fmeasure - want.fmeasure).abs() <= TOL);
        }
    }
}
