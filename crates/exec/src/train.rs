//! The finetune stage computed: one stage of an order trained from the previous checkpoint (or the base
//! model) on that stage's mix, with the finetune crate's resumable loop. EWC's stages first compute the
//! diagonal Fisher of the previous stage's mix at the starting weights; LwF's load those weights a second time,
//! frozen, as the teacher.

use crate::Compute;
use crate::base::checkpoint_outputs;
use crate::error::ExecError;
use inscl_dag::StageCtx;
use inscl_finetune::{InstanceRow, TrainParams};
use inscl_model::LlamaModel;
use inscl_pipeline::FinetuneParams;
use inscl_pipeline::stages::train::{Finetune, FinetuneRuntime, RegularizerParams};
use inscl_pipeline::tables::{read, write_volatile};
use inscl_store::Outputs;
use inscl_tables::{TrainLogRow, TrainMixRow};

/// The finetune crate's params of a keyed training, with the runtime knobs added.
pub fn train_params(p: &FinetuneParams, runtime: &FinetuneRuntime) -> TrainParams {
    TrainParams {
        lr: p.lr,
        epochs: p.epochs,
        micro_batch: p.micro_batch,
        grad_accum: p.grad_accum,
        max_len: p.max_len,
        warmup_ratio: p.warmup_ratio,
        max_grad_norm: p.max_grad_norm,
        seed: p.seed,
        save_every_secs: runtime.save_every_secs,
        save_every_steps: None,
        gradient_checkpointing: runtime.gradient_checkpointing,
        regularizer: p.regularizer.as_ref().map(|r| match *r {
            RegularizerParams::Ewc { lambda } => inscl_finetune::RegularizerParams::Ewc { lambda },
            RegularizerParams::Lwf { temperature, weight } => inscl_finetune::RegularizerParams::Lwf { temperature, weight },
        }),
    }
}

/// The examples of a mix artifact, in its row order.
fn mix_examples(ctx: &StageCtx, role: &str) -> Result<Vec<inscl_finetune::Example>, ExecError> {
    let rows: Vec<InstanceRow> = read::<TrainMixRow>(ctx.artifact(role)?)?
        .into_iter()
        .map(|r| InstanceRow { definition: r.definition, input: r.input, outputs: r.outputs })
        .collect();
    Ok(inscl_finetune::build_examples(&rows)?)
}

impl Compute for Finetune {
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, ExecError> {
        let params = train_params(&self.params, &self.runtime);
        let device = crate::device::device(self.runtime.device)?;
        let dir = ctx.dir("init")?;
        let mut model = LlamaModel::load(&dir, device)?;
        let examples = mix_examples(ctx, "mix")?;
        let teacher;
        let regularizer = match params.regularizer {
            None => None,
            Some(inscl_finetune::RegularizerParams::Ewc { lambda }) => {
                let fisher = inscl_finetune::diagonal_fisher(&model, &mix_examples(ctx, "prev_mix")?, &params)?;
                let anchor = model.vs.variables().into_iter().map(|(n, t)| (n, t.detach().copy())).collect();
                Some(inscl_finetune::Regularizer::Ewc { lambda, fisher, anchor })
            }
            Some(inscl_finetune::RegularizerParams::Lwf { temperature, weight }) => {
                teacher = {
                    let mut t = LlamaModel::load(&dir, device)?;
                    t.vs.freeze();
                    t
                };
                Some(inscl_finetune::Regularizer::Lwf { teacher: &teacher, temperature, weight })
            }
        };
        let scratch = ctx.scratch_dir()?;
        let steps_per_epoch = examples.len().div_ceil(params.micro_batch * params.grad_accum).max(1);
        let bar = ctx.bar((steps_per_epoch * params.epochs) as u64, "training steps");
        let progress = |s: &inscl_finetune::StepLog| {
            bar.set_position(s.step as u64);
            bar.set_message(format!("loss {:.3} {:.0} tok/s", s.loss, s.tokens_per_s));
        };
        let report = inscl_finetune::train_with(&mut model, &examples, &params, regularizer.as_ref(), Some(&scratch), Some(&progress))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use inscl_pipeline::DeviceKind;

    /// The key's hyper-parameters are exactly what training consumes: the finetune crate's serialised params
    /// (which leave the cadence out) are the key's fields, by name, value and order.
    #[test]
    fn keyed_params_are_the_serialised_train_params() {
        let runtime = FinetuneRuntime {
            device: inscl_pipeline::DeviceChoice::Cpu,
            save_every_secs: 123,
            gradient_checkpointing: true,
        };
        // Unregularised, EWC and LwF: the regulariser is in both or in neither, with the same fields.
        for regularizer in [
            None,
            Some(RegularizerParams::Ewc { lambda: 7.5 }),
            Some(RegularizerParams::Lwf { temperature: 3.0, weight: 0.5 }),
        ] {
            let p = FinetuneParams { regularizer, ..FinetuneParams::of(&Default::default(), DeviceKind::Cpu) };
            let train = serde_json::to_value(train_params(&p, &runtime)).unwrap();
            let key = serde_json::to_value(&p).unwrap();
            let train = train.as_object().unwrap();
            let key = key.as_object().unwrap();
            let key_train: Vec<(&String, &serde_json::Value)> = key.iter().filter(|(k, _)| train.contains_key(*k)).collect();
            assert_eq!(key_train, train.iter().collect::<Vec<_>>());
            assert_eq!(key.len(), train.len() + 2, "besides the train params the key has precision and libtorch: {key:?}");
        }
    }
}
