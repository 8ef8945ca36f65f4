//! Scores generations with Rouge-L as the InsCL paper does (`rouge_metric==1.0.1`,
//! `PyRouge(rouge_l=True)`). Today this crate holds the metric only.

pub mod rouge;

pub use rouge::{Prf, rouge_l_corpus, rouge_l_instance};
