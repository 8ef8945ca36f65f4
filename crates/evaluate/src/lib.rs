//! Scores generations with Rouge-L as the InsCL paper does (`rouge_metric==1.0.1`,
//! `PyRouge(rouge_l=True)`), plus SuperNI's standard `rougeL` (google `rouge-score`, stemmed), and reduces the
//! R matrix to the paper's Relative Gain, forgetting, BWT and AP.

pub mod metrics;
pub mod porter;
pub mod rouge;
pub mod rouge_score;

pub use rouge::{Prf, rouge_l_corpus, rouge_l_instance};
