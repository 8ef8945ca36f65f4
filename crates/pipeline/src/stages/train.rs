//! The finetune stage: one stage of an order trained from the previous stage's checkpoint (or the base model)
//! on that stage's mix. Its output is a Hugging Face folder, streamed into the artifact's staging folder.

use super::base::Init;
use super::PipelineCtx;
use inscl_dag::add;
use crate::device::{DeviceChoice, DeviceKind, LIBTORCH_VERSION, Precision};
use inscl_dag::{Graph, NodeInput};
use crate::sections::FinetuneSection;
use inscl_sample::{RegularizerKind, ReplayMethod};

// 3: targets end with the model folder's EOS (SmolLM2-Instruct: <|im_end|>), not a hard-coded <|endoftext|>.
// 4: right-padded training batches attend through SDPA's `is_causal` kernels (KV heads grouped by SDPA)
//    instead of an explicit mask; the float sums may differ in the last bits, so old weights are not reused.
const FINETUNE_VERSION: &str = "4";

/// What decides a training's weights besides its inputs: the hyper-parameters (the fields, names and order of
/// the finetune crate's serialised `TrainParams`, so the key is what training consumes), the precision the
/// device kind implies, and the libtorch that computes it. The save cadence and the device index are not here.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FinetuneParams {
    pub lr: f64,
    pub epochs: usize,
    pub micro_batch: usize,
    pub grad_accum: usize,
    pub max_len: usize,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    pub seed: u64,
    pub precision: Precision,
    pub libtorch: &'static str,
    /// EWC's or LwF's term, for their stages 2 and later; absent (and so out of the serialised key) otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regularizer: Option<RegularizerParams>,
}

/// What a regularised training adds to its loss: the finetune crate's `RegularizerParams`, field for field
/// (the same serde shape, so the key is what training consumes; the exec crate converts one to the other).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RegularizerParams {
    /// λ/2 · Σ F (θ − θ*)², F the diagonal Fisher of the previous stage's mix (the `prev_mix` input).
    Ewc { lambda: f64 },
    /// weight · T² · KL(teacher ‖ student), the teacher the previous stage's model (the `init` input).
    Lwf { temperature: f64, weight: f64 },
}

impl FinetuneParams {
    /// The params of `[finetune]` when training runs on a device of `kind`: a pure function, so the key of a
    /// CUDA run can be computed (and tested) on a machine without one.
    pub fn of(f: &FinetuneSection, kind: DeviceKind) -> FinetuneParams {
        FinetuneParams {
            lr: f.lr,
            epochs: f.epochs,
            micro_batch: f.micro_batch,
            grad_accum: f.grad_accum,
            max_len: f.max_len,
            warmup_ratio: f.warmup_ratio,
            max_grad_norm: f.max_grad_norm,
            seed: f.seed,
            precision: Precision::of(kind),
            libtorch: LIBTORCH_VERSION,
            regularizer: None,
        }
    }
}

/// Runtime knobs of a training: where it runs, how often it leaves a resumable state, and whether it
/// recomputes activations (the same gradient bits, less memory).
#[derive(Debug, Clone)]
pub struct FinetuneRuntime {
    pub device: DeviceChoice,
    pub save_every_secs: u64,
    pub gradient_checkpointing: bool,
}

/// Trains `init` on `mix` (run by the executor, which links the finetune crate).
pub struct Finetune {
    pub params: FinetuneParams,
    pub runtime: FinetuneRuntime,
}

inscl_dag::impl_stage!(Finetune, "finetune", FINETUNE_VERSION, FinetuneParams);

/// A regularised stage's term and, for EWC, the mix its Fisher is computed on.
pub struct Regularized {
    pub params: RegularizerParams,
    pub prev_mix: Option<usize>,
}

/// The regulariser of `method` at a stage after the first, whose previous stage trained on `prev_mix`.
pub fn regularizer(p: &PipelineCtx, method: ReplayMethod, prev_mix: Option<usize>) -> Option<Regularized> {
    match method.regularizer()? {
        RegularizerKind::Ewc => Some(Regularized { params: RegularizerParams::Ewc { lambda: p.sections.ewc.lambda }, prev_mix }),
        RegularizerKind::Lwf => {
            let l = &p.sections.lwf;
            Some(Regularized { params: RegularizerParams::Lwf { temperature: l.temperature, weight: l.weight }, prev_mix: None })
        }
    }
}

/// One training stage: `init`'s weights trained on the mix of node `mix`. `id` names it
/// (`single/<category>` for stage 1 and the experts, `joint/<order>`, `<order>/<method>/<stage>` otherwise,
/// each after the replicate's tag).
pub fn push_finetune(g: &mut Graph, p: &PipelineCtx, id: String, init: &Init, mix: usize, reg: Option<Regularized>) -> usize {
    let f = &p.sections.finetune;
    let mut params = FinetuneParams::of(f, f.device.kind());
    let mut inputs = vec![("init".into(), init.input()), ("mix".into(), NodeInput::Node(mix))];
    if let Some(r) = reg {
        params.regularizer = Some(r.params);
        if let Some(m) = r.prev_mix {
            inputs.push(("prev_mix".into(), NodeInput::Node(m)));
        }
    }
    let stage = Finetune {
        params,
        runtime: FinetuneRuntime {
            device: f.device,
            save_every_secs: f.save_every_secs,
            gradient_checkpointing: f.gradient_checkpointing,
        },
    };
    add(g, format!("finetune/{id}"), stage, inputs)
}
