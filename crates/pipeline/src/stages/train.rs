//! The finetune stage: one stage of an order trained from the previous stage's checkpoint (or the base model)
//! on that stage's mix. Its output is a Hugging Face folder, streamed into the artifact's staging folder.

use super::base::{Init, checkpoint_outputs};
use super::PipelineCtx;
use inscl_dag::{Stage, add};
use crate::device::{DeviceChoice, DeviceKind, LIBTORCH_VERSION, Precision};
use crate::error::PipelineError;
use inscl_dag::{Graph, NodeInput, StageCtx};
use crate::sections::FinetuneSection;
use crate::tables::{read, write_volatile};
use inscl_finetune::{InstanceRow, TrainParams};
use inscl_model::LlamaModel;
use inscl_store::Outputs;
use inscl_tables::{TrainLogRow, TrainMixRow};

const FINETUNE_VERSION: &str = "2";

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
    type Error = PipelineError;

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
