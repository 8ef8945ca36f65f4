//! The regularised baselines of the InsCL paper, added to one stage's cross-entropy.
//!
//! * **EWC** (Elastic Weight Consolidation, Kirkpatrick et al. 2017): the stage's loss gets
//!   `λ/2 · Σ_k F_k (θ_k − θ*_k)²`, where θ* are the previous stage's weights (this stage's initial weights) and
//!   F is the diagonal of the empirical Fisher information of the previous stage's training data at θ*: the mean
//!   over micro batches of the squared gradient of the micro batch's mean target-token cross-entropy
//!   ([`diagonal_fisher`]). Training adds the penalty's analytic gradient `λ · F ⊙ (θ − θ*)` to the gradients
//!   once per optimiser step, before clipping; [`ewc_penalty`] gives its value.
//! * **LwF** (Learning without Forgetting, Li & Hoiem 2017): the previous stage's model, frozen, is the teacher;
//!   at every target token the student's next-token distribution is pulled towards the teacher's by
//!   `weight · T² · KL(softmax(z_teacher/T) ‖ softmax(z_student/T))` ([`distillation_loss`]), summed over the
//!   target tokens and divided by the same token count as the cross-entropy.
//!
//! In both cases the logged loss stays the cross-entropy alone, so losses compare across methods.

use crate::batching::{epoch_plan, pad_batch};
use crate::error::{FinetuneError, Result};
use crate::examples::{EncodedExample, Example};
use crate::optim::ParamState;
use crate::train::{TrainParams, encode_stage, micro_batch_backward, predicting_states};
use inscl_model::LlamaModel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::{Kind, Tensor};

/// What a regularised stage adds to its loss; serialised inside TrainParams, so it enters the run fingerprint
/// (and, elsewhere, the stage key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum RegularizerParams {
    /// Elastic Weight Consolidation: λ/2 · Σ_k F_k (θ_k − θ*_k)², F the diagonal Fisher of the previous stage's
    /// training data at θ* (the previous stage's weights = this stage's initial weights).
    Ewc { lambda: f64 },
    /// Learning without Forgetting: weight · T² · KL(softmax(z_teacher/T) ‖ softmax(z_student/T)) per target
    /// token, summed and divided by the same token count as the cross-entropy; the teacher is the previous
    /// stage's model, frozen.
    Lwf { temperature: f64, weight: f64 },
}

impl RegularizerParams {
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Err(FinetuneError::BadParam { field: "regularizer", reason: reason.to_string() });
        match *self {
            RegularizerParams::Ewc { lambda } if !(lambda.is_finite() && lambda >= 0.0) => {
                bad(&format!("ewc lambda must be a finite number >= 0, got {lambda}"))
            }
            RegularizerParams::Lwf { temperature, .. } if !(temperature.is_finite() && temperature > 0.0) => {
                bad(&format!("lwf temperature must be a finite number > 0, got {temperature}"))
            }
            RegularizerParams::Lwf { weight, .. } if !(weight.is_finite() && weight >= 0.0) => {
                bad(&format!("lwf weight must be a finite number >= 0, got {weight}"))
            }
            _ => Ok(()),
        }
    }
}

/// The tensors a regulariser needs, built by the caller.
pub enum Regularizer<'a> {
    /// `fisher` and `anchor` hold a tensor for every trainable variable of the model (by VarStore name; extra
    /// names are ignored), of the variable's shape.
    Ewc { lambda: f64, fisher: BTreeMap<String, Tensor>, anchor: BTreeMap<String, Tensor> },
    /// `teacher` must be on the student's device and share its vocabulary.
    Lwf { teacher: &'a LlamaModel, temperature: f64, weight: f64 },
}

impl Regularizer<'_> {
    pub fn params(&self) -> RegularizerParams {
        match *self {
            Regularizer::Ewc { lambda, .. } => RegularizerParams::Ewc { lambda },
            Regularizer::Lwf { temperature, weight, .. } => RegularizerParams::Lwf { temperature, weight },
        }
    }
}

/// The teacher side of LwF, as the micro batch sees it.
#[derive(Clone, Copy)]
pub(crate) struct Distill<'a> {
    pub teacher: &'a LlamaModel,
    pub temperature: f64,
    pub weight: f64,
}

/// Empirical diagonal Fisher of `model` on `examples`: the mean over micro batches (size params.micro_batch, in
/// the order of `epoch_plan(lengths, micro_batch, params.seed, 0)`, encoded with params.max_len and the model's
/// EOS exactly as `train` encodes them) of the squared gradient of the micro batch's mean target-token
/// cross-entropy, per trainable variable (same names as model.vs.variables()). f32, on the model's device.
/// Leaves no gradients behind on the model (they are zeroed).
pub fn diagonal_fisher(model: &LlamaModel, examples: &[Example], params: &TrainParams) -> Result<BTreeMap<String, Tensor>> {
    params.validate()?;
    if examples.is_empty() {
        return Err(FinetuneError::NoExamples);
    }
    let device = model.vs.device();
    let (encoded, eos) = encode_stage(model, examples, params)?;
    let lengths: Vec<usize> = encoded.iter().map(EncodedExample::len).collect();
    let plan = epoch_plan(&lengths, params.micro_batch, params.seed, 0);
    let mut trainable: Vec<(String, Tensor)> =
        model.vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    trainable.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sums = trainable
        .iter()
        .map(|(_, t)| Ok(Tensor::f_zeros_like(t)?.f_to_kind(Kind::Float)?))
        .collect::<Result<Vec<Tensor>>>()?;
    for indices in &plan {
        let batch = pad_batch(&encoded, indices, i64::from(eos));
        for (_, t) in &mut trainable {
            t.zero_grad();
        }
        let tokens = batch.n_loss_tokens.max(1) as f64;
        micro_batch_backward(model, &batch, device, tokens, params.gradient_checkpointing, None)?;
        let _guard = tch::no_grad_guard();
        for ((_, t), sum) in trainable.iter().zip(&mut sums) {
            let grad = t.grad();
            if grad.defined() {
                let grad = grad.f_to_kind(Kind::Float)?;
                let _ = sum.f_addcmul_(&grad, &grad)?;
            }
        }
    }
    for (_, t) in &mut trainable {
        t.zero_grad();
    }
    let n = plan.len().max(1) as f64;
    trainable
        .into_iter()
        .zip(sums)
        .map(|((name, _), sum)| Ok((name, sum.f_div_scalar(n)?)))
        .collect()
}

fn named<'t>(map: &'t BTreeMap<String, Tensor>, name: &str, role: &str) -> Result<&'t Tensor> {
    map.get(name).ok_or_else(|| FinetuneError::BadParam {
        field: "regularizer",
        reason: format!("ewc: {role} has no tensor named {name:?}"),
    })
}

/// λ/2 · Σ F (θ − θ*)² over every named tensor of `fisher` (computed in f64; `current` and `anchor` must hold
/// every one of its names, and a missing name is an error naming it).
pub fn ewc_penalty(
    lambda: f64,
    fisher: &BTreeMap<String, Tensor>,
    current: &BTreeMap<String, Tensor>,
    anchor: &BTreeMap<String, Tensor>,
) -> Result<f64> {
    let _guard = tch::no_grad_guard();
    let mut total = 0.0;
    for (name, f) in fisher {
        let theta = named(current, name, "current weights")?;
        let star = named(anchor, name, "anchor")?;
        let device = f.device();
        let diff = theta.f_to_device(device)?.f_to_kind(Kind::Double)?.f_sub(&star.f_to_device(device)?.f_to_kind(Kind::Double)?)?;
        let weighted = f.f_to_kind(Kind::Double)?.f_mul(&diff)?.f_mul(&diff)?;
        total += weighted.f_sum(Kind::Double)?.f_double_value(&[])?;
    }
    Ok(lambda / 2.0 * total)
}

/// Σ over rows of T² · KL(softmax(teacher/T) ‖ softmax(student/T)); inputs [rows, vocab]; differentiable in
/// `student`; computed in f32. Its gradient with respect to the student logits is T · (softmax(s/T) − softmax(t/T)).
pub fn distillation_loss(student_logits: &Tensor, teacher_logits: &Tensor, temperature: f64) -> Result<Tensor> {
    let (s, t) = (student_logits.size(), teacher_logits.size());
    if s.len() != 2 || s != t {
        return Err(FinetuneError::BadParam {
            field: "regularizer",
            reason: format!("lwf: student logits {s:?} and teacher logits {t:?} must be the same [rows, vocab]"),
        });
    }
    Ok(kl_sum(student_logits, teacher_logits, temperature)?)
}

fn kl_sum(student: &Tensor, teacher: &Tensor, temperature: f64) -> std::result::Result<Tensor, tch::TchError> {
    let log_p_student = student.f_to_kind(Kind::Float)?.f_div_scalar(temperature)?.f_log_softmax(-1, Kind::Float)?;
    let log_p_teacher =
        teacher.detach().f_to_kind(Kind::Float)?.f_div_scalar(temperature)?.f_log_softmax(-1, Kind::Float)?;
    // KL(p_t ‖ p_s) = Σ_v p_t (log p_t − log p_s), per row; summed over rows.
    let terms = log_p_teacher.f_exp()?.f_mul(&log_p_teacher.f_sub(&log_p_student)?)?;
    terms.f_sum(Kind::Float)?.f_mul_scalar(temperature * temperature)
}

/// The EWC tensors moved to the trainable variables' device in f32, checked against their names and shapes.
pub(crate) fn ewc_tensors(
    params: &[ParamState],
    fisher: &BTreeMap<String, Tensor>,
    anchor: &BTreeMap<String, Tensor>,
) -> Result<Vec<(Tensor, Tensor)>> {
    params
        .iter()
        .map(|p| {
            let (device, shape) = (p.param.device(), p.param.size());
            let mut pair = Vec::with_capacity(2);
            for (map, role) in [(fisher, "fisher"), (anchor, "anchor")] {
                let t = named(map, &p.name, role)?;
                if t.size() != shape {
                    return Err(FinetuneError::BadParam {
                        field: "regularizer",
                        reason: format!("ewc: {role} {:?} has shape {:?}, the variable {shape:?}", p.name, t.size()),
                    });
                }
                pair.push(t.detach().f_to_device(device)?.f_to_kind(Kind::Float)?);
            }
            let anchor = pair.pop().expect("two tensors");
            Ok((pair.pop().expect("two tensors"), anchor))
        })
        .collect()
}

/// Adds EWC's gradient λ · F ⊙ (θ − θ*) to every parameter's gradient (a parameter without one gets one).
pub(crate) fn add_ewc_gradient(params: &[ParamState], lambda: f64, tensors: &[(Tensor, Tensor)]) -> Result<()> {
    for (p, (fisher, anchor)) in params.iter().zip(tensors) {
        if !p.param.grad().defined() {
            // A zero gradient, through autograd (tch cannot set one directly).
            p.param.f_mul_scalar(0.0)?.f_sum(p.param.kind())?.f_backward()?;
        }
        let _guard = tch::no_grad_guard();
        let mut grad = p.param.grad();
        let pull = p.param.f_to_kind(Kind::Float)?.f_sub(anchor)?.f_mul(fisher)?.f_mul_scalar(lambda)?;
        let _ = grad.f_add_(&pull.f_to_kind(grad.kind())?)?;
    }
    Ok(())
}

/// The teacher's f32 logits `[positions, vocab]` at the predicting `positions` of a `[rows, width]` batch, under
/// `tch::no_grad` and the same autocast rule as the student.
pub(crate) fn teacher_logits(
    distill: &Distill<'_>,
    input_ids: &Tensor,
    width: i64,
    positions: &Tensor,
    cuda: bool,
) -> Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let hidden = tch::autocast(cuda, || distill.teacher.llama.hidden_states(input_ids, None));
    let predicting = predicting_states(&hidden, width, positions)?;
    Ok(tch::autocast(cuda, || distill.teacher.llama.logits(&predicting)).f_to_kind(Kind::Float)?)
}

/// LwF's term of one micro batch: `weight · Σ T² · KL(teacher ‖ student)` over its predicting positions.
pub(crate) fn distill_term(
    distill: &Distill<'_>,
    student_logits: &Tensor,
    teacher_logits: &Tensor,
) -> std::result::Result<Tensor, tch::TchError> {
    kl_sum(student_logits, teacher_logits, distill.temperature)?.f_mul_scalar(distill.weight)
}
