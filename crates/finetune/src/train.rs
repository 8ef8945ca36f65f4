//! One InsCL stage of full fine-tuning: AdamW with a warmup + cosine schedule over the stage's examples,
//! gradient accumulation to the paper's effective batch, loss on target tokens only, and a crash-safe state
//! that lets a killed run continue to exactly the weights an uninterrupted run reaches.

use crate::batching::{PaddedBatch, epoch_plan, pad_batch, padding_fraction};
use crate::error::{FinetuneError, Result};
use crate::examples::{EncodedExample, Example, IGNORE_LABEL, encode_all};
use crate::optim::{AdamW, AdamWConfig, lr_factor, warmup_steps};
use crate::precision::use_bf16_cuda_autocast;
use crate::regularize::{Distill, Regularizer, RegularizerParams, add_ewc_gradient, distill_term, ewc_tensors, teacher_logits};
use crate::state::{RunIdentity, StateMeta, load_state, save_state, tensor_bytes};
use inscl_model::LlamaModel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;
use tch::{Device, Kind, Reduction, Tensor};

/// Hyper-parameters of one stage; the defaults are the paper's (lr 2e-5, 2 epochs, effective batch 128,
/// max length 2048, warmup ratio 0.03, cosine decay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainParams {
    /// Peak learning rate.
    pub lr: f64,
    pub epochs: usize,
    /// Examples per forward/backward pass.
    pub micro_batch: usize,
    /// Micro batches per optimiser step: the effective batch is `micro_batch * grad_accum`.
    pub grad_accum: usize,
    /// Longest tokenised example; longer prompts are cut from the left.
    pub max_len: usize,
    /// Warmup steps are `ceil(warmup_ratio * total_steps)`.
    pub warmup_ratio: f64,
    /// Global gradient-norm clip; 0 disables clipping.
    pub max_grad_norm: f64,
    /// Seed of the data order (the model's initial weights come with the model).
    pub seed: u64,
    /// Seconds between resumable states (when a resume directory is given). A runtime knob: it does not change
    /// the trained weights, so it is not serialised with the params that identify a run.
    #[serde(skip)]
    pub save_every_secs: u64,
    /// Optimiser steps between resumable states, in addition to the timer. Not serialised, as above.
    #[serde(skip)]
    pub save_every_steps: Option<usize>,
    /// Recompute each decoder layer's activations during the backward pass instead of keeping them (for
    /// models whose activations would not fit). A runtime knob: the gradients, and so the weights, are the
    /// same bits as without it (tests/recompute.rs), so it is not serialised either.
    #[serde(skip)]
    pub gradient_checkpointing: bool,
    /// EWC or LwF on top of the cross-entropy (see [`crate::regularize`]); absent from the JSON when `None`, so
    /// the serialised params of an unregularised run are what they were before regularisers existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regularizer: Option<RegularizerParams>,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            lr: 2e-5,
            epochs: 2,
            micro_batch: 8,
            grad_accum: 16,
            max_len: 2048,
            warmup_ratio: 0.03,
            max_grad_norm: 1.0,
            seed: 1,
            save_every_secs: 600,
            save_every_steps: None,
            gradient_checkpointing: false,
            regularizer: None,
        }
    }
}

impl TrainParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: &str| Err(FinetuneError::BadParam { field, reason: reason.to_string() });
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", "must be a positive number");
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.micro_batch == 0 {
            return bad("micro_batch", "must be at least 1");
        }
        if self.grad_accum == 0 {
            return bad("grad_accum", "must be at least 1");
        }
        if self.max_len < 2 {
            return bad("max_len", "must be at least 2 (one prompt token and EOS)");
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad("warmup_ratio", "must be in [0, 1]");
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            return bad("max_grad_norm", "must be >= 0");
        }
        if self.save_every_steps == Some(0) {
            return bad("save_every_steps", "must be at least 1 when set");
        }
        if let Some(regularizer) = &self.regularizer {
            regularizer.validate()?;
        }
        Ok(())
    }
}

/// One optimiser step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// Optimiser steps taken, this one included (1-based).
    pub step: usize,
    /// 0-based epoch the step belongs to.
    pub epoch: usize,
    /// Mean cross-entropy over the target tokens of the step's whole accumulated batch.
    pub loss: f64,
    /// Learning rate the step used.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Real (non-padding) tokens in the step's micro batches.
    pub tokens: usize,
    pub tokens_per_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Every step of the run, those before a resume included.
    pub log: Vec<StepLog>,
    /// Padding tokens over all tokens of the padded micro batches, over all epochs.
    pub padding_fraction: f64,
    pub n_examples: usize,
    /// Examples cut to fit `max_len` (prompt cut from the left, or a target cut to `max_len - 1` tokens + EOS).
    pub n_truncated: usize,
    /// Of those, examples whose target itself was cut.
    pub n_target_truncated: usize,
    /// Tokens of the encoded examples (one epoch) and of them, tokens entering the loss.
    pub n_tokens: usize,
    pub n_target_tokens: usize,
    pub micro_batches_per_epoch: usize,
    pub total_steps: usize,
    pub warmup_steps: usize,
    /// The step the run continued from when it found a resumable state.
    pub resumed_from_step: Option<usize>,
    /// Seconds of training over all attempts, and tokens per second over them.
    pub train_secs: f64,
    pub tokens_per_s: f64,
}

/// Fingerprint of what decides the trajectory: the starting weights, the encoded data and the parameters (not
/// the save cadence). A state whose stage started from other weights (say, a rebuilt previous checkpoint) is thus
/// refused rather than silently continued.
fn run_fingerprint(
    initial_weights: &BTreeMap<String, Tensor>,
    encoded: &[EncodedExample],
    params: &TrainParams,
) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    for (name, tensor) in initial_weights {
        let (shape, bytes) = tensor_bytes(tensor)?;
        hasher.update(name.as_bytes());
        hasher.update(format!("{shape:?}").as_bytes());
        hasher.update(&bytes);
    }
    // The save cadence is not serialised, so it does not enter the fingerprint.
    hasher.update(serde_json::to_string(params).unwrap_or_default().as_bytes());
    for example in encoded {
        hasher.update(&(example.input_ids.len() as u64).to_le_bytes());
        for (&id, &label) in example.input_ids.iter().zip(&example.labels) {
            hasher.update(&id.to_le_bytes());
            hasher.update(&label.to_le_bytes());
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// The next-token predictions that enter the loss: their flat indices into the `[rows, width - 1]` grid of
/// predictions, and the target token of each.
fn loss_positions(batch: &PaddedBatch) -> (Vec<i64>, Vec<i64>) {
    let width = batch.width;
    let (mut positions, mut targets) = (Vec::with_capacity(batch.n_loss_tokens), Vec::with_capacity(batch.n_loss_tokens));
    for row in 0..batch.rows {
        for t in 0..width.saturating_sub(1) {
            let label = batch.labels[row * width + t + 1];
            if label != IGNORE_LABEL {
                positions.push((row * (width - 1) + t) as i64);
                targets.push(label);
            }
        }
    }
    (positions, targets)
}

/// The hidden states `[positions, hidden]` at the flat `positions` (see [`loss_positions`]) of a `[rows, width,
/// hidden]` batch: the states that predict a target token, the only ones the LM head needs.
pub(crate) fn predicting_states(hidden: &Tensor, width: i64, positions: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
    let size = hidden.size()[2];
    hidden.f_narrow(1, 0, width - 1)?.f_reshape([-1, size])?.f_index_select(0, positions)
}

/// Forward and backward of one micro batch: the cross-entropy (in f32) summed over its target tokens, divided
/// by `loss_tokens` (the target tokens of the whole accumulated batch) before the backward pass; returns the
/// undivided sum. The LM head runs only at the positions that predict a target token: prompts are most of every
/// sequence, and the head is a quarter of a small model's compute. With `recompute`, the decoder layers'
/// activations are recomputed in the backward pass rather than kept.
/// With `distill` (LwF), the distillation term is added to the summed cross-entropy before the division; the
/// value returned stays the cross-entropy sum.
pub(crate) fn micro_batch_backward(
    model: &LlamaModel,
    batch: &PaddedBatch,
    device: Device,
    loss_tokens: f64,
    recompute: bool,
    distill: Option<&Distill<'_>>,
) -> Result<f64> {
    let (rows, width) = (batch.rows as i64, batch.width as i64);
    let input_ids = Tensor::f_from_slice(&batch.input_ids)?.f_view([rows, width])?.f_to_device(device)?;
    let (positions, targets) = loss_positions(batch);
    let positions = Tensor::f_from_slice(&positions)?.f_to_device(device)?;
    let targets = Tensor::f_from_slice(&targets)?.f_to_device(device)?;
    let cuda = device.is_cuda();
    if cuda {
        use_bf16_cuda_autocast()?;
    }
    let teacher = match distill {
        Some(d) => Some((d, teacher_logits(d, &input_ids, width, &positions, cuda)?)),
        None => None,
    };
    // The cross-entropy sum, and the objective to divide and differentiate (the same tensor without LwF).
    let summed_loss = |hidden: &Tensor| -> std::result::Result<(Tensor, Tensor), tch::TchError> {
        let predicting = predicting_states(hidden, width, &positions)?;
        let logits = tch::autocast(cuda, || model.llama.logits(&predicting)).f_to_kind(Kind::Float)?;
        let ce = logits.f_cross_entropy_loss::<Tensor>(&targets, None, Reduction::Sum, IGNORE_LABEL, 0.0)?;
        let objective = match &teacher {
            Some((d, teacher_logits)) => ce.f_add(&distill_term(d, &logits, teacher_logits)?)?,
            None => ce.shallow_clone(),
        };
        Ok((ce, objective))
    };
    if recompute {
        let summed = std::cell::RefCell::new(None);
        let _scaled_loss = model.llama.backward_recomputing(&input_ids, cuda, &|hidden| {
            let (loss, objective) = summed_loss(hidden)?;
            let scaled = objective.f_div_scalar(loss_tokens)?;
            *summed.borrow_mut() = Some(loss.f_double_value(&[])?);
            Ok(scaled)
        })
        .map_err(FinetuneError::Recompute)?;
        return Ok(summed.into_inner().expect("backward_recomputing evaluates the loss once"));
    }
    // Right padding under a causal mask: no real token attends to a pad, so the mask adds nothing here.
    let hidden = tch::autocast(cuda, || model.llama.hidden_states(&input_ids, None));
    let (summed, objective) = summed_loss(&hidden)?;
    objective.f_div_scalar(loss_tokens)?.f_backward()?;
    Ok(summed.f_double_value(&[])?)
}

/// The stage's examples encoded as training sees them, with the EOS id that ends each target and pads batches.
pub(crate) fn encode_stage(
    model: &LlamaModel,
    examples: &[Example],
    params: &TrainParams,
) -> Result<(Vec<EncodedExample>, u32)> {
    // The model folder's own EOS (for SmolLM2-Instruct `<|im_end|>`), which generation stops at.
    let eos = model
        .eos_token_id()
        .and_then(|id| u32::try_from(id).ok())
        .ok_or(FinetuneError::MissingToken { token: "eos_token_id".to_string(), role: "end of sequence" })?;
    let encoded = encode_all(&model.tokenizer, examples, params.max_len, eos)?;
    let vocab_limit = model.config.vocab_size as i64;
    for (index, example) in encoded.iter().enumerate() {
        if let Some(&id) = example.input_ids.iter().find(|&&id| id >= vocab_limit) {
            return Err(FinetuneError::BadExample {
                index,
                reason: format!("token id {id} is outside the model's vocabulary of {vocab_limit}"),
            });
        }
    }
    Ok((encoded, eos))
}

/// Fine-tunes `model` in place on `examples` (one stage). With `resume_dir`, a resumable state is written there
/// every `save_every_secs` / `save_every_steps` and at each epoch end, and an existing state is continued from
/// (refused if it belongs to another model config, vocabulary, data or parameters). `progress` sees every step.
pub fn train(
    model: &mut LlamaModel,
    examples: &[Example],
    params: &TrainParams,
    resume_dir: Option<&Path>,
    progress: Option<&dyn Fn(&StepLog)>,
) -> Result<TrainReport> {
    train_with(model, examples, params, None, resume_dir, progress)
}

/// [`train`] with a regulariser (EWC or LwF, see [`crate::regularize`]). `params.regularizer` must describe
/// `regularizer` (both absent, or equal), so that the run fingerprint says what was applied.
pub fn train_with(
    model: &mut LlamaModel,
    examples: &[Example],
    params: &TrainParams,
    regularizer: Option<&Regularizer<'_>>,
    resume_dir: Option<&Path>,
    progress: Option<&dyn Fn(&StepLog)>,
) -> Result<TrainReport> {
    params.validate()?;
    let applied = regularizer.map(Regularizer::params);
    if params.regularizer != applied {
        return Err(FinetuneError::BadParam {
            field: "regularizer",
            reason: format!("params say {:?} but the regulariser given is {applied:?}", params.regularizer),
        });
    }
    if examples.is_empty() {
        return Err(FinetuneError::NoExamples);
    }
    let device = model.vs.device();
    let (encoded, eos) = encode_stage(model, examples, params)?;
    let lengths: Vec<usize> = encoded.iter().map(EncodedExample::len).collect();
    let micro_batches_per_epoch = encoded.len().div_ceil(params.micro_batch);
    let steps_per_epoch = micro_batches_per_epoch.div_ceil(params.grad_accum);
    let total_steps = steps_per_epoch * params.epochs;
    let warmup = warmup_steps(params.warmup_ratio, total_steps);

    let variables: BTreeMap<String, Tensor> = model.vs.variables().into_iter().collect();
    let trainable: Vec<(String, Tensor)> =
        variables.iter().filter(|(_, t)| t.requires_grad()).map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
    let mut optimizer = AdamW::new(trainable, AdamWConfig::default())?;
    let (ewc, distill) = match regularizer {
        None => (None, None),
        Some(Regularizer::Ewc { lambda, fisher, anchor }) => {
            (Some((*lambda, ewc_tensors(&optimizer.params, fisher, anchor)?)), None)
        }
        Some(Regularizer::Lwf { teacher, temperature, weight }) => {
            if teacher.vs.device() != device || teacher.config.vocab_size != model.config.vocab_size {
                return Err(FinetuneError::BadParam {
                    field: "regularizer",
                    reason: "lwf: the teacher must be on the student's device with the student's vocabulary".into(),
                });
            }
            (None, Some(Distill { teacher, temperature: *temperature, weight: *weight }))
        }
    };

    let identity = RunIdentity {
        model_config: serde_json::to_value(&model.config)
            .map_err(|e| FinetuneError::BadParam { field: "model config", reason: e.to_string() })?,
        tokenizer_vocab_size: model.tokenizer.get_vocab_size(true),
        run_fingerprint: run_fingerprint(&variables, &encoded, params)?,
    };
    let mut log = Vec::with_capacity(total_steps);
    let (mut start_epoch, mut start_batch, mut earlier_secs) = (0, 0, 0.0);
    let mut resumed_from_step = None;
    if let Some(dir) = resume_dir {
        if let Some(meta) = load_state(dir, &identity, &variables, &mut optimizer)? {
            resumed_from_step = Some(meta.step);
            (start_epoch, start_batch, earlier_secs) = (meta.epoch, meta.next_batch, meta.train_secs);
            log = meta.log;
        }
    }

    let started = Instant::now();
    let mut last_save = Instant::now();
    let save = |optimizer: &AdamW, log: &[StepLog], epoch: usize, next_batch: usize| -> Result<()> {
        let Some(dir) = resume_dir else { return Ok(()) };
        let meta = StateMeta {
            format_version: 1,
            model_config: identity.model_config.clone(),
            tokenizer_vocab_size: identity.tokenizer_vocab_size,
            run_fingerprint: identity.run_fingerprint.clone(),
            step: optimizer.step,
            epoch,
            next_batch,
            log: log.to_vec(),
            train_secs: earlier_secs + started.elapsed().as_secs_f64(),
        };
        save_state(dir, &variables, optimizer, &meta)
    };

    for epoch in start_epoch..params.epochs {
        let plan = epoch_plan(&lengths, params.micro_batch, params.seed, epoch);
        let mut next = if epoch == start_epoch { start_batch } else { 0 };
        while next < plan.len() {
            let step_started = Instant::now();
            let group_end = (next + params.grad_accum).min(plan.len());
            let batches: Vec<PaddedBatch> =
                plan[next..group_end].iter().map(|indices| pad_batch(&encoded, indices, i64::from(eos))).collect();
            // Normalise by the target tokens of the whole accumulated batch, not per micro batch, so that each
            // target token weighs the same whatever micro batch it falls in.
            let loss_tokens = batches.iter().map(|b| b.n_loss_tokens).sum::<usize>().max(1) as f64;
            optimizer.zero_grad();
            let mut loss_sum = 0.0;
            for batch in &batches {
                let recompute = params.gradient_checkpointing;
                loss_sum += micro_batch_backward(model, batch, device, loss_tokens, recompute, distill.as_ref())?;
            }
            if let Some((lambda, tensors)) = &ewc {
                add_ewc_gradient(&optimizer.params, *lambda, tensors)?;
            }
            let grad_norm = optimizer.clip_grad_norm(params.max_grad_norm)?;
            let lr = params.lr * lr_factor(optimizer.step, warmup, total_steps);
            optimizer.step(lr)?;
            next = group_end;

            let loss = loss_sum / loss_tokens;
            if !loss.is_finite() {
                return Err(FinetuneError::NonFiniteLoss { step: optimizer.step, loss });
            }
            let tokens: usize = batches.iter().map(|b| b.n_real_tokens).sum();
            let secs = step_started.elapsed().as_secs_f64();
            let entry = StepLog {
                step: optimizer.step,
                epoch,
                loss,
                lr,
                grad_norm,
                tokens,
                tokens_per_s: if secs > 0.0 { tokens as f64 / secs } else { 0.0 },
            };
            if let Some(callback) = progress {
                callback(&entry);
            }
            log.push(entry);
            let epoch_done = next >= plan.len();
            let steps_due = params.save_every_steps.is_some_and(|every| optimizer.step % every == 0);
            let time_due = last_save.elapsed().as_secs() >= params.save_every_secs;
            if !epoch_done && (steps_due || time_due) {
                save(&optimizer, &log, epoch, next)?;
                last_save = Instant::now();
            }
        }
        save(&optimizer, &log, epoch + 1, 0)?;
        last_save = Instant::now();
    }

    let n_truncated = encoded.iter().filter(|e| e.was_truncated()).count();
    let n_target_truncated = encoded.iter().filter(|e| e.target_truncated).count();
    let plans: Vec<Vec<usize>> =
        (0..params.epochs).flat_map(|epoch| epoch_plan(&lengths, params.micro_batch, params.seed, epoch)).collect();
    let train_secs = earlier_secs + started.elapsed().as_secs_f64();
    let trained_tokens: usize = log.iter().map(|s| s.tokens).sum();
    Ok(TrainReport {
        padding_fraction: padding_fraction(&encoded, &plans),
        n_examples: encoded.len(),
        n_truncated,
        n_target_truncated,
        n_tokens: lengths.iter().sum(),
        n_target_tokens: encoded.iter().map(EncodedExample::n_target_tokens).sum(),
        micro_batches_per_epoch,
        total_steps,
        warmup_steps: warmup,
        resumed_from_step,
        train_secs,
        tokens_per_s: if train_secs > 0.0 { trained_tokens as f64 / train_secs } else { 0.0 },
        log,
    })
}
