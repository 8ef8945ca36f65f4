//! The base model of a pipeline: a tiny random-initialised LLaMA with its own BPE tokenizer, a Hugging Face
//! folder, or a GGUF converted to one. A checkpoint artifact is a Hugging Face folder (config.json,
//! model.safetensors, tokenizer.json) that the model crate and Python `transformers` both load.

use super::{PipelineCtx, model_tree};
use inscl_dag::add;
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::sections::ModelSection;
use inscl_store::{Outputs, SourceTree};
use std::sync::Arc;

const TOKENIZER_VERSION: &str = "1";
const INIT_VERSION: &str = "2";
const CONVERT_VERSION: &str = "1";

/// Where a stage's starting weights come from.
#[derive(Clone)]
pub enum Init {
    Node(usize),
    Source(NodeInput),
}

impl Init {
    pub fn input(&self) -> NodeInput {
        match self {
            Init::Node(n) => NodeInput::Node(*n),
            Init::Source(s) => s.clone(),
        }
    }
}

/// A byte-level BPE trained on the dataset's train texts, for the tiny model.
#[derive(serde::Serialize)]
pub struct TokenizerParams {
    pub kind: &'static str,
    pub vocab_size: usize,
}

/// Trains the tiny model's tokenizer (run by the executor, which links the tokenizer trainer).
pub struct Tokenizer {
    pub params: TokenizerParams,
}

inscl_dag::impl_stage!(Tokenizer, "tokenizer", TOKENIZER_VERSION, TokenizerParams);

/// The tiny LLaMA, random-initialised from `init_seed` with the `[model]` shape (run by the executor).
pub struct Init0 {
    pub params: ModelSection,
}

inscl_dag::impl_stage!(Init0, "init", INIT_VERSION, ModelSection);

/// A llama.cpp GGUF converted to an f32 Hugging Face folder, streamed into the artifact's staging folder.
#[derive(serde::Serialize)]
pub struct ConvertParams {
    pub file: String,
    pub dtype: &'static str,
}

pub struct Convert {
    pub params: ConvertParams,
}

inscl_dag::impl_stage!(Convert, "convert", CONVERT_VERSION, ConvertParams);

impl Convert {
    pub fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let path = ctx.source("gguf")?.root.join(&self.params.file);
        // The f32 model never sits in memory whole.
        let names = inscl_gguf::convert_to_dir(&path, inscl_gguf::DType::F32, ctx.output_dir(), |_, _| {})
            .map_err(|source| PipelineError::Convert { path: path.clone(), source })?;
        Ok(names.into_iter().fold(Outputs::default(), |o, name| o.staged_file(name)))
    }
}

/// The base model of the pipeline's `[model] base`: the tiny model, a GGUF converted once, or a Hugging Face
/// folder used in place (entering keys by its files' content).
pub fn push_base(g: &mut Graph, p: &PipelineCtx, ingest: usize) -> Result<Init, PipelineError> {
    let m = p.sections.model.clone();
    let Some(path) = m.base_path(&p.base_dir) else {
        let tok = Tokenizer { params: TokenizerParams { kind: "byte-level-bpe", vocab_size: m.vocab_size } };
        let tok = add(g, "tokenizer".into(), tok, vec![("ingest".into(), NodeInput::Node(ingest))]);
        let init = add(g, format!("base/{}tiny", p.tag), Init0 { params: m }, vec![("tokenizer".into(), NodeInput::Node(tok))]);
        return Ok(Init::Node(init));
    };
    if path.extension().is_some_and(|e| e == "gguf") {
        let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        let dir = path.parent().unwrap_or(std::path::Path::new(".")).to_path_buf();
        let wanted = file.clone();
        let tree = Arc::new(SourceTree::scan(&dir, move |rel: &str| rel == wanted, &p.hashes)?);
        if tree.files.is_empty() {
            return Err(PipelineError::Input(format!("{}: no such GGUF file", path.display())));
        }
        let stage = Convert { params: ConvertParams { file: file.clone(), dtype: "f32" } };
        return Ok(Init::Node(add(g, format!("base/{file}"), stage, vec![("gguf".into(), NodeInput::Source(tree))])));
    }
    Ok(Init::Source(NodeInput::Source(Arc::new(model_tree(&path, &p.hashes)?))))
}
