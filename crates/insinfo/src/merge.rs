//! Step one of InsInfo: merge near-duplicate intention tags.
//!
//! The unique tags of the pool are clustered by [`dbscan_cosine`] over their embeddings
//! (`eps = 0.1`, `min_samples = 5` by default). Inside each cluster every tag becomes the cluster's
//! most frequent tag, frequency being the raw number of occurrences over all pool instructions' tag
//! lists, ties going to the lexicographically smallest tag. Noise tags stay as they are.
//!
//! **Difference from the paper's code.** The released InsCL code loops `for i in range(max(labels))`,
//! which never merges the cluster labelled `max(labels)`, the last one. That reads as an off-by-one,
//! so here **every** cluster is merged; with a single cluster the paper's code merges nothing at all.
//!
//! The unique tags are fed to DBSCAN in lexicographic order. The order matters only for a border tag
//! within reach of two clusters (it joins the lower-numbered one); fixing it makes the merge a
//! function of the pool's *set* of tags, independent of the row order of the pool.

use std::collections::{BTreeMap, HashMap};

use crate::dbscan::{DbscanError, DbscanParams, dbscan_cosine};
use crate::error::InsInfoError;
use crate::score::PoolInstruction;

/// The DBSCAN knobs of the tag merge; the paper uses the defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InsInfoParams {
    /// Largest cosine distance at which two tags are neighbours (inclusive).
    pub eps: f64,
    /// Neighbourhood size, the tag itself included, from which a tag is a core point.
    pub min_samples: usize,
}

impl Default for InsInfoParams {
    fn default() -> Self {
        Self {
            eps: 0.1,
            min_samples: 5,
        }
    }
}

/// One DBSCAN cluster of tags and the tag that replaces all of them.
#[derive(Clone, Debug, PartialEq)]
pub struct TagCluster {
    /// DBSCAN's label (0, 1, …), numbered as scikit-learn numbers them over the sorted unique tags.
    pub label: i64,
    /// The most frequent member; ties go to the lexicographically smallest.
    pub representative: String,
    /// Every member, sorted.
    pub members: Vec<String>,
}

/// The outcome of the tag merge, kept whole so that the merge can be inspected.
#[derive(Clone, Debug, PartialEq)]
pub struct TagMerge {
    /// The clusters in label order.
    pub clusters: Vec<TagCluster>,
    /// Tags DBSCAN labelled noise (sorted); they map to themselves.
    pub noise: Vec<String>,
    /// Raw occurrence count of every unique tag over the pool's tag lists.
    pub frequency: BTreeMap<String, usize>,
    /// Every unique tag of the pool → the tag it is replaced by (itself for noise).
    pub merged: BTreeMap<String, String>,
}

impl TagMerge {
    /// Replaces each tag by its merged tag and drops repeats, keeping first occurrences in order.
    /// Tags unknown to the merge are kept unchanged.
    pub fn apply(&self, tags: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(tags.len());
        for tag in tags {
            let merged = self.merged.get(tag).unwrap_or(tag);
            if !out.contains(merged) {
                out.push(merged.clone());
            }
        }
        out
    }
}

/// Clusters the pool's unique tags and picks each cluster's replacement tag.
pub fn merge_tags(
    pool: &[PoolInstruction],
    tag_embeddings: &HashMap<String, Vec<f32>>,
    params: &InsInfoParams,
) -> Result<TagMerge, InsInfoError> {
    let frequency = count_tags(pool, tag_embeddings)?;
    let tags: Vec<&String> = frequency.keys().collect();
    let (data, dim) = stack_embeddings(&tags, tag_embeddings)?;
    let dbscan = DbscanParams {
        eps: params.eps,
        min_samples: params.min_samples,
    };
    // With no tags there is nothing to cluster, but the parameters are still checked (dim 1 is
    // only a placeholder that divides the empty data).
    let labels = dbscan_cosine(&data, dim.max(1), &dbscan).map_err(|e| name_row(e, &tags))?;

    let n_clusters = labels.iter().copied().max().map_or(0, |m| (m + 1).max(0)) as usize;
    let mut members: Vec<Vec<String>> = vec![Vec::new(); n_clusters];
    let mut noise = Vec::new();
    for (tag, &label) in tags.iter().zip(&labels) {
        match usize::try_from(label) {
            Ok(cluster) => members[cluster].push((*tag).clone()),
            Err(_) => noise.push((*tag).clone()),
        }
    }

    let mut merged: BTreeMap<String, String> =
        noise.iter().map(|t| (t.clone(), t.clone())).collect();
    let mut clusters = Vec::with_capacity(n_clusters);
    for (label, members) in members.into_iter().enumerate() {
        // Members are sorted, so the first of the most frequent is the lexicographically smallest.
        let mut representative = &members[0];
        for tag in &members[1..] {
            if frequency[tag] > frequency[representative] {
                representative = tag;
            }
        }
        let representative = representative.clone();
        for tag in &members {
            merged.insert(tag.clone(), representative.clone());
        }
        clusters.push(TagCluster {
            label: label as i64,
            representative,
            members,
        });
    }
    Ok(TagMerge {
        clusters,
        noise,
        frequency,
        merged,
    })
}

/// Raw tag counts over the pool, checking every tag is non-empty and embedded.
fn count_tags(
    pool: &[PoolInstruction],
    tag_embeddings: &HashMap<String, Vec<f32>>,
) -> Result<BTreeMap<String, usize>, InsInfoError> {
    let mut frequency: BTreeMap<String, usize> = BTreeMap::new();
    for ins in pool {
        for tag in &ins.tags {
            if tag.is_empty() {
                return Err(InsInfoError::EmptyTag {
                    instruction_id: ins.instruction_id.clone(),
                });
            }
            if !tag_embeddings.contains_key(tag) {
                return Err(InsInfoError::MissingEmbedding {
                    instruction_id: ins.instruction_id.clone(),
                    tag: tag.clone(),
                });
            }
            *frequency.entry(tag.clone()).or_insert(0) += 1;
        }
    }
    Ok(frequency)
}

/// The embeddings of `tags`, row-major in the given order, and their common dimension.
fn stack_embeddings(
    tags: &[&String],
    tag_embeddings: &HashMap<String, Vec<f32>>,
) -> Result<(Vec<f32>, usize), InsInfoError> {
    let Some(first) = tags.first() else {
        return Ok((Vec::new(), 0));
    };
    let dim = tag_embeddings[*first].len();
    let mut data = Vec::with_capacity(tags.len() * dim);
    for tag in tags {
        let row = &tag_embeddings[*tag];
        if row.is_empty() {
            return Err(InsInfoError::ZeroDimension {
                tag: (*tag).clone(),
            });
        }
        if row.len() != dim {
            return Err(InsInfoError::DimensionMismatch {
                tag: (*tag).clone(),
                got: row.len(),
                first_tag: (*first).clone(),
                expected: dim,
            });
        }
        data.extend_from_slice(row);
    }
    Ok((data, dim))
}

/// Turns DBSCAN's row numbers into the tags they stand for.
fn name_row(error: DbscanError, tags: &[&String]) -> InsInfoError {
    let row = match error {
        DbscanError::NonFinite { row, .. }
        | DbscanError::ZeroNorm { row, .. }
        | DbscanError::NormOverflow { row } => row,
        other => return InsInfoError::Dbscan(other),
    };
    InsInfoError::TagEmbedding {
        tag: tags[row].clone(),
        source: error,
    }
}
