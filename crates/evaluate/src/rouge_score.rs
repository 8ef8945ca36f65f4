//! SuperNI's standard `rougeL`: google `rouge-score==0.1.2`, `RougeScorer(['rougeL'], use_stemmer=True)`
//! with its default tokenizer, the best F over the references (SuperNI's `metric_max_over_ground_truths`).
//!
//! Tokenizer (rouge_score/tokenize.py): Python `str.lower()`, every run of characters outside `[a-z0-9]`
//! becomes a separator, tokens longer than 3 characters go through NLTK's Porter stemmer. So all non-ASCII
//! text (accents, CJK, emoji) separates tokens and vanishes, except the two code points whose lowercase
//! contains ASCII: KELVIN SIGN → `k` and `İ` → `i` + a combining dot (which separates).
//!
//! Score (`_score_lcs`): P = lcs/|prediction|, R = lcs/|reference|, F = 2PR/(P+R); an empty token
//! sequence on either side scores 0. This is plain sentence-level `rougeL`, not `rougeLsum`: newlines are
//! ordinary separators.

use std::collections::HashMap;

use crate::porter::stem_lower_ascii_into;

/// `rouge_score.scoring.Score` for one (prediction, reference) pair, on the 0–1 scale.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

/// Lowercases one code point as Python's `str.lower()` does and yields only the ASCII `[a-z0-9]` part;
/// `None` marks a separator. Lowercasing is context free here: the one contextual rule (final sigma)
/// only ever produces non-ASCII output.
fn for_each_ascii_alnum(text: &str, mut f: impl FnMut(Option<u8>)) {
    for c in text.chars() {
        if c.is_ascii() {
            let b = c.to_ascii_lowercase() as u8;
            f(b.is_ascii_alphanumeric().then_some(b));
        } else {
            for l in c.to_lowercase() {
                f((l.is_ascii_alphanumeric()).then_some(l as u8));
            }
        }
    }
}

/// rouge-score's default tokenizer with `use_stemmer=True`, as strings (the scorer uses interned ids).
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut stemmed = Vec::new();
    for_each_raw_token(text, &mut Vec::new(), |raw| {
        let token = if raw.len() > 3 {
            stem_lower_ascii_into(raw, &mut stemmed);
            &stemmed[..]
        } else {
            raw
        };
        // Both sides are ASCII alphanumerics, so the conversion cannot fail.
        tokens.extend(std::str::from_utf8(token).ok().map(str::to_owned));
    });
    tokens
}

/// Calls `f` with each maximal run of `[a-z0-9]` after lowercasing, i.e. each unstemmed token.
fn for_each_raw_token(text: &str, buf: &mut Vec<u8>, mut f: impl FnMut(&[u8])) {
    buf.clear();
    for_each_ascii_alnum(text, |b| match b {
        Some(b) => buf.push(b),
        None if !buf.is_empty() => {
            f(buf);
            buf.clear();
        }
        None => {}
    });
    if !buf.is_empty() {
        f(buf);
    }
}

/// `_score_lcs(target_tokens, prediction_tokens)` on any comparable tokens.
pub fn score_lcs<T: PartialEq>(prediction: &[T], reference: &[T]) -> Score {
    let mut row = Vec::new();
    score_from_lcs(
        lcs_len(prediction, reference, &mut row),
        prediction.len(),
        reference.len(),
    )
}

fn score_from_lcs(lcs: usize, pred_len: usize, ref_len: usize) -> Score {
    if pred_len == 0 || ref_len == 0 {
        return Score::default();
    }
    let precision = lcs as f64 / pred_len as f64;
    let recall = lcs as f64 / ref_len as f64;
    // Same operation order as `scoring.fmeasure`, so results agree to the last bit.
    let fmeasure = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Score {
        precision,
        recall,
        fmeasure,
    }
}

/// LCS length with one rolling row; only the length matters for rougeL, not the path.
fn lcs_len<T: PartialEq>(a: &[T], b: &[T], row: &mut Vec<u32>) -> usize {
    row.clear();
    row.resize(b.len() + 1, 0);
    for x in a {
        let mut diag = 0;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    row[b.len()] as usize
}

/// Reusable scorer: caches each distinct raw token's stemmed id, so a corpus stems every word form
/// once and compares `u32`s in the LCS. Scores are identical to scoring each pair from scratch.
#[derive(Default)]
pub struct RougeLStemmedScorer {
    stem_ids: HashMap<Box<[u8]>, u32>,
    stem_vocab: HashMap<Box<[u8]>, u32>,
    raw: Vec<u8>,
    stemmed: Vec<u8>,
    prediction: Vec<u32>,
    reference: Vec<u32>,
    row: Vec<u32>,
}

impl RougeLStemmedScorer {
    pub fn new() -> Self {
        Self::default()
    }

    fn tokenize_ids(&mut self, text: &str, into_reference: bool) {
        let Self {
            stem_ids,
            stem_vocab,
            raw,
            stemmed,
            prediction,
            reference,
            ..
        } = self;
        let out = if into_reference {
            reference
        } else {
            prediction
        };
        out.clear();
        for_each_raw_token(text, raw, |token| {
            let id = match stem_ids.get(token) {
                Some(&id) => id,
                None => {
                    let form: &[u8] = if token.len() > 3 {
                        stem_lower_ascii_into(token, stemmed);
                        stemmed
                    } else {
                        token
                    };
                    let next = stem_vocab.len() as u32;
                    let id = *stem_vocab.entry(form.into()).or_insert(next);
                    stem_ids.insert(token.into(), id);
                    id
                }
            };
            out.push(id);
        });
    }

    /// `RougeScorer(['rougeL'], use_stemmer=True).score(reference, prediction)['rougeL']`.
    pub fn score(&mut self, prediction: &str, reference: &str) -> Score {
        self.tokenize_ids(prediction, false);
        self.score_against(reference)
    }

    fn score_against(&mut self, reference: &str) -> Score {
        self.tokenize_ids(reference, true);
        let lcs = lcs_len(&self.prediction, &self.reference, &mut self.row);
        score_from_lcs(lcs, self.prediction.len(), self.reference.len())
    }

    /// Best rougeL F over the references; 0 when there are none (SuperNI itself would raise).
    pub fn max_fmeasure<S: AsRef<str>>(&mut self, prediction: &str, references: &[S]) -> f64 {
        self.tokenize_ids(prediction, false);
        references
            .iter()
            .map(|r| self.score_against(r.as_ref()).fmeasure)
            .fold(0.0, f64::max)
    }
}

/// rougeL of one pair (`rouge-score` argument order is target first; ours is prediction first).
pub fn rouge_l_stemmed_pair(prediction: &str, reference: &str) -> Score {
    RougeLStemmedScorer::new().score(prediction, reference)
}

/// SuperNI's per-instance `rougeL`: max F over the references, on the 0–1 scale (SuperNI's
/// `compute_metrics` multiplies the corpus mean by 100). No references → 0.
pub fn rouge_l_stemmed<S: AsRef<str>>(prediction: &str, references: &[S]) -> f64 {
    RougeLStemmedScorer::new().max_fmeasure(prediction, references)
}

/// SuperNI's corpus `rougeL` ÷ 100: the mean over instances of the per-instance max F, on the 0–1
/// scale (multiply by 100 for the number SuperNI reports). An empty corpus → 0.
pub fn rouge_l_stemmed_corpus<P: AsRef<str>, R: AsRef<str>>(pairs: &[(P, Vec<R>)]) -> f64 {
    if pairs.is_empty() {
        return 0.0;
    }
    let mut scorer = RougeLStemmedScorer::new();
    let total: f64 = pairs
        .iter()
        .map(|(p, refs)| scorer.max_fmeasure(p.as_ref(), refs))
        .sum();
    total / pairs.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_drops_non_ascii_and_stems_long_tokens() {
        assert_eq!(
            tokenize("The cats' café, RUNNING 42x!"),
            ["the", "cat", "caf", "run", "42x"]
        );
        assert_eq!(
            tokenize("北京😀 naïve\nİS \u{212A}ELVIN"),
            ["na", "ve", "i", "s", "kelvin"]
        );
        assert!(tokenize(" \n\t…").is_empty());
    }

    #[test]
    fn lcs_scores_match_hand_computation() {
        let s = rouge_l_stemmed_pair("the cat sat on the mat", "the cat is on a mat");
        // LCS = the cat on mat = 4; P = 4/6, R = 4/6.
        assert!((s.precision - 4.0 / 6.0).abs() < 1e-15);
        assert!((s.fmeasure - 4.0 / 6.0).abs() < 1e-15);
        assert_eq!(rouge_l_stemmed_pair("", "a b").fmeasure, 0.0);
        assert_eq!(rouge_l_stemmed("cats running", &["x", "cat run"]), 1.0);
        assert_eq!(rouge_l_stemmed::<&str>("a", &[]), 0.0);
    }
}
