//! Embed stage instances: instruction embeddings (W's point sets), tag embeddings (DBSCAN's points) and, for
//! the Prototype Data baseline, train-instance embeddings (instruction + input).

use super::dataset::{definitions, instances, instructions};
use super::insinfo::read_tags;
use super::train::Init;
use super::{PipelineCtx, node};
use crate::error::PipelineError;
use crate::graph::{Graph, NodeInput, StageCtx};
use crate::tables::TableBuilder;
use inscl_model::encoder::TextEncoder;
use inscl_embed::VectorCache;
use inscl_store::{Outputs, RowCache};

const VERSION: &str = "1";

/// The encoder behind input `role`: MiniLM from its folder, or the mean input embedding of a LLaMA folder.
fn encoder(ctx: &StageCtx, kind: &str, role: &str) -> Result<Box<dyn TextEncoder>, PipelineError> {
    let err = |e: inscl_model::ModelError| PipelineError::Invalid(format!("embed ({kind}): {e}"));
    let dir = ctx.dir(role)?;
    Ok(match kind {
        "llm-mean" => Box::new(inscl_model::encoder::LlmMean::load(&dir, tch::Device::Cpu).map_err(err)?),
        _ => Box::new(inscl_model::MiniLm::load(&dir, inscl_model::device::parse_device("auto").map_err(err)?).map_err(err)?),
    })
}

/// Vectors in the store's `embed` row cache, keyed by the encoder folder's content hash, the encoder kind and the
/// text, stored as little-endian f32.
struct StoreVectorCache {
    rows: RowCache,
    encoder: String,
}

impl StoreVectorCache {
    fn key(&self, text: &str) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.encoder.as_bytes());
        hasher.update(&[0]);
        hasher.update(text.as_bytes());
        hasher.finalize().to_hex().to_string()
    }
}

impl VectorCache for StoreVectorCache {
    fn get(&self, text: &str) -> Result<Option<Vec<f32>>, String> {
        let bytes = self.rows.get(&self.key(text)).map_err(|e| e.to_string())?;
        Ok(bytes.map(|b| b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
    }

    fn put(&self, text: &str, vector: &[f32]) -> Result<(), String> {
        let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.rows.put(&self.key(text), &bytes).map_err(|e| e.to_string())
    }
}

fn embed(ctx: &StageCtx, enc: &dyn TextEncoder, kind: &str, ids: &[String], texts: &[String], batch: usize) -> Result<(Vec<f32>, usize), PipelineError> {
    let cache = StoreVectorCache { rows: ctx.store.rows("embed")?, encoder: format!("{kind}:{}", ctx.content("encoder")?) };
    let bar = ctx.bar(texts.len() as u64, "embedding");
    let progress = |n: usize| bar.inc(n as u64);
    let out = inscl_embed::embed_texts(enc, ids, texts, batch, &cache, &progress)
        .map_err(|e| PipelineError::Invalid(format!("embed: {e}")))?;
    bar.finish_and_clear();
    Ok(out)
}

pub fn push_instructions(g: &mut Graph, p: &PipelineCtx, ingest: usize, base: &Init) -> Result<usize, PipelineError> {
    let kind = p.sections.embed.encoder.clone();
    let batch = p.sections.embed.batch_size;
    let enc_input = match kind.as_str() {
        "llm-mean" => match base {
            Init::Node(n) => NodeInput::Node(*n),
            Init::Source(s) => s.clone(),
        },
        _ => p.minilm()?,
    };
    Ok(node(
        g,
        format!("embed/instructions/{kind}"),
        "embed",
        VERSION,
        serde_json::json!({ "what": "instructions", "encoder": kind }),
        vec![("ingest".into(), NodeInput::Node(ingest)), ("encoder".into(), enc_input)],
        move |ctx| {
            let rows = instructions(ctx.artifact("ingest")?)?;
            let enc = encoder(ctx, &kind, "encoder")?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
            let (data, dim) = embed(ctx, enc.as_ref(), &kind, &ids, &texts, batch)?;
            let t = TableBuilder::new()
                .str("instruction_id", &ids)
                .str("category", rows.iter().map(|r| &r.category))
                .f64("weight", rows.iter().map(|r| r.weight).collect())
                .embeddings("embedding", &data, dim)
                .finish()?;
            Ok(Outputs::default().table("embeddings", t).note("encoder", enc.name().to_string()))
        },
    ))
}

pub fn push_tags(g: &mut Graph, p: &PipelineCtx, annotate: usize) -> Result<usize, PipelineError> {
    let batch = p.sections.embed.batch_size;
    Ok(node(
        g,
        "embed/tags/minilm".into(),
        "embed",
        VERSION,
        serde_json::json!({ "what": "tags", "encoder": "minilm" }),
        vec![("tags".into(), NodeInput::Node(annotate)), ("encoder".into(), p.minilm()?)],
        move |ctx| {
            let mut tags: Vec<String> = read_tags(ctx, "tags")?.into_values().flatten().collect();
            tags.sort();
            tags.dedup();
            let enc = encoder(ctx, "minilm", "encoder")?;
            let (data, dim) = embed(ctx, enc.as_ref(), "minilm", &tags, &tags, batch)?;
            let t = TableBuilder::new().str("tag", &tags).embeddings("embedding", &data, dim).finish()?;
            Ok(Outputs::default().table("embeddings", t))
        },
    ))
}

pub fn push_instances(g: &mut Graph, p: &PipelineCtx, ingest: usize) -> Result<usize, PipelineError> {
    let batch = p.sections.embed.batch_size;
    Ok(node(
        g,
        "embed/instances/minilm".into(),
        "embed",
        VERSION,
        serde_json::json!({ "what": "train-instances", "encoder": "minilm" }),
        vec![("ingest".into(), NodeInput::Node(ingest)), ("encoder".into(), p.minilm()?)],
        move |ctx| {
            let ingest = ctx.artifact("ingest")?;
            let defs = definitions(ingest)?;
            let rows: Vec<_> = instances(ingest)?.into_iter().filter(|r| r.train).collect();
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let texts: Vec<String> =
                rows.iter().map(|r| format!("{}\n\n{}", defs.get(&r.instruction_id).map(String::as_str).unwrap_or(""), r.input)).collect();
            let enc = encoder(ctx, "minilm", "encoder")?;
            let (data, dim) = embed(ctx, enc.as_ref(), "minilm", &ids, &texts, batch)?;
            let t = TableBuilder::new()
                .str("instance_id", &ids)
                .str("category", rows.iter().map(|r| &r.category))
                .embeddings("embedding", &data, dim)
                .finish()?;
            Ok(Outputs::default().table("embeddings", t))
        },
    ))
}
