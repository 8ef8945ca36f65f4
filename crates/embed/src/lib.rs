//! The embed stage: the vectors InsCL measures with. Instruction embeddings are the point sets of the
//! Wasserstein distance W(i, j) between tasks (the paper embeds each instruction with LLaMA-7B's mean input
//! embedding; `llm-mean` here, with MiniLM as the default `minilm`); tag embeddings are what DBSCAN merges
//! near-duplicate intention tags over before InsInfo counts them (the paper uses phrase-bert; MiniLM stands in).
//!
//! [`embed_texts`] batches texts sorted by length, so a batch pads to similar lengths, and returns the rows
//! in the input order. A vector that is not finite or has zero norm is an error naming its row: downstream the
//! cosine cost and DBSCAN would turn it into NaN distances silently.

use inscl_model::encoder::TextEncoder;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("encoder {encoder}: {source}")]
    Model { encoder: String, source: inscl_model::ModelError },
    #[error("row {row} ({id}): the {encoder} embedding {problem}")]
    BadVector { row: usize, id: String, encoder: String, problem: &'static str },
    #[error("encoder {encoder} returned {got} vectors for {expected} texts")]
    Count { encoder: String, got: usize, expected: usize },
}

/// Row-major embeddings of `texts` (`texts.len() × dim`), in the input order. `ids` name rows in errors.
pub fn embed_texts(
    encoder: &dyn TextEncoder,
    ids: &[String],
    texts: &[String],
    batch_size: usize,
    progress: &dyn Fn(usize),
) -> Result<(Vec<f32>, usize), EmbedError> {
    let dim = encoder.dim();
    let name = encoder.name().to_string();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    // Character length is a cheap proxy for token length; the stable sort keeps equal lengths in id order.
    order.sort_by_key(|&i| texts[i].len());
    let mut out = vec![0f32; texts.len() * dim];
    for chunk in order.chunks(batch_size.max(1)) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
        let vecs = encoder.encode(&batch).map_err(|source| EmbedError::Model { encoder: name.clone(), source })?;
        if vecs.len() != batch.len() {
            return Err(EmbedError::Count { encoder: name, got: vecs.len(), expected: batch.len() });
        }
        for (&row, v) in chunk.iter().zip(vecs) {
            check(&v, dim).map_err(|problem| EmbedError::BadVector {
                row,
                id: ids.get(row).cloned().unwrap_or_default(),
                encoder: name.clone(),
                problem,
            })?;
            out[row * dim..(row + 1) * dim].copy_from_slice(&v);
        }
        progress(chunk.len());
    }
    Ok((out, dim))
}

fn check(v: &[f32], dim: usize) -> Result<(), &'static str> {
    if v.len() != dim {
        return Err("has the wrong width");
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err("is not finite (NaN or infinite)");
    }
    if v.iter().all(|&x| x == 0.0) {
        return Err("has zero norm");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_nan_zero_and_wrong_width() {
        assert_eq!(check(&[1.0, 0.0], 2), Ok(()));
        assert_eq!(check(&[f32::NAN, 0.0], 2), Err("is not finite (NaN or infinite)"));
        assert_eq!(check(&[0.0, 0.0], 2), Err("has zero norm"));
        assert_eq!(check(&[1.0], 2), Err("has the wrong width"));
    }
}
