//! Rouge-L replicating `rouge_metric==1.0.1` `PyRouge` defaults exactly:
//! sentences = `text.split('\n')`, tokens = Python `str.split()`, summary-level
//! union-LCS, `multi_ref_mode='average'` (match counts *summed* over references
//! before dividing), `alpha=0.5`, corpus = mean P, mean R, then F of the means.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prf {
    pub p: f64,
    pub r: f64,
    pub f: f64,
}

/// Python's `str.split()` also treats U+001C..U+001F as whitespace; Rust does not.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// rouge_metric's `isclose(x, 0)` uses rel_tol only, so it is an exact-zero test.
fn f_score(p: f64, r: f64) -> f64 {
    if p == 0.0 || r == 0.0 { 0.0 } else { r * p / (0.5 * r + 0.5 * p) }
}

fn div0(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

#[derive(Default)]
struct Scratch<'a> {
    vocab: HashMap<&'a str, u32>,
    table: Vec<u32>,
    hyp_count: Vec<i64>,
    union: Vec<bool>,
}

type Doc = Vec<Vec<u32>>;

impl<'a> Scratch<'a> {
    fn doc(&mut self, text: &'a str) -> Doc {
        text.split('\n')
            .map(|s| {
                s.split(is_py_space)
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        let n = self.vocab.len() as u32;
                        *self.vocab.entry(t).or_insert(n)
                    })
                    .collect()
            })
            .collect()
    }

    /// Marks ref positions on the LCS path; the full table is needed (not a rolling
    /// row) because the backtrack's tie-breaking decides which ref tokens count.
    fn mark_lcs(&mut self, a: &[u32], b: &[u32]) {
        let (m, n) = (a.len(), b.len());
        let w = n + 1;
        self.table.clear();
        self.table.resize((m + 1) * w, 0);
        let t = &mut self.table;
        for i in 1..=m {
            for j in 1..=n {
                t[i * w + j] = if a[i - 1] == b[j - 1] {
                    t[(i - 1) * w + j - 1] + 1
                } else {
                    t[(i - 1) * w + j].max(t[i * w + j - 1])
                };
            }
        }
        let (mut i, mut j) = (m, n);
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                i -= 1;
                j -= 1;
                self.union[j] = true;
            } else if t[i * w + j] == t[i * w + j - 1] {
                j -= 1;
            } else {
                i -= 1;
            }
        }
    }

    /// Returns (matches, hyp_len, ref_len) of `_rouge_l_summary_level`.
    fn summary_level(&mut self, hyps: &Doc, refs: &Doc) -> (u64, u64, u64) {
        self.hyp_count.clear();
        self.hyp_count.resize(self.vocab.len(), 0);
        for &t in hyps.iter().flatten() {
            self.hyp_count[t as usize] += 1;
        }
        let mut matches = 0;
        for r in refs {
            self.union.clear();
            self.union.resize(r.len(), false);
            for h in hyps {
                self.mark_lcs(h, r);
            }
            // Python iterates a set of indices; order is irrelevant to the count.
            for (k, &hit) in self.union.iter().enumerate() {
                let c = &mut self.hyp_count[r[k] as usize];
                if hit && *c > 0 {
                    *c -= 1;
                    matches += 1;
                }
            }
        }
        let hl = hyps.iter().map(|s| s.len() as u64).sum();
        let rl = refs.iter().map(|s| s.len() as u64).sum();
        (matches, hl, rl)
    }

    fn instance(&mut self, prediction: &'a str, references: &'a [String]) -> Prf {
        // Per-instance ids keep `hyp_count` sized to this instance, not the corpus.
        self.vocab.clear();
        let hyp = self.doc(prediction);
        let refs: Vec<Doc> = references.iter().map(|r| self.doc(r)).collect();
        let (mut m, mut h, mut r) = (0u64, 0u64, 0u64);
        for rd in &refs {
            let (a, b, c) = self.summary_level(&hyp, rd);
            m += a;
            h += b;
            r += c;
        }
        let p = div0(m as f64, h as f64);
        let r = div0(m as f64, r as f64);
        Prf { p, r, f: f_score(p, r) }
    }
}

/// rouge_metric semantics for one instance, `multi_ref_mode='average'`: matches,
/// hypothesis and reference lengths are summed over references, then divided.
pub fn rouge_l_instance(prediction: &str, references: &[String]) -> Prf {
    Scratch::default().instance(prediction, references)
}

/// rouge_metric `evaluate(...)` with `mode='average'`: mean P, mean R, F of means.
pub fn rouge_l_corpus(pairs: &[(String, Vec<String>)]) -> Prf {
    if pairs.is_empty() {
        return Prf::default();
    }
    let mut s = Scratch::default();
    let (mut tp, mut tr) = (0.0, 0.0);
    for (pred, refs) in pairs {
        let x = s.instance(pred, refs);
        tp += x.p;
        tr += x.r;
    }
    let n = pairs.len() as f64;
    let (p, r) = (tp / n, tr / n);
    Prf { p, r, f: f_score(p, r) }
}
