//! Scoring texts by a model: each text's mean next-token negative log-likelihood, the quantity perplexity is
//! the exponential of. No BOS is added (the text is scored as written), and the softmax runs in f64 on
//! f32 logits so that the score does not depend on the decoding precision.

use crate::error::{ModelError, Result};
use crate::llama_model::{LlamaModel, preview};
use tch::{Kind, Tensor};

/// The mean NLL (nats per token) of every token of each text given the tokens before it; a text needs at least
/// two tokens. Texts are scored one at a time, so padding never enters a score.
pub fn mean_nll(model: &LlamaModel, texts: &[&str]) -> Result<Vec<f64>> {
    let device = model.device();
    let mut scores = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        let ids = model.encode(text)?;
        if ids.len() < 2 {
            return Err(ModelError::Input(format!(
                "text {index} {:?} has {} token(s); scoring needs at least 2",
                preview(text),
                ids.len()
            )));
        }
        let n = ids.len() as i64;
        let input = Tensor::f_from_slice(&ids)?.f_unsqueeze(0)?.f_to_device(device)?;
        let nll = tch::no_grad(|| -> Result<f64> {
            let hidden = model.llama.hidden_states(&input, None);
            let logits = model.llama.logits(&hidden.f_narrow(1, 0, n - 1)?).f_to_kind(Kind::Double)?;
            let targets = input.f_narrow(1, 1, n - 1)?;
            let log_probs = logits.f_log_softmax(-1, Kind::Double)?.f_gather(2, &targets.f_unsqueeze(-1)?, false)?;
            Ok(-log_probs.f_mean(Kind::Double)?.f_double_value(&[])?)
        })?;
        scores.push(nll);
    }
    Ok(scores)
}
