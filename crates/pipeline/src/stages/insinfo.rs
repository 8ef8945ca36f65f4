//! The insinfo stage of stage i of an order: InsInfo of every instruction in the pool of categories
//! order[0..=i] (the current one included, as in the paper's code), after the DBSCAN merge of their tags.

use super::dataset::instructions;
use super::PipelineCtx;
use inscl_dag::add;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::tables::{read, write};
use inscl_tables::{InsInfoRow, MergeRow, TagRow, TagVector};
use inscl_insinfo::{InsInfoParams, PoolInstruction, insinfo_stage};
use inscl_store::Outputs;
use std::collections::{BTreeMap, HashMap};

const VERSION: &str = "1";

/// Every instruction's normalised tags, from the annotate artifact, in tag order.
pub fn read_tags(ctx: &StageCtx, role: &str) -> Result<BTreeMap<String, Vec<String>>, PipelineError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in read::<TagRow>(ctx.artifact(role)?)? {
        if !r.tag_norm.is_empty() {
            out.entry(r.instruction_id).or_default().push(r.tag_norm);
        }
    }
    Ok(out)
}

/// InsInfo over the instructions of an order's first i categories, with DBSCAN's tag merging.
#[derive(serde::Serialize)]
pub struct InsInfoKey {
    order: String,
    pool: Vec<String>,
    eps: f64,
    min_samples: usize,
}

pub struct InsInfo {
    params: InsInfoKey,
}

inscl_dag::impl_stage!(InsInfo, "insinfo", VERSION, InsInfoKey);

impl InsInfo {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let k = &self.params;
        let tags = read_tags(ctx, "tags")?;
        let emb: HashMap<String, Vec<f32>> =
            read::<TagVector>(ctx.artifact("tag_embeddings")?)?.into_iter().map(|r| (r.tag, r.vector)).collect();
        let pool: Vec<PoolInstruction> = instructions(ctx.artifact("ingest")?)?
            .into_iter()
            .filter(|r| k.pool.contains(&r.category))
            .map(|r| PoolInstruction { tags: tags.get(&r.id).cloned().unwrap_or_default(), instruction_id: r.id, category: r.category })
            .collect();
        let stage = insinfo_stage(&pool, &emb, &InsInfoParams { eps: k.eps, min_samples: k.min_samples })?;
        let scores: Vec<InsInfoRow> = stage
            .scores
            .iter()
            .map(|x| InsInfoRow {
                order: k.order.clone(),
                stage: k.pool.len(),
                category: x.category.clone(),
                instruction_id: x.instruction_id.clone(),
                score: x.score,
                share: x.share,
                merged_tags: x.merged_tags.clone(),
            })
            .collect();
        let merges: Vec<MergeRow> = stage
            .merge
            .merged
            .iter()
            .filter(|(a, b)| a != b)
            .map(|(a, b)| MergeRow { tag: a.clone(), merged_into: b.clone() })
            .collect();
        Ok(write(write(Outputs::default(), &scores)?, &merges)?
            .note("clusters", stage.merge.clusters.len())
            .note("noise_tags", stage.merge.noise.len()))
    }
}

pub fn push(g: &mut Graph, p: &PipelineCtx, order: &str, pool: &[String], annotate: usize, tag_emb: usize, ingest: usize) -> usize {
    let params = InsInfoKey { order: order.into(), pool: pool.to_vec(), eps: p.sections.insinfo.eps, min_samples: p.sections.insinfo.min_samples };
    let inputs = vec![
        ("tags".into(), NodeInput::Node(annotate)),
        ("tag_embeddings".into(), NodeInput::Node(tag_emb)),
        ("ingest".into(), NodeInput::Node(ingest)),
    ];
    add(g, format!("insinfo/{order}/{}", pool.len()), InsInfo { params }, inputs)
}
