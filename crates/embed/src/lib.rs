//! The embed stage: the vectors InsCL measures with. Instruction embeddings are the point sets of the
//! Wasserstein distance W(i, j) between tasks (the paper embeds each instruction with LLaMA-7B's mean input
//! embedding; `llm-mean` here, with MiniLM as the default `minilm`); tag embeddings are what DBSCAN merges
//! near-duplicate intention tags over before InsInfo counts them (the paper uses phrase-bert; MiniLM stands in).
//!
//! [`embed_texts`] embeds each distinct *token sequence* once: identical texts, and texts that truncate to the
//! same ids (SuperNI instances whose definition alone fills MiniLM's 256-token window: about 5 % of SuperNI's
//! train instances), share one forward pass. The sequences are sorted by token count, so a batch pads to
//! similar lengths, and the rows come back in the input order. The vectors are the encoder's for those ids, so
//! this changes no value beyond the rounding of a different batch. A vector that is not finite or has zero
//! norm is an error naming its row: downstream the cosine cost and DBSCAN would turn it into NaN distances
//! silently.
//!
//! A [`VectorCache`] lets a run skip texts it has embedded before: embedding SuperNI's train instances takes
//! tens of minutes on 2 cores, and without it a killed run, or a run over a few more instances, would start again
//! from zero.

use inscl_model::encoder::TextEncoder;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("encoder {encoder}: {source}")]
    Model { encoder: String, source: inscl_model::ModelError },
    #[error("row {row} ({id}): encoder {encoder}: {source}")]
    Tokenize { row: usize, id: String, encoder: String, source: inscl_model::ModelError },
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

/// The vectors of [`embed_texts`] and how much work they took.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    /// Row-major, `rows × dim`, in the input order.
    pub data: Vec<f32>,
    pub dim: usize,
    /// Rows whose vector came from the cache.
    pub cached: usize,
    /// Forward-pass rows: the distinct token sequences among the rows not cached.
    pub sequences: usize,
}

/// Embeddings of `texts`, in the input order; `ids` name rows in errors. Texts found in `cache` are not
/// embedded again; each fresh vector is put there as soon as its batch is done. `batch_size` token sequences
/// go through the encoder at a time; `progress` counts rows (cached ones at once).
pub fn embed_texts(
    encoder: &dyn TextEncoder,
    ids: &[String],
    texts: &[String],
    batch_size: usize,
    cache: &dyn VectorCache,
    progress: &dyn Fn(usize),
) -> Result<Embedded, EmbedError> {
    let dim = encoder.dim();
    let name = encoder.name().to_string();
    let id = |row: usize| ids.get(row).cloned().unwrap_or_default();
    let mut out = vec![0f32; texts.len() * dim];
    // Distinct texts not in the cache, each with the rows that hold it (first-seen order).
    let mut text_rows: Vec<Vec<usize>> = Vec::new();
    let mut text_index: HashMap<&str, usize> = HashMap::new();
    for (row, text) in texts.iter().enumerate() {
        if let Some(&t) = text_index.get(text.as_str()) {
            text_rows[t].push(row);
            continue;
        }
        match cache.get(text).map_err(|reason| EmbedError::Cache { row, id: id(row), reason })? {
            Some(v) if check(&v, dim).is_ok() => out[row * dim..(row + 1) * dim].copy_from_slice(&v),
            _ => {
                text_index.insert(text.as_str(), text_rows.len());
                text_rows.push(vec![row]);
            }
        }
    }
    let todo_rows: usize = text_rows.iter().map(Vec::len).sum();
    let cached = texts.len() - todo_rows;
    progress(cached);

    // Distinct token sequences, each with the distinct texts that tokenize to it.
    let mut sequences: Vec<(Vec<i64>, Vec<usize>)> = Vec::new();
    let mut sequence_index: HashMap<Vec<i64>, usize> = HashMap::new();
    for (chunk_index, chunk) in text_rows.chunks(TOKENIZE_CHUNK).enumerate() {
        let chunk_texts: Vec<&str> = chunk.iter().map(|rows| texts[rows[0]].as_str()).collect();
        let tokens = match encoder.tokenize(&chunk_texts) {
            Ok(tokens) if tokens.len() == chunk.len() => tokens,
            Ok(tokens) => return Err(EmbedError::Count { encoder: name, got: tokens.len(), expected: chunk.len() }),
            Err(_) => return Err(tokenize_error(encoder, &name, chunk, texts, &id)),
        };
        for (offset, tokens) in tokens.into_iter().enumerate() {
            let t = chunk_index * TOKENIZE_CHUNK + offset;
            match sequence_index.get(&tokens) {
                Some(&s) => sequences[s].1.push(t),
                None => {
                    sequence_index.insert(tokens.clone(), sequences.len());
                    sequences.push((tokens, vec![t]));
                }
            }
        }
    }
    drop(sequence_index);
    // The stable sort keeps equal lengths in first-row order.
    sequences.sort_by_key(|(tokens, _)| tokens.len());
    for chunk in sequences.chunks(batch_size.max(1)) {
        let batch: Vec<&[i64]> = chunk.iter().map(|(tokens, _)| tokens.as_slice()).collect();
        let vecs = encoder.encode_tokens(&batch).map_err(|source| EmbedError::Model { encoder: name.clone(), source })?;
        if vecs.len() != batch.len() {
            return Err(EmbedError::Count { encoder: name, got: vecs.len(), expected: batch.len() });
        }
        let mut done = 0;
        for ((_, group), v) in chunk.iter().zip(vecs) {
            let first = text_rows[group[0]][0];
            check(&v, dim).map_err(|problem| EmbedError::BadVector { row: first, id: id(first), encoder: name.clone(), problem })?;
            for &t in group {
                let rows = &text_rows[t];
                cache.put(&texts[rows[0]], &v).map_err(|reason| EmbedError::Cache { row: rows[0], id: id(rows[0]), reason })?;
                for &row in rows {
                    out[row * dim..(row + 1) * dim].copy_from_slice(&v);
                }
                done += rows.len();
            }
        }
        progress(done);
    }
    Ok(Embedded { data: out, dim, cached, sequences: sequences.len() })
}

/// Texts tokenized per call: big enough for the tokenizer's own parallelism, small enough that a failure is
/// cheap to pin on its row.
const TOKENIZE_CHUNK: usize = 1024;

/// The error of the first text in `chunk` that fails to tokenize on its own, naming its row.
fn tokenize_error(
    encoder: &dyn TextEncoder,
    name: &str,
    chunk: &[Vec<usize>],
    texts: &[String],
    id: &dyn Fn(usize) -> String,
) -> EmbedError {
    for rows in chunk {
        let row = rows[0];
        if let Err(source) = encoder.tokenize(&[texts[row].as_str()]) {
            return EmbedError::Tokenize { row, id: id(row), encoder: name.to_string(), source };
        }
    }
    let source = inscl_model::ModelError::Input("a batch of texts failed to tokenize, each text alone did not".into());
    EmbedError::Tokenize { row: chunk[0][0], id: id(chunk[0][0]), encoder: name.to_string(), source }
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

    /// Tokens are a text's first [`Self::WINDOW`] chars (so longer texts truncate), vectors are (token count,
    /// number of 'a's + 1); records every token row it is asked to encode. "bad" fails to tokenize.
    struct CountingEncoder {
        seen: RefCell<Vec<String>>,
    }

    impl CountingEncoder {
        const WINDOW: usize = 6;
    }

    impl TextEncoder for CountingEncoder {
        fn name(&self) -> &str {
            "counting"
        }

        fn dim(&self) -> usize {
            2
        }

        fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>, inscl_model::ModelError> {
            texts
                .iter()
                .map(|t| match *t {
                    "bad" => Err(inscl_model::ModelError::Input("untokenizable".into())),
                    _ => Ok(t.chars().take(Self::WINDOW).map(|c| c as i64).collect()),
                })
                .collect()
        }

        fn encode_tokens(&self, rows: &[&[i64]]) -> Result<Vec<Vec<f32>>, inscl_model::ModelError> {
            let text = |row: &[i64]| row.iter().map(|&c| char::from_u32(c as u32).unwrap()).collect::<String>();
            self.seen.borrow_mut().extend(rows.iter().map(|r| text(r)));
            Ok(rows.iter().map(|r| vec![r.len() as f32, text(r).matches('a').count() as f32 + 1.0]).collect())
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

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn cached_texts_are_not_embedded_again_and_give_the_same_rows() {
        let encoder = CountingEncoder { seen: RefCell::new(Vec::new()) };
        let cache = MapCache::default();
        let first = strings(&["banana", "kiwi", "apple"]);
        let fresh = embed_texts(&encoder, &ids(3), &first, 2, &cache, &|_| {}).unwrap();
        assert_eq!((fresh.dim, &fresh.data), (2, &vec![6.0, 4.0, 4.0, 1.0, 5.0, 2.0]));
        assert_eq!((fresh.cached, fresh.sequences), (0, 3));
        assert_eq!(*encoder.seen.borrow(), strings(&["kiwi", "apple", "banana"]), "shortest sequences first");

        // A corrupt entry (wrong width) is recomputed rather than trusted.
        cache.0.borrow_mut().insert("kiwi".into(), vec![9.0]);
        encoder.seen.borrow_mut().clear();
        let done = std::cell::Cell::new(0);
        let second = strings(&["apple", "kiwi", "banana", "fig"]);
        let rows = embed_texts(&encoder, &ids(4), &second, 8, &cache, &|n| done.set(done.get() + n)).unwrap();
        assert_eq!(rows.data, vec![5.0, 2.0, 4.0, 1.0, 6.0, 4.0, 3.0, 1.0]);
        assert_eq!((rows.cached, rows.sequences), (2, 2));
        assert_eq!(*encoder.seen.borrow(), strings(&["fig", "kiwi"]), "only the new and the corrupt text");
        assert_eq!(done.get(), 4, "progress counts cached rows too");
        assert_eq!(cache.0.borrow()["kiwi"], vec![4.0, 1.0]);
    }

    #[test]
    fn each_distinct_token_sequence_is_encoded_once() {
        let encoder = CountingEncoder { seen: RefCell::new(Vec::new()) };
        let cache = MapCache::default();
        // "bananas split" and "bananas foster" truncate to the same 6 tokens; "fig" comes twice.
        let texts = strings(&["fig", "bananas split", "kiwi", "bananas foster", "fig", "ab"]);
        let done = std::cell::Cell::new(0);
        let out = embed_texts(&encoder, &ids(6), &texts, 2, &cache, &|n| done.set(done.get() + n)).unwrap();
        assert_eq!(*encoder.seen.borrow(), strings(&["ab", "fig", "kiwi", "banana"]));
        assert_eq!((out.cached, out.sequences, done.get()), (0, 4, 6));
        let row = |r: usize| &out.data[r * 2..r * 2 + 2];
        for (r, want) in [(0, [3.0, 1.0]), (1, [6.0, 4.0]), (2, [4.0, 1.0]), (3, [6.0, 4.0]), (4, [3.0, 1.0]), (5, [2.0, 2.0])] {
            assert_eq!(row(r), want, "row {r}");
        }
        // Every distinct text is cached under its own key, the shared sequence's vector under both.
        let cached = cache.0.borrow();
        assert_eq!(cached.len(), 5);
        assert_eq!((&cached["bananas split"], &cached["bananas foster"]), (&vec![6.0, 4.0], &vec![6.0, 4.0]));
    }

    #[test]
    fn a_text_that_fails_to_tokenize_is_named_by_row() {
        let encoder = CountingEncoder { seen: RefCell::new(Vec::new()) };
        let texts = strings(&["fine", "bad", "also fine"]);
        let names = strings(&["i0", "i1", "i2"]);
        let err = embed_texts(&encoder, &names, &texts, 4, &MapCache::default(), &|_| {}).unwrap_err();
        assert_eq!(err.to_string(), "row 1 (i1): encoder counting: invalid input: untokenizable");
        assert!(encoder.seen.borrow().is_empty(), "nothing is encoded before every text tokenized");
    }

    #[test]
    fn rejects_nan_zero_and_wrong_width() {
        assert_eq!(check(&[1.0, 0.0], 2), Ok(()));
        assert_eq!(check(&[f32::NAN, 0.0], 2), Err("is not finite (NaN or infinite)"));
        assert_eq!(check(&[0.0, 0.0], 2), Err("has zero norm"));
        assert_eq!(check(&[1.0], 2), Err("has the wrong width"));
    }
}
