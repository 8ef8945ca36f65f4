//! The insinfo stage of stage i of an order: InsInfo of every instruction in the pool of categories
//! order[0..=i] (the current one included, as in the paper's code), after the DBSCAN merge of their tags.

use super::dataset::instructions;
use super::{PipelineCtx, node};
use crate::error::PipelineError;
use crate::graph::{Graph, NodeInput, StageCtx};
use crate::tables::{TableBuilder, embeddings, strings};
use inscl_insinfo::{InsInfoParams, PoolInstruction, insinfo_stage};
use inscl_store::Outputs;
use std::collections::{BTreeMap, HashMap};

const VERSION: &str = "1";

/// Every instruction's normalised tags, from the annotate artifact, in tag order.
pub fn read_tags(ctx: &StageCtx, role: &str) -> Result<BTreeMap<String, Vec<String>>, PipelineError> {
    let t = ctx.artifact(role)?.table("tags")?;
    let (ids, tags) = (strings(&t, "tags", "instruction_id")?, strings(&t, "tags", "tag_norm")?);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, tag) in ids.into_iter().zip(tags) {
        if !tag.is_empty() {
            out.entry(id).or_default().push(tag);
        }
    }
    Ok(out)
}

fn run(ctx: &StageCtx, order: &str, pool_cats: &[String], params: InsInfoParams) -> Result<Outputs, PipelineError> {
    let tags = read_tags(ctx, "tags")?;
    let t = ctx.artifact("tag_embeddings")?.table("embeddings")?;
    let names = strings(&t, "embeddings", "tag")?;
    let (data, dim) = embeddings(&t, "embeddings", "embedding")?;
    let emb: HashMap<String, Vec<f32>> =
        names.into_iter().enumerate().map(|(i, n)| (n, data[i * dim..(i + 1) * dim].to_vec())).collect();
    let pool: Vec<PoolInstruction> = instructions(ctx.artifact("ingest")?)?
        .into_iter()
        .filter(|r| pool_cats.contains(&r.category))
        .map(|r| PoolInstruction { tags: tags.get(&r.id).cloned().unwrap_or_default(), instruction_id: r.id, category: r.category })
        .collect();
    let stage = insinfo_stage(&pool, &emb, &params).map_err(|e| PipelineError::Invalid(format!("insinfo {order}: {e}")))?;
    let s = &stage.scores;
    let n = s.len();
    let table = TableBuilder::new()
        .str("order", std::iter::repeat_n(order, n))
        .i64("stage", vec![pool_cats.len() as i64; n])
        .str("category", s.iter().map(|x| &x.category))
        .str("instruction_id", s.iter().map(|x| &x.instruction_id))
        .f64("score", s.iter().map(|x| x.score).collect())
        .f64("share", s.iter().map(|x| x.share).collect())
        .str_lists("merged_tags", &s.iter().map(|x| x.merged_tags.clone()).collect::<Vec<_>>())
        .finish()?;
    let merged: Vec<(String, String)> = stage.merge.merged.iter().filter(|(a, b)| a != b).map(|(a, b)| (a.clone(), b.clone())).collect();
    let clusters = TableBuilder::new()
        .str("tag", merged.iter().map(|m| &m.0))
        .str("merged_into", merged.iter().map(|m| &m.1))
        .finish()?;
    Ok(Outputs::default()
        .table("insinfo", table)
        .table("merges", clusters)
        .note("clusters", stage.merge.clusters.len())
        .note("noise_tags", stage.merge.noise.len()))
}

pub fn push(g: &mut Graph, p: &PipelineCtx, order: &str, pool: &[String], annotate: usize, tag_emb: usize, ingest: usize) -> usize {
    let params = InsInfoParams { eps: p.sections.insinfo.eps, min_samples: p.sections.insinfo.min_samples };
    let (order_s, pool_v) = (order.to_string(), pool.to_vec());
    node(
        g,
        format!("insinfo/{order}/{}", pool.len()),
        "insinfo",
        VERSION,
        serde_json::json!({ "order": order, "pool": pool, "eps": params.eps, "min_samples": params.min_samples }),
        vec![
            ("tags".into(), NodeInput::Node(annotate)),
            ("tag_embeddings".into(), NodeInput::Node(tag_emb)),
            ("ingest".into(), NodeInput::Node(ingest)),
        ],
        move |ctx| run(ctx, &order_s, &pool_v, params),
    )
}
