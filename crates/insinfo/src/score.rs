//! Steps two and three of InsInfo: the score of each instruction and its share of its category.
//!
//! After the tag merge, `InsInfo(c) = Σ_t ln(N / f_t)` over the merged, de-duplicated tags `t` of
//! instruction `c`, where `N` is the number of instructions in the pool and `f_t` the number of pool
//! instructions carrying `t`: rare intentions carry more information. Within each category the scores
//! are then normalised to sum to one (`share`), the fraction of that category's replay budget the
//! instruction's quota is drawn from; a category whose scores are all zero gets uniform shares.

use std::collections::HashMap;

use crate::error::InsInfoError;
use crate::merge::{InsInfoParams, TagMerge, merge_tags};

/// One instruction of the pool of stage `i`: an instruction of one of the categories `order[0..=i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolInstruction {
    pub instruction_id: String,
    pub category: String,
    /// Normalised intention tags, as the annotate stage wrote them.
    pub tags: Vec<String>,
}

/// An instruction's InsInfo and its share of its category.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredInstruction {
    pub instruction_id: String,
    pub category: String,
    /// The instruction's tags after the merge, de-duplicated, in order of first occurrence.
    pub merged_tags: Vec<String>,
    /// `Σ ln(N / f_t)` over `merged_tags`; zero for an instruction without tags.
    pub score: f64,
    /// `score` divided by the sum of the scores of the instruction's category (uniform if that sum is 0).
    pub share: f64,
}

/// InsInfo of one stage: a score per pool instruction (in pool order) and the merge that led to it.
#[derive(Clone, Debug, PartialEq)]
pub struct InsInfoStage {
    pub scores: Vec<ScoredInstruction>,
    pub merge: TagMerge,
}

/// Computes InsInfo over the pool of one stage.
///
/// Shares are normalised within every category of the pool, the current one included; replay uses
/// only those of the earlier categories. `tag_embeddings` must hold every tag of the pool; unit
/// length is not required, the merge uses cosine distance.
pub fn insinfo_stage(
    pool: &[PoolInstruction],
    tag_embeddings: &HashMap<String, Vec<f32>>,
    params: &InsInfoParams,
) -> Result<InsInfoStage, InsInfoError> {
    check_unique_ids(pool)?;
    let merge = merge_tags(pool, tag_embeddings, params)?;
    let merged: Vec<Vec<String>> = pool.iter().map(|ins| merge.apply(&ins.tags)).collect();
    let scores = insinfo_scores(&merged);
    let categories: Vec<&str> = pool.iter().map(|ins| ins.category.as_str()).collect();
    let shares = category_shares(&categories, &scores);
    let scores = pool
        .iter()
        .zip(merged)
        .zip(scores.iter().zip(&shares))
        .map(|((ins, merged_tags), (&score, &share))| ScoredInstruction {
            instruction_id: ins.instruction_id.clone(),
            category: ins.category.clone(),
            merged_tags,
            score,
            share,
        })
        .collect();
    Ok(InsInfoStage { scores, merge })
}

/// `Σ_t ln(N / f_t)` for each tag list, `N` being the number of lists and `f_t` the number of lists
/// holding `t`. Each list must already be merged and free of repeats.
pub fn insinfo_scores(tag_lists: &[Vec<String>]) -> Vec<f64> {
    let n = tag_lists.len() as f64;
    let mut carriers: HashMap<&str, usize> = HashMap::new();
    for tags in tag_lists {
        for tag in tags {
            *carriers.entry(tag.as_str()).or_insert(0) += 1;
        }
    }
    tag_lists
        .iter()
        .map(|tags| {
            tags.iter()
                .map(|t| (n / carriers[t.as_str()] as f64).ln())
                .sum()
        })
        .collect()
}

/// Each score divided by the total of its category (`categories[k]` is the category of `scores[k]`);
/// a category whose scores sum to zero gets `1 / size` for each of its instructions.
pub fn category_shares(categories: &[&str], scores: &[f64]) -> Vec<f64> {
    let mut totals: HashMap<&str, (f64, usize)> = HashMap::new();
    for (&category, &score) in categories.iter().zip(scores) {
        let entry = totals.entry(category).or_insert((0.0, 0));
        entry.0 += score;
        entry.1 += 1;
    }
    categories
        .iter()
        .zip(scores)
        .map(|(category, &score)| {
            let (total, size) = totals[category];
            if total > 0.0 {
                score / total
            } else {
                1.0 / size as f64
            }
        })
        .collect()
}

fn check_unique_ids(pool: &[PoolInstruction]) -> Result<(), InsInfoError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(pool.len());
    for (row, ins) in pool.iter().enumerate() {
        if let Some(&first) = seen.get(ins.instruction_id.as_str()) {
            return Err(InsInfoError::DuplicateInstruction {
                instruction_id: ins.instruction_id.clone(),
                first,
                second: row,
            });
        }
        seen.insert(&ins.instruction_id, row);
    }
    Ok(())
}
