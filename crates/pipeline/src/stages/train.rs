//! The model stages: the base model (a tiny random-initialised LLaMA with its own BPE tokenizer, a Hugging Face
//! folder, or a GGUF converted to one) and the finetune stage, which trains one stage of an order starting from
//! the previous stage's checkpoint. A checkpoint artifact is a Hugging Face folder (config.json,
//! model.safetensors, tokenizer.json) that the model crate and Python `transformers` both load.

use super::dataset::{instances, instructions};
use super::{PipelineCtx, Stage, add, model_tree, node};
use crate::device::{DeviceChoice, DeviceKind, LIBTORCH_VERSION, Precision};
use crate::sections::FinetuneSection;
use crate::error::PipelineError;
use crate::graph::{Graph, NodeInput, StageCtx};
use crate::tables::{read, write_volatile};
use inscl_tables::{TrainLogRow, TrainMixRow};
use inscl_finetune::{InstanceRow, TrainParams};
use inscl_model::LlamaModel;
use inscl_store::{Outputs, SourceTree};
use std::sync::Arc;

const TOKENIZER_VERSION: &str = "1";
const INIT_VERSION: &str = "2";
const CONVERT_VERSION: &str = "1";
const FINETUNE_VERSION: &str = "2";

/// Where a stage's starting weights come from.
#[derive(Clone)]
pub enum Init {
    Node(usize),
    Source(NodeInput),
}

impl Init {
    fn input(&self) -> NodeInput {
        match self {
            Init::Node(n) => NodeInput::Node(*n),
            Init::Source(s) => s.clone(),
        }
    }
}

fn model_err(stage: &str) -> impl Fn(inscl_model::ModelError) -> PipelineError + '_ {
    move |e| PipelineError::Invalid(format!("{stage}: {e}"))
}

fn ft_err(e: inscl_finetune::FinetuneError) -> PipelineError {
    PipelineError::Invalid(format!("finetune: {e}"))
}

/// The base model of the pipeline's `[model] base`.
pub fn push_base(g: &mut Graph, p: &PipelineCtx, ingest: usize) -> Result<Init, PipelineError> {
    let m = p.sections.model.clone();
    let Some(path) = m.base_path(&p.base_dir) else {
        let vocab = m.vocab_size;
        let tok = node(
            g,
            "tokenizer".into(),
            "tokenizer",
            TOKENIZER_VERSION,
            serde_json::json!({ "kind": "byte-level-bpe", "vocab_size": vocab }),
            vec![("ingest".into(), NodeInput::Node(ingest))],
            move |ctx| {
                let ingest = ctx.artifact("ingest")?;
                let mut texts: Vec<String> = instructions(ingest)?.into_iter().map(|r| r.text).collect();
                for r in instances(ingest)?.into_iter().filter(|r| r.train()) {
                    texts.push(r.input);
                    texts.extend(r.outputs);
                }
                let tok = inscl_finetune::train_bpe_tokenizer(&texts, vocab).map_err(ft_err)?;
                let json = tok.to_string(true).map_err(|e| PipelineError::Invalid(format!("tokenizer: {e}")))?;
                Ok(Outputs::default().file("tokenizer.json", json.into_bytes()))
            },
        );
        let params = serde_json::to_value(&m).expect("model section serialises");
        let init = node(g, "base/tiny".into(), "init", INIT_VERSION, params, vec![("tokenizer".into(), NodeInput::Node(tok))], move |ctx| {
            let tok_path = ctx.artifact("tokenizer")?.path_of("tokenizer.json")?;
            let tokenizer = inscl_model::llama_model::load_tokenizer(&tok_path).map_err(model_err("init"))?;
            let mut cfg = inscl_finetune::tiny_config(tokenizer.get_vocab_size(true));
            cfg.hidden_size = m.hidden_size;
            cfg.num_hidden_layers = m.layers;
            cfg.num_attention_heads = m.heads;
            cfg.num_key_value_heads = Some(m.kv_heads);
            cfg.intermediate_size = m.intermediate_size;
            let model = LlamaModel::random_init(cfg, tokenizer, tch::Device::Cpu, m.init_seed).map_err(model_err("init"))?;
            checkpoint_outputs(ctx, &model)
        });
        return Ok(Init::Node(init));
    };
    if path.extension().is_some_and(|e| e == "gguf") {
        let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        let dir = path.parent().unwrap_or(std::path::Path::new(".")).to_path_buf();
        let wanted = file.clone();
        let tree = Arc::new(SourceTree::scan(&dir, move |rel: &str| rel == wanted, &p.hashes)?);
        if tree.files.is_empty() {
            return Err(PipelineError::Invalid(format!("{}: no such GGUF file", path.display())));
        }
        let n = node(
            g,
            format!("base/{file}"),
            "convert",
            CONVERT_VERSION,
            serde_json::json!({ "file": file, "dtype": "f32" }),
            vec![("gguf".into(), NodeInput::Source(tree))],
            move |ctx| {
                let src = ctx.source("gguf")?;
                let path = src.root.join(&file);
                // Streamed into the artifact's staging folder: the f32 model never sits in memory whole.
                let names = inscl_gguf::convert_to_dir(&path, inscl_gguf::DType::F32, ctx.output_dir(), |_, _| {})
                    .map_err(|e| PipelineError::Invalid(format!("convert {}: {e}", path.display())))?;
                Ok(names.into_iter().fold(Outputs::default(), |o, name| o.staged_file(name)))
            },
        );
        return Ok(Init::Node(n));
    }
    Ok(Init::Source(NodeInput::Source(Arc::new(model_tree(&path, &p.hashes)?))))
}

/// The files of a checkpoint artifact, streamed into its staging folder (a checkpoint can be hundreds of MB).
fn checkpoint_outputs(ctx: &StageCtx, model: &LlamaModel) -> Result<Outputs, PipelineError> {
    model.save_hf(ctx.output_dir()).map_err(model_err("checkpoint"))?;
    Ok(inscl_model::llama_model::HF_FILES.into_iter().fold(Outputs::default(), |o, name| o.staged_file(name)))
}

/// What decides a training's weights besides its inputs: the hyper-parameters, the precision the device kind
/// implies, and the libtorch that computes it. The save cadence and the device index are not here (the finetune
/// crate does not serialise its cadence fields).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FinetuneParams {
    #[serde(flatten)]
    pub train: TrainParams,
    pub precision: Precision,
    pub libtorch: &'static str,
}

impl FinetuneParams {
    /// The params of `[finetune]` when training runs on a device of `kind`: a pure function, so the key of a
    /// CUDA run can be computed (and tested) on a machine without one.
    pub fn of(f: &FinetuneSection, kind: DeviceKind) -> FinetuneParams {
        let train = TrainParams {
            lr: f.lr,
            epochs: f.epochs,
            micro_batch: f.micro_batch,
            grad_accum: f.grad_accum,
            max_len: f.max_len,
            warmup_ratio: f.warmup_ratio,
            max_grad_norm: f.max_grad_norm,
            seed: f.seed,
            ..TrainParams::default()
        };
        FinetuneParams { train, precision: Precision::of(kind), libtorch: LIBTORCH_VERSION }
    }
}

/// Runtime knobs of a training: where it runs and how often it leaves a resumable state.
#[derive(Debug, Clone)]
struct FinetuneRuntime {
    device: DeviceChoice,
    save_every_secs: u64,
}

struct Finetune {
    params: FinetuneParams,
    runtime: FinetuneRuntime,
}

impl Stage for Finetune {
    const NAME: &'static str = "finetune";
    const VERSION: &'static str = FINETUNE_VERSION;
    type Params = FinetuneParams;

    fn params(&self) -> &FinetuneParams {
        &self.params
    }

    fn run(&self, ctx: &StageCtx) -> Result<Outputs, PipelineError> {
        let train = TrainParams { save_every_secs: self.runtime.save_every_secs, save_every_steps: None, ..self.params.train.clone() };
        run_finetune(ctx, &train, self.runtime.device)
    }
}

fn run_finetune(ctx: &StageCtx, params: &TrainParams, device: DeviceChoice) -> Result<Outputs, PipelineError> {
    let device = device.device()?;
    let dir = ctx.dir("init")?;
    let mut model = LlamaModel::load(&dir, device)?;
    let rows: Vec<InstanceRow> = read::<TrainMixRow>(ctx.artifact("mix")?)?
        .into_iter()
        .map(|r| InstanceRow { definition: r.definition, input: r.input, outputs: r.outputs })
        .collect();
    let examples = inscl_finetune::build_examples(&rows)?;
    let scratch = ctx.scratch_dir()?;
    let steps_per_epoch = examples.len().div_ceil(params.micro_batch * params.grad_accum).max(1);
    let bar = ctx.bar((steps_per_epoch * params.epochs) as u64, "training steps");
    let progress = |s: &inscl_finetune::StepLog| {
        bar.set_position(s.step as u64);
        bar.set_message(format!("loss {:.3} {:.0} tok/s", s.loss, s.tokens_per_s));
    };
    let report = inscl_finetune::train(&mut model, &examples, params, Some(&scratch), Some(&progress))?;
    bar.finish_and_clear();
    let log: Vec<TrainLogRow> = report
        .log
        .iter()
        .map(|s| TrainLogRow {
            step: s.step,
            epoch: s.epoch,
            loss: s.loss,
            lr: s.lr,
            grad_norm: s.grad_norm,
            tokens: s.tokens,
            tokens_per_s: s.tokens_per_s,
        })
        .collect();
    Ok(write_volatile(checkpoint_outputs(ctx, &model)?, &log)?
        .note("n_examples", report.n_examples)
        .note("n_truncated", report.n_truncated)
        .note("padding_fraction", report.padding_fraction)
        .note("device", format!("{device:?}")))
}

/// One training stage: `init`'s weights trained on the mix of node `mix`. `id` names it
/// (`single/<category>` for stage 1 and the experts, `<order>/<method>/<stage>` otherwise).
pub fn push_finetune(g: &mut Graph, p: &PipelineCtx, id: String, init: &Init, mix: usize) -> usize {
    let f = &p.sections.finetune;
    let stage = Finetune {
        params: FinetuneParams::of(f, f.device.kind()),
        runtime: FinetuneRuntime { device: f.device, save_every_secs: f.save_every_secs },
    };
    add(g, format!("finetune/{id}"), stage, vec![("init".into(), init.input()), ("mix".into(), NodeInput::Node(mix))])
}
