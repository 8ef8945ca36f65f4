//! The annotate stage instance: intention tags for every instruction, through the tagger of `[annotate]`,
//! keyed by what decides the tags (the executor computes it, over the model crate).

use super::{PipelineCtx, model_tree};
use inscl_dag::add;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput};
use crate::sections::{AnnotateSection, Tagger};
use inscl_store::SourceTree;
use std::sync::Arc;

const VERSION: &str = "1";

/// What decides the tags of an instruction (the request concurrency does not).
#[derive(serde::Serialize)]
pub struct AnnotateParams {
    pub tagger: Tagger,
    pub min_tags: usize,
    pub max_tags: usize,
    pub diversity: f32,
    pub model: Option<String>,
    pub api_base: Option<String>,
    pub max_new_tokens: usize,
    /// The openai tagger's failure policy; absent for the other taggers (so their keys did not change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<inscl_annotate::OnFailure>,
    /// The openai tagger's reply cap (sent since the requests carry `max_tokens`, so openai keys cut before that
    /// differ from today's); absent for the other taggers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<usize>,
}

/// Tags every instruction (run by the executor, which links the models behind the taggers).
pub struct Annotate {
    pub params: AnnotateParams,
    /// The whole section, for the runtime knob (`concurrency`) the key leaves out.
    pub section: AnnotateSection,
}

inscl_dag::impl_stage!(Annotate, "annotate", VERSION, AnnotateParams);

pub fn push(g: &mut Graph, p: &PipelineCtx, ingest: usize) -> Result<usize, PipelineError> {
    let a = p.sections.annotate.clone();
    let wordnet = a.wordnet_path(&p.base_dir, &p.pipeline.models);
    if !wordnet.is_dir() {
        return Err(PipelineError::Input(format!(
            "{}: no WordNet tables for tag lemmatisation; run `make setup`",
            wordnet.display()
        )));
    }
    let mut inputs = vec![
        ("ingest".into(), NodeInput::Node(ingest)),
        ("wordnet".into(), NodeInput::Source(Arc::new(SourceTree::scan(&wordnet, |_| true, &p.hashes)?))),
    ];
    if a.tagger != Tagger::Openai || a.on_failure == inscl_annotate::OnFailure::Keyphrase {
        inputs.push(("encoder".into(), p.minilm()?));
    }
    if a.tagger == Tagger::Local {
        let dir = a.local_model_path(&p.base_dir, &p.pipeline.models);
        inputs.push(("chat_model".into(), NodeInput::Source(Arc::new(model_tree(&dir, &p.hashes)?))));
    }
    let params = AnnotateParams {
        tagger: a.tagger,
        min_tags: a.min_tags,
        max_tags: a.max_tags,
        diversity: a.diversity,
        model: a.model.clone(),
        api_base: a.api_base.clone(),
        max_new_tokens: a.max_new_tokens,
        on_failure: (a.tagger == Tagger::Openai).then_some(a.on_failure),
        max_tokens: (a.tagger == Tagger::Openai).then(|| a.openai_max_tokens()),
    };
    Ok(add(g, format!("annotate/{}", a.tagger.name()), Annotate { params, section: a }, inputs))
}
