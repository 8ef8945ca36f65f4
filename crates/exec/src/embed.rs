//! The embed stages computed: instruction embeddings (W's point sets), tag embeddings (DBSCAN's points) and
//! train-instance embeddings (Prototype Data), each vector cached per (encoder content, text) in the store.

use crate::Compute;
use crate::error::ExecError;
use inscl_dag::StageCtx;
use inscl_embed::VectorCache;
use inscl_model::encoder::TextEncoder;
use inscl_pipeline::sections::Encoder;
use inscl_pipeline::stages::dataset::{definitions, instances, instructions};
use inscl_pipeline::stages::embed::{Embed, Texts};
use inscl_pipeline::stages::insinfo::read_tags;
use inscl_pipeline::tables::write;
use inscl_store::{Outputs, RowCache};
use inscl_tables::{InstanceVector, InstructionVector, TagVector};

/// The encoder behind input `role`: MiniLM from its folder, or the mean input embedding of a LLaMA folder.
fn encoder(ctx: &StageCtx, kind: Encoder, role: &str) -> Result<Box<dyn TextEncoder>, ExecError> {
    let dir = ctx.dir(role)?;
    Ok(match kind {
        Encoder::LlmMean => Box::new(inscl_model::encoder::LlmMean::load(&dir, tch::Device::Cpu)?),
        Encoder::Minilm => Box::new(inscl_model::MiniLm::load(&dir, inscl_model::device::parse_device("auto")?)?),
    })
}

/// Vectors in the store's `embed` row cache, keyed by the encoder folder's content hash, the encoder kind and the
/// text, stored as little-endian f32.
pub struct StoreVectorCache {
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

fn embed(ctx: &StageCtx, enc: &dyn TextEncoder, kind: Encoder, ids: &[String], texts: &[String], batch: usize) -> Result<inscl_embed::Embedded, ExecError> {
    let cache = StoreVectorCache { rows: ctx.store.rows("embed")?, encoder: format!("{}:{}", kind.name(), ctx.content("encoder")?) };
    let bar = ctx.bar(texts.len() as u64, "embedding");
    let progress = |n: usize| bar.inc(n as u64);
    let out = inscl_embed::embed_texts(enc, ids, texts, batch, &cache, &progress)?;
    bar.finish_and_clear();
    Ok(out)
}

impl Compute for Embed {
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, ExecError> {
        let kind = self.params.encoder;
        let enc = encoder(ctx, kind, "encoder")?;
        // How much work the vectors took (rows from the cache, distinct token sequences encoded): manifest notes
        // only, the vectors are the same either way.
        let work = std::cell::Cell::new((0usize, 0usize));
        let embed = |ids: &[String], texts: &[String]| -> Result<Vec<Vec<f32>>, ExecError> {
            let out = embed(ctx, enc.as_ref(), kind, ids, texts, self.batch_size)?;
            work.set((out.cached, out.sequences));
            Ok(out.data.chunks(out.dim.max(1)).map(<[f32]>::to_vec).collect())
        };
        let noted = |outputs: Outputs| outputs.note("rows_cached", work.get().0).note("sequences_encoded", work.get().1);
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
                Ok(noted(write(Outputs::default(), &out)?).note("encoder", enc.name().to_string()))
            }
            Texts::Tags => {
                let mut tags: Vec<String> = read_tags(ctx, "tags")?.into_values().flatten().collect();
                tags.sort();
                tags.dedup();
                let vectors = embed(&tags, &tags)?;
                let out: Vec<TagVector> = tags.into_iter().zip(vectors).map(|(tag, vector)| TagVector { tag, vector }).collect();
                Ok(noted(write(Outputs::default(), &out)?))
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
                Ok(noted(write(Outputs::default(), &out)?))
            }
        }
    }
}
