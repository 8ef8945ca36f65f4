//! InsInfo for InsCL: the instruction-information score that decides which earlier instructions are
//! replayed, and how many instances each one gets.
//!
//! For stage `i` of a task order the pool is every instruction of the categories `order[0..=i]`,
//! each with its intention tags. InsInfo then
//!
//! 1. merges near-duplicate tags ([`merge_tags`]): a DBSCAN over the tags' embeddings (`eps = 0.1`,
//!    `min_samples = 5`, cosine distance) and, inside each cluster, every tag replaced by the most
//!    frequent one (all clusters, unlike the paper's code, which skips the last; see [`merge`]);
//! 2. scores each instruction ([`insinfo_scores`]): `InsInfo(c) = Σ_t ln(N / f_t)` over its merged
//!    tags, `N` the pool size and `f_t` the number of pool instructions carrying `t`;
//! 3. normalises the scores within each category ([`category_shares`]) into the shares the sample
//!    stage turns into per-instruction replay quotas.
//!
//! [`insinfo_stage`] runs all three. The clustering step, [`dbscan_cosine`], reproduces
//! scikit-learn's `DBSCAN(eps, min_samples, metric="cosine").fit(X).labels_` for float32 `X` label
//! for label, including cluster numbering and border-point assignment (see the [`dbscan`] module docs
//! for the exact semantics and the parity fixtures that pin them).

pub mod dbscan;
mod error;
pub mod merge;
pub mod score;

pub use dbscan::{DbscanError, DbscanParams, dbscan_cosine};
pub use error::InsInfoError;
pub use merge::{InsInfoParams, TagCluster, TagMerge, merge_tags};
pub use score::{
    InsInfoStage, PoolInstruction, ScoredInstruction, category_shares, insinfo_scores,
    insinfo_stage,
};
