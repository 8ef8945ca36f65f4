//! InsInfo for InsCL: the instruction-information score that decides how many replay samples each
//! instruction gets. InsInfo first merges near-duplicate intention tags, and that merge is a DBSCAN over
//! the tags' MiniLM embeddings (`eps = 0.1`, `min_samples = 5`, cosine distance).
//!
//! Today this crate holds that clustering step: [`dbscan_cosine`] reproduces scikit-learn's
//! `DBSCAN(eps, min_samples, metric="cosine").fit(X).labels_` for float32 `X` label for label,
//! including cluster numbering and border-point assignment (see the [`dbscan`] module docs for the
//! exact semantics and the parity fixtures that pin them).

pub mod dbscan;

pub use dbscan::{DbscanError, DbscanParams, dbscan_cosine};
