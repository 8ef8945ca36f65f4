//! InsInfo on hand-built pools whose merges, scores and shares are computed by hand.
//!
//! Tags meant to cluster share one embedding exactly (cosine distance 0), five of them so that each
//! is a core point for `min_samples = 5`; tags meant to be noise point elsewhere in groups under five.

use std::collections::HashMap;

use inscl_insinfo::{
    DbscanError, InsInfoError, InsInfoParams, PoolInstruction, category_shares, insinfo_scores,
    insinfo_stage, merge_tags,
};

fn axis(k: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; 4];
    v[k] = 2.0; // deliberately not unit length: the merge must use cosine
    v
}

fn ins(id: &str, category: &str, tags: &[&str]) -> PoolInstruction {
    PoolInstruction {
        instruction_id: id.into(),
        category: category.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

fn strings(tags: &[&str]) -> Vec<String> {
    tags.iter().map(|t| t.to_string()).collect()
}

/// Cluster A = a1..a5 on axis 0, cluster B = b1..b5 on axis 1 (label 1, the last cluster),
/// noise: y1, y2 on axis 2 and z on axis 3.
fn two_cluster_embeddings() -> HashMap<String, Vec<f32>> {
    let mut e = HashMap::new();
    for i in 1..=5 {
        e.insert(format!("a{i}"), axis(0));
        e.insert(format!("b{i}"), axis(1));
    }
    e.insert("y1".into(), axis(2));
    e.insert("y2".into(), axis(2));
    e.insert("z".into(), axis(3));
    e
}

/// Frequencies: a3 = 3 (the rest of A once), b2 = b4 = 2 (tie → b2), y1 = y2 = z = 1.
fn two_cluster_pool() -> Vec<PoolInstruction> {
    vec![
        ins("I1", "X", &["a1", "a3", "b2"]),
        ins("I2", "X", &["a3", "a5", "z"]),
        ins("I3", "X", &["a3", "b4", "y1"]),
        ins("I4", "Y", &["a2", "a4", "b1", "b2"]),
        ins("I5", "Y", &["b3", "b4", "b5", "y2"]),
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn merge_picks_most_frequent_with_lexicographic_ties_and_keeps_noise() {
    let merge = merge_tags(
        &two_cluster_pool(),
        &two_cluster_embeddings(),
        &InsInfoParams::default(),
    )
    .unwrap();
    assert_eq!(merge.clusters.len(), 2);
    assert_eq!(merge.clusters[0].label, 0);
    assert_eq!(merge.clusters[0].representative, "a3");
    assert_eq!(
        merge.clusters[0].members,
        strings(&["a1", "a2", "a3", "a4", "a5"])
    );
    // The last cluster is merged too (the paper's `range(max(labels))` would skip it).
    assert_eq!(merge.clusters[1].label, 1);
    assert_eq!(merge.clusters[1].representative, "b2");
    assert_eq!(merge.noise, strings(&["y1", "y2", "z"]));
    assert_eq!(merge.merged["a5"], "a3");
    assert_eq!(merge.merged["b4"], "b2");
    assert_eq!(merge.merged["b5"], "b2");
    assert_eq!(merge.merged["y2"], "y2");
    assert_eq!(merge.frequency["a3"], 3);
    assert_eq!(merge.frequency["b4"], 2);
}

#[test]
fn scores_and_shares_match_hand_computation() {
    let stage = insinfo_stage(
        &two_cluster_pool(),
        &two_cluster_embeddings(),
        &InsInfoParams::default(),
    )
    .unwrap();
    let merged: Vec<Vec<String>> = stage.scores.iter().map(|s| s.merged_tags.clone()).collect();
    assert_eq!(
        merged,
        vec![
            strings(&["a3", "b2"]),
            strings(&["a3", "z"]),
            strings(&["a3", "b2", "y1"]),
            strings(&["a3", "b2"]),
            strings(&["b2", "y2"]),
        ]
    );
    // N = 5; a3 and b2 are each carried by 4 instructions, y1, y2, z by one.
    let l = (5.0f64 / 4.0).ln();
    let l5 = 5.0f64.ln();
    let want = [2.0 * l, l + l5, 2.0 * l + l5, 2.0 * l, l + l5];
    let x_total = 5.0 * l + 2.0 * l5;
    let y_total = 3.0 * l + l5;
    let want_share = [
        2.0 * l / x_total,
        (l + l5) / x_total,
        (2.0 * l + l5) / x_total,
        2.0 * l / y_total,
        (l + l5) / y_total,
    ];
    for (k, s) in stage.scores.iter().enumerate() {
        assert!(
            close(s.score, want[k]),
            "score {k}: {} vs {}",
            s.score,
            want[k]
        );
        assert!(
            close(s.share, want_share[k]),
            "share {k}: {} vs {}",
            s.share,
            want_share[k]
        );
    }
    assert_eq!(stage.scores[3].instruction_id, "I4");
    assert_eq!(stage.scores[3].category, "Y");
}

#[test]
fn a_single_cluster_is_merged() {
    let mut e = HashMap::new();
    for t in ["c1", "c2", "c3", "c4", "c5"] {
        e.insert(t.to_string(), axis(0));
    }
    // c5 occurs three times in one list: raw counts make it the most frequent although one instruction
    // carries it, while c1 is carried by two.
    let pool = vec![
        ins("I1", "X", &["c5", "c5", "c5"]),
        ins("I2", "X", &["c1", "c2"]),
        ins("I3", "X", &["c1", "c3", "c4"]),
    ];
    let stage = insinfo_stage(&pool, &e, &InsInfoParams::default()).unwrap();
    assert_eq!(stage.merge.clusters.len(), 1);
    assert_eq!(stage.merge.clusters[0].representative, "c5");
    for s in &stage.scores {
        assert_eq!(s.merged_tags, strings(&["c5"]));
        assert_eq!(s.score, 0.0); // ln(3/3)
    }
}

#[test]
fn all_zero_scores_give_uniform_shares() {
    let mut e = HashMap::new();
    e.insert("t".to_string(), axis(0));
    e.insert("u".to_string(), axis(1));
    let pool = vec![
        ins("I1", "X", &["t"]),
        ins("I2", "X", &["t", "t"]),
        ins("I3", "X", &["t"]),
        ins("I4", "Y", &["t", "u"]),
    ];
    let stage = insinfo_stage(&pool, &e, &InsInfoParams::default()).unwrap();
    let scores: Vec<f64> = stage.scores.iter().map(|s| s.score).collect();
    assert_eq!(scores[..3], [0.0, 0.0, 0.0]);
    assert!(close(scores[3], 4.0f64.ln()), "{}", scores[3]);
    let shares: Vec<f64> = stage.scores.iter().map(|s| s.share).collect();
    assert_eq!(shares, vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0]);
    assert_eq!(stage.scores[1].merged_tags, strings(&["t"]));
}

#[test]
fn score_and_share_functions_directly() {
    let lists = vec![
        strings(&["p", "q"]),
        strings(&["p"]),
        strings(&[]),
        strings(&["r"]),
    ];
    let s = insinfo_scores(&lists);
    let want = [2f64.ln() + 4f64.ln(), 2f64.ln(), 0.0, 4f64.ln()];
    for k in 0..4 {
        assert!(close(s[k], want[k]), "{k}: {} vs {}", s[k], want[k]);
    }
    let shares = category_shares(&["A", "B", "A", "B"], &[1.0, 3.0, 3.0, 1.0]);
    assert_eq!(shares, vec![0.25, 0.75, 0.75, 0.25]);
}

#[test]
fn merge_does_not_depend_on_pool_row_order() {
    let pool = two_cluster_pool();
    let mut reversed = pool.clone();
    reversed.reverse();
    let params = InsInfoParams::default();
    let e = two_cluster_embeddings();
    assert_eq!(
        merge_tags(&pool, &e, &params).unwrap(),
        merge_tags(&reversed, &e, &params).unwrap()
    );
}

#[test]
fn bad_input_is_named() {
    let e = two_cluster_embeddings();
    let params = InsInfoParams::default();
    let err = insinfo_stage(&[ins("I9", "X", &["nope"])], &e, &params).unwrap_err();
    assert_eq!(
        err,
        InsInfoError::MissingEmbedding {
            instruction_id: "I9".into(),
            tag: "nope".into()
        }
    );
    let dup = [
        ins("I1", "X", &[]),
        ins("I2", "X", &[]),
        ins("I1", "Y", &[]),
    ];
    assert!(matches!(
        insinfo_stage(&dup, &e, &params).unwrap_err(),
        InsInfoError::DuplicateInstruction {
            first: 0,
            second: 2,
            ..
        }
    ));
    let mut zero = e.clone();
    zero.insert("z".into(), vec![0.0; 4]);
    let err = insinfo_stage(&two_cluster_pool(), &zero, &params).unwrap_err();
    assert!(
        matches!(&err, InsInfoError::TagEmbedding { tag, source: DbscanError::ZeroNorm { .. } } if tag == "z"),
        "{err}"
    );
    let mut short = e.clone();
    short.insert("y1".into(), vec![1.0; 3]);
    assert!(matches!(
        insinfo_stage(&two_cluster_pool(), &short, &params).unwrap_err(),
        InsInfoError::DimensionMismatch {
            got: 3,
            expected: 4,
            ..
        }
    ));
    let bad_eps = InsInfoParams {
        eps: 0.0,
        min_samples: 5,
    };
    assert_eq!(
        insinfo_stage(&[ins("I1", "X", &[])], &e, &bad_eps).unwrap_err(),
        InsInfoError::Dbscan(DbscanError::EpsOutOfRange(0.0))
    );
    let empty_tag = insinfo_stage(&[ins("I1", "X", &[""])], &e, &params).unwrap_err();
    assert_eq!(
        empty_tag,
        InsInfoError::EmptyTag {
            instruction_id: "I1".into()
        }
    );
}
