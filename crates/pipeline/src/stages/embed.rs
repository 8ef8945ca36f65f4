//! Embed stage instances: instruction embeddings (W's point sets), tag embeddings (DBSCAN's points) and, for
//! the Prototype Data baseline, train-instance embeddings (instruction + input).

use super::dataset::{definitions, instances, instructions};
use super::insinfo::read_tags;
use super::base::Init;
use super::PipelineCtx;
use inscl_dag::{Stage, add};
use crate::sections::Encoder;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::tables::write;
use inscl_tables::{InstanceVector, InstructionVector, TagVector};
use inscl_model::encoder::TextEncoder;
use inscl_embed::VectorCache;
use inscl_store::{Outputs, RowCache};

const VERSION: &str = "1";

/// The encoder behind input `role`: MiniLM from its folder, or the mean input embedding of a LLaMA folder.
fn encoder(ctx: &StageCtx, kind: Encoder, role: &str) -> Result<Box<dyn TextEncoder>, PipelineError> {
    let dir = ctx.dir(role)?;
    Ok(match kind {
        Encoder::LlmMean => Box::new(inscl_model::encoder::LlmMean::load(&dir, tch::Device::Cpu)?),
        Encoder::Minilm => Box::new(inscl_model::MiniLm::load(&dir, inscl_model::device::parse_device("auto")?)?),
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
        inscl_store::key_of(&(self.encoder.as_str(), text)).hex()
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

fn embed(ctx: &StageCtx, enc: &dyn TextEncoder, kind: Encoder, ids: &[String], texts: &[String], batch: usize) -> Result<(Vec<f32>, usize), PipelineError> {
    let cache = StoreVectorCache { rows: ctx.store.rows("embed")?, encoder: format!("{}:{}", kind.name(), ctx.content("encoder")?) };
    let bar = ctx.bar(texts.len() as u64, "embedding");
    let progress = |n: usize| bar.inc(n as u64);
    let out = inscl_embed::embed_texts(enc, ids, texts, batch, &cache, &progress)?;
    bar.finish_and_clear();
    Ok(out)
}

/// What an embed instance embeds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
enum Texts {
    /// Every instruction (W's point sets and the instruction-based baselines).
    Instructions,
    /// Every unique normalised tag (DBSCAN's points).
    Tags,
    /// Every train instance as instruction + input (Prototype Data).
    TrainInstances,
}

/// The key of an embed instance: which texts, and the encoder. The batch size is a runtime knob: vectors are
/// cached per text, whatever batch computed them.
#[derive(serde::Serialize)]
struct EmbedParams {
    what: Texts,
    encoder: Encoder,
}

struct Embed {
    params: EmbedParams,
    batch_size: usize,
}

impl Stage for Embed {
    const NAME: &'static str = "embed";
    const VERSION: &'static str = VERSION;
    type Params = EmbedParams;
    type Error = PipelineError;

    fn params(&self) -> &EmbedParams {
        &self.params
    }

    fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let kind = self.params.encoder;
        let enc = encoder(ctx, kind, "encoder")?;
        let embed = |ids: &[String], texts: &[String]| -> Result<Vec<Vec<f32>>, PipelineError> {
            let (data, dim) = embed(ctx, enc.as_ref(), kind, ids, texts, self.batch_size)?;
            Ok(data.chunks(dim.max(1)).map(<[f32]>::to_vec).collect())
        };
        match self.params.what {
            Texts::Instructions => {
                let rows = instructions(ctx.artifact("ingest")?)?;
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
                let out: Vec<InstructionVector> = rows
                    .into_iter()
                    .zip(embed(&ids, &texts)?)
                    .map(|(r, vector)| InstructionVector { instruction_id: r.id, category: r.category, weight: r.weight, vector })
                    .collect();
                Ok(write(Outputs::default(), &out)?.note("encoder", enc.name().to_string()))
            }
            Texts::Tags => {
                let mut tags: Vec<String> = read_tags(ctx, "tags")?.into_values().flatten().collect();
                tags.sort();
                tags.dedup();
                let vectors = embed(&tags, &tags)?;
                let out: Vec<TagVector> = tags.into_iter().zip(vectors).map(|(tag, vector)| TagVector { tag, vector }).collect();
                write(Outputs::default(), &out)
            }
            Texts::TrainInstances => {
                let ingest = ctx.artifact("ingest")?;
                let defs = definitions(ingest)?;
                let rows: Vec<_> = instances(ingest)?.into_iter().filter(|r| r.train()).collect();
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let texts: Vec<String> =
                    rows.iter().map(|r| format!("{}\n\n{}", defs.get(&r.instruction_id).map(String::as_str).unwrap_or(""), r.input)).collect();
                let out: Vec<InstanceVector> = rows
                    .into_iter()
                    .zip(embed(&ids, &texts)?)
                    .map(|(r, vector)| InstanceVector { instance_id: r.id, category: r.category, vector })
                    .collect();
                write(Outputs::default(), &out)
            }
        }
    }
}

fn push(g: &mut Graph, p: &PipelineCtx, what: Texts, encoder: Encoder, inputs: Vec<(String, NodeInput)>) -> usize {
    let id = format!("embed/{}/{}", match what {
        Texts::Instructions => "instructions",
        Texts::Tags => "tags",
        Texts::TrainInstances => "instances",
    }, encoder.name());
    add(g, id, Embed { params: EmbedParams { what, encoder }, batch_size: p.sections.embed.batch_size }, inputs)
}

pub fn push_instructions(g: &mut Graph, p: &PipelineCtx, ingest: usize, base: &Init) -> Result<usize, PipelineError> {
    let kind = p.sections.embed.encoder;
    let enc_input = match kind {
        Encoder::LlmMean => match base {
            Init::Node(n) => NodeInput::Node(*n),
            Init::Source(s) => s.clone(),
        },
        Encoder::Minilm => p.minilm()?,
    };
    Ok(push(g, p, Texts::Instructions, kind, vec![("ingest".into(), NodeInput::Node(ingest)), ("encoder".into(), enc_input)]))
}

pub fn push_tags(g: &mut Graph, p: &PipelineCtx, annotate: usize) -> Result<usize, PipelineError> {
    Ok(push(g, p, Texts::Tags, Encoder::Minilm, vec![("tags".into(), NodeInput::Node(annotate)), ("encoder".into(), p.minilm()?)]))
}

pub fn push_instances(g: &mut Graph, p: &PipelineCtx, ingest: usize) -> Result<usize, PipelineError> {
    let inputs = vec![("ingest".into(), NodeInput::Node(ingest)), ("encoder".into(), p.minilm()?)];
    Ok(push(g, p, Texts::TrainInstances, Encoder::Minilm, inputs))
}
