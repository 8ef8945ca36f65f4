//! The embed stage: the vectors InsCL measures with. Instruction embeddings are the point sets of the
//! Wasserstein distance W(i, j) between tasks (the paper embeds each instruction with LLaMA-7B's mean input
//! embedding; `llm-mean` here, with MiniLM as the default `minilm`); tag embeddings are what DBSCAN merges
//! near-duplicate intention tags over before InsInfo counts them (the paper uses phrase-bert; MiniLM stands in).
//!
//! [`embed_texts`] batches texts sorted by length, so a batch pads to similar lengths, and returns the rows
//! in the input order. A vector that is not finite or has zero norm is an error naming its row: downstream the
//! cosine cost and DBSCAN would turn it into NaN distances silently.
//!
//! A [`VectorCache`] lets a run skip texts it has embedded before: embedding SuperNI's train instances takes
//! CPU-hours, and without it a killed run, or a run over a few more instances, would start again from zero.

use inscl_model::encoder::TextEncoder;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("encoder {encoder}: {source}")]
    Model { encoder: String, source: inscl_model::ModelError },
    #[error("row {row} ({id}): the {encoder} embedding {problem}")]
    BadVector { row: usize, id: String, encoder: String, problem: &'static str },
    #[error("encoder {encoder} returned {got} vectors for {expected} texts")]
    Count { encoder: String, got: usize, expected: usize },
    #[error("row {row} ({id}): the vector cache failed: {reason}")]
    Cache { row: usize, id: String, reason: String },
}

/// Vectors of texts embedded before by the same encoder. The implementation keys them by the encoder's
/// identity and the text; a cached vector that fails the checks of a fresh one is recomputed, not trusted.
pub trait VectorCache {
    fn get(&self, text: &str) -> Result<Option<Vec<f32>>, String>;
    fn put(&self, text: &str, vector: &[f32]) -> Result<(), String>;
}


/// Row-major embeddings of `texts` (`texts.len() × dim`), in the input order. `ids` name rows in errors.
/// Texts found in `cache` are not embedded again; each fresh vector is put there as soon as its batch is done.
pub fn embed_texts(
    encoder: &dyn TextEncoder,
    ids: &[String],
    texts: &[String],
    batch_size: usize,
    cache: &dyn VectorCache,
    progress: &dyn Fn(usize),
) -> Result<(Vec<f32>, usize), EmbedError> {
    let dim = encoder.dim();
    let name = encoder.name().to_string();
    let id = |row: usize| ids.get(row).cloned().unwrap_or_default();
    let mut out = vec![0f32; texts.len() * dim];
    let mut todo: Vec<usize> = Vec::with_capacity(texts.len());
    for (row, text) in texts.iter().enumerate() {
        match cache.get(text).map_err(|reason| EmbedError::Cache { row, id: id(row), reason })? {
            Some(v) if check(&v, dim).is_ok() => out[row * dim..(row + 1) * dim].copy_from_slice(&v),
            _ => todo.push(row),
        }
    }
    progress(texts.len() - todo.len());
    // Character length is a cheap proxy for token length; the stable sort keeps equal lengths in id order.
    todo.sort_by_key(|&i| texts[i].len());
    for chunk in todo.chunks(batch_size.max(1)) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
        let vecs = encoder.encode(&batch).map_err(|source| EmbedError::Model { encoder: name.clone(), source })?;
        if vecs.len() != batch.len() {
            return Err(EmbedError::Count { encoder: name, got: vecs.len(), expected: batch.len() });
        }
        for (&row, v) in chunk.iter().zip(vecs) {
            check(&v, dim).map_err(|problem| EmbedError::BadVector { row, id: id(row), encoder: name.clone(), problem })?;
            cache.put(&texts[row], &v).map_err(|reason| EmbedError::Cache { row, id: id(row), reason })?;
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
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// Maps a text to (length, number of 'a's + 1) and records every text it is asked to encode.
    struct CountingEncoder {
        seen: RefCell<Vec<String>>,
    }

    impl TextEncoder for CountingEncoder {
        fn name(&self) -> &str {
            "counting"
        }

        fn dim(&self) -> usize {
            2
        }

        fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, inscl_model::ModelError> {
            self.seen.borrow_mut().extend(texts.iter().map(|t| t.to_string()));
            Ok(texts.iter().map(|t| vec![t.len() as f32, t.matches('a').count() as f32 + 1.0]).collect())
        }
    }

    #[derive(Default)]
    struct MapCache(RefCell<HashMap<String, Vec<f32>>>);

    impl VectorCache for MapCache {
        fn get(&self, text: &str) -> Result<Option<Vec<f32>>, String> {
            Ok(self.0.borrow().get(text).cloned())
        }

        fn put(&self, text: &str, vector: &[f32]) -> Result<(), String> {
            self.0.borrow_mut().insert(text.to_string(), vector.to_vec());
            Ok(())
        }
    }

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn cached_texts_are_not_embedded_again_and_give_the_same_rows() {
        let encoder = CountingEncoder { seen: RefCell::new(Vec::new()) };
        let cache = MapCache::default();
        let first = strings(&["banana", "kiwi", "apple"]);
        let ids = strings(&["0", "1", "2", "3"]);
        let (fresh, dim) = embed_texts(&encoder, &ids, &first, 2, &cache, &|_| {}).unwrap();
        assert_eq!((dim, fresh), (2, vec![6.0, 4.0, 4.0, 1.0, 5.0, 2.0]));
        assert_eq!(encoder.seen.borrow().len(), 3);

        // A corrupt entry (wrong width) is recomputed rather than trusted.
        cache.0.borrow_mut().insert("kiwi".into(), vec![9.0]);
        encoder.seen.borrow_mut().clear();
        let done = std::cell::Cell::new(0);
        let second = strings(&["apple", "kiwi", "banana", "fig"]);
        let (rows, _) = embed_texts(&encoder, &ids, &second, 8, &cache, &|n| done.set(done.get() + n)).unwrap();
        assert_eq!(rows, vec![5.0, 2.0, 4.0, 1.0, 6.0, 4.0, 3.0, 1.0]);
        assert_eq!(*encoder.seen.borrow(), strings(&["fig", "kiwi"]), "only the new and the corrupt text");
        assert_eq!(done.get(), 4, "progress counts cached rows too");
        assert_eq!(cache.0.borrow()["kiwi"], vec![4.0, 1.0]);
    }

    #[test]
    fn rejects_nan_zero_and_wrong_width() {
        assert_eq!(check(&[1.0, 0.0], 2), Ok(()));
        assert_eq!(check(&[f32::NAN, 0.0], 2), Err("is not finite (NaN or infinite)"));
        assert_eq!(check(&[0.0, 0.0], 2), Err("has zero norm"));
        assert_eq!(check(&[1.0], 2), Err("has the wrong width"));
    }
}
