//! The base model of a pipeline: a tiny random-initialised LLaMA with its own BPE tokenizer, a Hugging Face
//! folder, or a GGUF converted to one. A checkpoint artifact is a Hugging Face folder (config.json,
//! model.safetensors, tokenizer.json) that the model crate and Python `transformers` both load.

use super::dataset::{instances, instructions};
use super::{PipelineCtx, model_tree};
use inscl_dag::{Stage, add};
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::sections::ModelSection;
use inscl_model::LlamaModel;
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
    pub(super) fn input(&self) -> NodeInput {
        match self {
            Init::Node(n) => NodeInput::Node(*n),
            Init::Source(s) => s.clone(),
        }
    }
}

/// A byte-level BPE trained on the dataset's train texts, for the tiny model.
#[derive(serde::Serialize)]
struct TokenizerParams {
    kind: &'static str,
    vocab_size: usize,
}

struct Tokenizer {
    params: TokenizerParams,
}

impl Stage for Tokenizer {
    const NAME: &'static str = "tokenizer";
    const VERSION: &'static str = TOKENIZER_VERSION;
    type Params = TokenizerParams;
    type Error = PipelineError;

    fn params(&self) -> &TokenizerParams {
        &self.params
    }

    fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let ingest = ctx.artifact("ingest")?;
        let mut texts: Vec<String> = instructions(ingest)?.into_iter().map(|r| r.text).collect();
        for r in instances(ingest)?.into_iter().filter(|r| r.train()) {
            texts.push(r.input);
            texts.extend(r.outputs);
        }
        let tok = inscl_finetune::train_bpe_tokenizer(&texts, self.params.vocab_size)?;
        let json = tok.to_string(true).map_err(|source| PipelineError::Tokenizer { source })?;
        Ok(Outputs::default().file("tokenizer.json", json.into_bytes()))
    }
}

/// The tiny LLaMA, random-initialised from `init_seed` with the `[model]` shape.
struct Init0 {
    params: ModelSection,
}

impl Stage for Init0 {
    const NAME: &'static str = "init";
    const VERSION: &'static str = INIT_VERSION;
    type Params = ModelSection;
    type Error = PipelineError;

    fn params(&self) -> &ModelSection {
        &self.params
    }

    fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let m = &self.params;
        let tok_path = ctx.artifact("tokenizer")?.path_of("tokenizer.json")?;
        let tokenizer = inscl_model::llama_model::load_tokenizer(&tok_path)?;
        let mut cfg = inscl_finetune::tiny_config(tokenizer.get_vocab_size(true));
        cfg.hidden_size = m.hidden_size;
        cfg.num_hidden_layers = m.layers;
        cfg.num_attention_heads = m.heads;
        cfg.num_key_value_heads = Some(m.kv_heads);
        cfg.intermediate_size = m.intermediate_size;
        let model = LlamaModel::random_init(cfg, tokenizer, tch::Device::Cpu, m.init_seed)?;
        checkpoint_outputs(ctx, &model)
    }
}

/// A llama.cpp GGUF converted to an f32 Hugging Face folder, streamed into the artifact's staging folder.
#[derive(serde::Serialize)]
struct ConvertParams {
    file: String,
    dtype: &'static str,
}

struct Convert {
    params: ConvertParams,
}

impl Stage for Convert {
    const NAME: &'static str = "convert";
    const VERSION: &'static str = CONVERT_VERSION;
    type Params = ConvertParams;
    type Error = PipelineError;

    fn params(&self) -> &ConvertParams {
        &self.params
    }

    fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
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
        let init = add(g, "base/tiny".into(), Init0 { params: m }, vec![("tokenizer".into(), NodeInput::Node(tok))]);
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

/// The files of a checkpoint artifact, streamed into its staging folder (a checkpoint can be hundreds of MB).
pub(super) fn checkpoint_outputs(ctx: &StageCtx, model: &LlamaModel) -> Result<Outputs, PipelineError> {
    model.save_hf(ctx.output_dir())?;
    Ok(inscl_model::llama_model::HF_FILES.into_iter().fold(Outputs::default(), |o, name| o.staged_file(name)))
}
