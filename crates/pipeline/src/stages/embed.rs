//! Embed stage instances: instruction embeddings (W's point sets), tag embeddings (DBSCAN's points) and, for
//! the Prototype Data baseline, train-instance embeddings (instruction + input). The executor computes them.

use super::base::Init;
use super::PipelineCtx;
use inscl_dag::add;
use crate::sections::Encoder;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput};

const VERSION: &str = "1";

/// What an embed instance embeds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Texts {
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
pub struct EmbedParams {
    pub what: Texts,
    pub encoder: Encoder,
}

/// Embeds the texts of `what` (run by the executor, which links the encoders).
pub struct Embed {
    pub params: EmbedParams,
    pub batch_size: usize,
}

inscl_dag::impl_stage!(Embed, "embed", VERSION, EmbedParams);

/// `tag`: the replicate's id part when the vectors depend on its seed (the LLM-mean of a tiny base model).
fn push(g: &mut Graph, p: &PipelineCtx, what: Texts, encoder: Encoder, tag: &str, inputs: Vec<(String, NodeInput)>) -> usize {
    let id = format!("embed/{tag}{}/{}", match what {
        Texts::Instructions => "instructions",
        Texts::Tags => "tags",
        Texts::TrainInstances => "instances",
    }, encoder.name());
    add(g, id, Embed { params: EmbedParams { what, encoder }, batch_size: p.sections.embed.batch_size }, inputs)
}

/// Embeds ingest's texts of `what` with `kind`: through the base model (whose tiny init depends on the replicate's
/// seed, hence the id tag) or MiniLM.
fn push_ingest_texts(g: &mut Graph, p: &PipelineCtx, what: Texts, kind: Encoder, ingest: usize, base: &Init) -> Result<usize, PipelineError> {
    let (enc_input, tag) = match kind {
        Encoder::LlmMean => (base.input(), p.base_tag()),
        Encoder::Minilm => (p.minilm()?, ""),
    };
    Ok(push(g, p, what, kind, tag, vec![("ingest".into(), NodeInput::Node(ingest)), ("encoder".into(), enc_input)]))
}

pub fn push_instructions(g: &mut Graph, p: &PipelineCtx, ingest: usize, base: &Init) -> Result<usize, PipelineError> {
    push_ingest_texts(g, p, Texts::Instructions, p.sections.embed.encoder, ingest, base)
}

pub fn push_tags(g: &mut Graph, p: &PipelineCtx, annotate: usize) -> Result<usize, PipelineError> {
    Ok(push(g, p, Texts::Tags, Encoder::Minilm, "", vec![("tags".into(), NodeInput::Node(annotate)), ("encoder".into(), p.minilm()?)]))
}

pub fn push_instances(g: &mut Graph, p: &PipelineCtx, ingest: usize, base: &Init) -> Result<usize, PipelineError> {
    push_ingest_texts(g, p, Texts::TrainInstances, p.sections.embed.instance_encoder, ingest, base)
}
