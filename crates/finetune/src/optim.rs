//! AdamW, the learning-rate schedule and gradient clipping, written out on the VarStore's tensors so that the
//! moment buffers can be saved and restored exactly (tch's optimisers keep them inside libtorch, out of reach).
//! The arithmetic follows `torch.optim.AdamW` (single-tensor path) and HF `get_cosine_schedule_with_warmup`.

use crate::error::Result;
use tch::{Kind, Tensor};

/// AdamW hyper-parameters of the paper (the HF Trainer defaults with weight decay 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// One trainable parameter with its first and second moments, kept in f32 whatever the parameter's dtype.
pub struct ParamState {
    pub name: String,
    pub param: Tensor,
    pub exp_avg: Tensor,
    pub exp_avg_sq: Tensor,
}

pub struct AdamW {
    pub config: AdamWConfig,
    pub params: Vec<ParamState>,
    /// Optimiser steps taken (PyTorch's `state['step']`, the same for every parameter here).
    pub step: usize,
}

impl AdamW {
    /// A fresh optimiser over `named` (sorted by name, so the save order is stable), moments at zero.
    pub fn new(mut named: Vec<(String, Tensor)>, config: AdamWConfig) -> Result<AdamW> {
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let params = named
            .into_iter()
            .map(|(name, param)| {
                let exp_avg = Tensor::f_zeros_like(&param)?.f_to_kind(Kind::Float)?;
                let exp_avg_sq = Tensor::f_zeros_like(&param)?.f_to_kind(Kind::Float)?;
                Ok(ParamState { name, param, exp_avg, exp_avg_sq })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamW { config, params, step: 0 })
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.param.zero_grad();
        }
    }

    /// L2 norm of all gradients together, before clipping; if it exceeds `max_norm` every gradient is scaled by
    /// `max_norm / (norm + 1e-6)` (`torch.nn.utils.clip_grad_norm_`). A parameter without gradient counts 0.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        // As torch does on CPU: the 2-norm of each gradient, then the 2-norm of those norms (no squared copy
        // of every gradient).
        let mut norms = Vec::with_capacity(self.params.len());
        for p in &self.params {
            let grad = p.param.grad();
            if grad.defined() {
                norms.push(grad.f_to_kind(Kind::Float)?.f_norm()?);
            }
        }
        if norms.is_empty() {
            return Ok(0.0);
        }
        let total_norm = Tensor::f_stack(&norms, 0)?.f_norm()?.f_double_value(&[])?;
        if max_norm > 0.0 {
            let coef = (max_norm / (total_norm + 1e-6)).min(1.0);
            if coef < 1.0 {
                for p in &self.params {
                    let mut grad = p.param.grad();
                    if grad.defined() {
                        let _ = grad.f_mul_scalar_(coef)?;
                    }
                }
            }
        }
        Ok(total_norm)
    }

    /// One AdamW update at learning rate `lr` from the current gradients.
    pub fn step(&mut self, lr: f64) -> Result<()> {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let AdamWConfig { beta1, beta2, eps, weight_decay } = self.config;
        let t = self.step as i32;
        let bias_correction1 = 1.0 - beta1.powi(t);
        let bias_correction2_sqrt = (1.0 - beta2.powi(t)).sqrt();
        let step_size = lr / bias_correction1;
        for p in &mut self.params {
            let grad = p.param.grad();
            if !grad.defined() {
                continue;
            }
            let grad = grad.f_to_kind(Kind::Float)?;
            if weight_decay != 0.0 {
                let _ = p.param.f_mul_scalar_(1.0 - lr * weight_decay)?;
            }
            let _ = p.exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
            let _ = p.exp_avg_sq.f_mul_scalar_(beta2)?;
            let _ = p.exp_avg_sq.f_addcmul_(&grad, &grad.f_mul_scalar(1.0 - beta2)?)?;
            // One scratch buffer per parameter, updated in place (torch's single-tensor AdamW allocates as
            // little): a fresh buffer per operation costs page faults over every weight, every step.
            let mut scratch = p.exp_avg_sq.f_sqrt()?;
            let _ = scratch.f_div_scalar_(bias_correction2_sqrt)?.f_add_scalar_(eps)?;
            let _ = p.exp_avg.f_div_out(&scratch, &scratch)?;
            let _ = scratch.f_mul_scalar_(-step_size)?;
            let _ = p.param.f_add_(&scratch.f_to_kind(p.param.kind())?)?;
        }
        Ok(())
    }
}

/// Linear warmup from 0 then cosine decay to 0, as a multiplier of the peak rate at optimiser step `step`
/// (0-based: the first update uses `lr_factor(0, ..)`, which is 0 when there is warmup, as in the HF Trainer).
pub fn lr_factor(step: usize, warmup_steps: usize, total_steps: usize) -> f64 {
    if step < warmup_steps {
        return step as f64 / warmup_steps.max(1) as f64;
    }
    let progress = (step - warmup_steps) as f64 / (total_steps.saturating_sub(warmup_steps)).max(1) as f64;
    (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
}

/// `ceil(warmup_ratio * total_steps)`, HF's `get_warmup_steps`.
pub fn warmup_steps(warmup_ratio: f64, total_steps: usize) -> usize {
    (warmup_ratio * total_steps as f64).ceil() as usize
}
