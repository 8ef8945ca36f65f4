//! Rotary position embeddings as `transformers` computes them: the RoPE types `default`, `linear`, `dynamic`
//! (NTK-aware, recomputed from the longest position of each call) and `llama3`, read from either config
//! convention (transformers 4.x: top-level `rope_theta` + `rope_scaling`; transformers 5.x: `rope_parameters`).
//! Any other type, and any key of those objects that would change the frequencies but is not implemented, is an
//! error naming it: a scaled RoPE silently run as plain RoPE decodes plausible but wrong text.

use crate::error::{ModelError, Result};
use serde_json::{Map, Value};
use tch::{Device, Kind, Tensor};

/// How the inverse frequencies are derived from `theta`.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    Default,
    /// Positions divided by `factor`.
    Linear { factor: f64 },
    /// NTK-aware: the base grows once a call sees positions beyond `max_position_embeddings`.
    Dynamic { factor: f64, max_position_embeddings: usize },
    /// Llama 3.x: low frequencies divided by `factor`, a smooth ramp between the two wavelength bounds.
    Llama3 { factor: f64, low_freq_factor: f64, high_freq_factor: f64, original_max_position_embeddings: usize },
}

/// The resolved rotary embedding of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    pub theta: f64,
    pub head_dim: usize,
    pub scaling: RopeScaling,
}

fn config_error(message: String) -> ModelError {
    ModelError::Config(message)
}

fn number(object: &Map<String, Value>, name: &str, key: &str) -> Result<f64> {
    match object.get(key) {
        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Some(other) => Err(config_error(format!("{name}.{key} = {other} is not a number"))),
        None => Err(config_error(format!("{name}.{key} is required for this rope_type"))),
    }
}

impl Rope {
    /// Resolves the RoPE of a `config.json` object. `name` is the key of the scaling object that was found
    /// (`rope_scaling` or `rope_parameters`), used in errors; `theta` is the top-level or resolved base.
    pub fn from_config(
        scaling: Option<(&str, &Map<String, Value>)>,
        theta: f64,
        head_dim: usize,
        max_position_embeddings: usize,
    ) -> Result<Self> {
        let Some((name, object)) = scaling else {
            return Ok(Rope { theta, head_dim, scaling: RopeScaling::Default });
        };
        // transformers 4.x wrote `type`, later versions `rope_type`; both name the same thing.
        let kind = match (object.get("rope_type"), object.get("type")) {
            (Some(Value::String(a)), Some(Value::String(b))) if a != b => {
                return Err(config_error(format!("{name}.rope_type = {a:?} disagrees with {name}.type = {b:?}")));
            }
            (Some(Value::String(a)), _) | (None, Some(Value::String(a))) => a.clone(),
            (None, None) => "default".to_string(),
            (Some(v), _) | (_, Some(v)) => return Err(config_error(format!("{name}.rope_type = {v} is not a string"))),
        };
        let allowed: &[&str] = match kind.as_str() {
            "default" => &[],
            "linear" => &["factor"],
            "dynamic" => &["factor"],
            "llama3" => &["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
            other => return Err(config_error(format!("{name}.rope_type = {other:?} is not implemented"))),
        };
        for (key, value) in object {
            let known = matches!(key.as_str(), "rope_type" | "type" | "rope_theta") || allowed.contains(&key.as_str());
            // A partial rotary factor of 1 rotates the whole head, which is what is implemented.
            let harmless = key == "partial_rotary_factor" && value.as_f64() == Some(1.0);
            if !known && !harmless {
                return Err(config_error(format!("{name}.{key} = {value} is not implemented for rope_type {kind:?}")));
            }
        }
        let scaling = match kind.as_str() {
            "default" => RopeScaling::Default,
            "linear" => RopeScaling::Linear { factor: number(object, name, "factor")? },
            "dynamic" => RopeScaling::Dynamic { factor: number(object, name, "factor")?, max_position_embeddings },
            _ => RopeScaling::Llama3 {
                factor: number(object, name, "factor")?,
                low_freq_factor: number(object, name, "low_freq_factor")?,
                high_freq_factor: number(object, name, "high_freq_factor")?,
                original_max_position_embeddings: number(object, name, "original_max_position_embeddings")? as usize,
            },
        };
        let rope = Rope { theta, head_dim, scaling };
        rope.check(name)?;
        Ok(rope)
    }

    fn check(&self, name: &str) -> Result<()> {
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { Err(config_error(format!("{name}.{key} = {v} must be positive"))) }
        };
        match self.scaling {
            RopeScaling::Default => Ok(()),
            RopeScaling::Linear { factor } | RopeScaling::Dynamic { factor, .. } => positive("factor", factor),
            RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings } => {
                positive("factor", factor)?;
                positive("low_freq_factor", low_freq_factor)?;
                positive("original_max_position_embeddings", original_max_position_embeddings as f64)?;
                if high_freq_factor <= low_freq_factor {
                    return Err(config_error(format!(
                        "{name}.high_freq_factor = {high_freq_factor} must exceed low_freq_factor = {low_freq_factor}"
                    )));
                }
                Ok(())
            }
        }
    }

    /// `1 / base^(2i / dim)` in f32, as `transformers` computes it.
    fn plain_inv_freq(base: f64, dim: usize, device: Device) -> Tensor {
        let exponents = Tensor::arange_start_step(0, dim as i64, 2, (Kind::Int64, device)).to_kind(Kind::Float) / dim as f64;
        Tensor::pow_scalar(base, &exponents).reciprocal()
    }

    /// The inverse frequencies for a call whose largest position is `seq_len - 1` (only `dynamic` depends on it).
    pub fn inv_freq(&self, seq_len: i64, device: Device) -> Tensor {
        let dim = self.head_dim;
        match self.scaling {
            RopeScaling::Default => Self::plain_inv_freq(self.theta, dim, device),
            RopeScaling::Linear { factor } => Self::plain_inv_freq(self.theta, dim, device) / factor,
            RopeScaling::Dynamic { factor, max_position_embeddings } => {
                let max = max_position_embeddings as f64;
                let seq = (seq_len as f64).max(max);
                let d = dim as f64;
                let base = self.theta * ((factor * seq / max) - (factor - 1.0)).powf(d / (d - 2.0));
                Self::plain_inv_freq(base, dim, device)
            }
            RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings } => {
                let inv_freq = Self::plain_inv_freq(self.theta, dim, device);
                let old = original_max_position_embeddings as f64;
                let (low_wavelen, high_wavelen) = (old / low_freq_factor, old / high_freq_factor);
                let wavelen = inv_freq.reciprocal() * (2.0 * std::f64::consts::PI);
                let scaled = (&inv_freq / factor).where_self(&wavelen.gt(low_wavelen), &inv_freq);
                let smooth = ((wavelen.reciprocal() * old) - low_freq_factor) / (high_freq_factor - low_freq_factor);
                let smoothed: Tensor = (smooth.ones_like() - &smooth) * &scaled / factor + &smooth * &scaled;
                let medium = wavelen.ge(high_wavelen).logical_and(&wavelen.le(low_wavelen));
                smoothed.where_self(&medium, &scaled)
            }
        }
    }

    /// Whether the frequencies depend on the positions of the call (then [`Self::inv_freq`] runs per call).
    pub fn is_dynamic(&self) -> bool {
        matches!(self.scaling, RopeScaling::Dynamic { .. })
    }
}

/// Rotary tables for one call: `[batch, 1, seq, head]` each, broadcast over heads.
pub(crate) struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

fn rotate_half(xs: &Tensor) -> Tensor {
    let half = xs.size()[3] / 2;
    let first = xs.narrow(3, 0, half);
    let second = xs.narrow(3, half, half);
    Tensor::cat(&[second.neg(), first], 3)
}

impl Rotary {
    pub(crate) fn new(positions: &Tensor, inv_freq: &Tensor, kind: Kind) -> Self {
        let angles = positions.to_kind(Kind::Float).unsqueeze(-1) * inv_freq;
        let angles = Tensor::cat(&[&angles, &angles], -1).unsqueeze(1);
        Rotary { cos: angles.cos().to_kind(kind), sin: angles.sin().to_kind(kind) }
    }

    pub(crate) fn apply(&self, xs: &Tensor) -> Tensor {
        xs * &self.cos + rotate_half(xs) * &self.sin
    }
}
