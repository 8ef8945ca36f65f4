//! The offline, deterministic tagger: KeyBERT-style keyphrases of the instruction.
//!
//! Candidates are the instruction's lowercased word 1- to 3-grams (KeyBERT's `keyphrase_ngram_range=(1, 3)`)
//! that neither start nor end with a stop word (scikit-learn's English list), a one-character token or a
//! token without letters; n-grams do not cross clause punctuation (`.,;:!?()[]{}"` …, line breaks). Each
//! candidate is ranked by cosine similarity between its embedding and the whole instruction's; Maximal
//! Marginal Relevance (KeyBERT's `use_mmr`) then picks tags one by one, maximising
//! `(1 − diversity) · relevance − diversity · max cosine to the tags already picked`. Between `min_tags` and
//! `max_tags` it stops at the first pick whose MMR score is not positive, i.e. once the best remaining
//! candidate is more redundant than relevant (fewer tags only when there are fewer candidates). Ties go to the
//! earlier candidate (by position in the instruction, then by length), so the result is deterministic.
//!
//! [`Tagger::tag`] tags a whole batch at once ([`KeyphraseTagger::keyphrases_many`]): every distinct text of
//! the batch (instructions and candidates; SuperNI definitions share many phrases) is embedded once, and the
//! short phrases are embedded apart from the long instructions. Embedding one instruction with its own
//! candidates instead ([`KeyphraseTagger::keyphrases`]) pads most of its phrases to the instruction's length
//! in the embedder's length-sorted batches, which made tagging several times slower than KeyBERT (which
//! also embeds its whole vocabulary once). The embedding model parallelises inside each call (libtorch
//! intra-op threads), so the cores are used where the time is spent.

use crate::stopwords::is_stop_word;
use crate::{AnnotateError, Instruction, PhraseEmbedder, RawTag, TagList, Tagger};
use std::collections::HashMap;

/// Version of the candidate and selection rules, part of the config.
const KEYPHRASE_VERSION: u32 = 1;
/// Texts per embedder call when one instruction is tagged alone.
const EMBED_CHUNK: usize = 256;
/// Texts per embedder call in the batched path; they arrive sorted by length, so chunk boundaries cost no
/// padding, and a bounded chunk bounds the embedder's memory.
const BATCH_EMBED_CHUNK: usize = 2048;

pub struct KeyphraseTagger {
    pub embedder: Box<dyn PhraseEmbedder>,
    pub min_tags: usize,
    pub max_tags: usize,
    /// MMR's trade-off: 0 ranks by relevance only, 1 by novelty only.
    pub mmr_diversity: f32,
}

impl KeyphraseTagger {
    /// The defaults: 3 to 8 tags, diversity 0.5.
    pub fn new(embedder: Box<dyn PhraseEmbedder>) -> Self {
        Self {
            embedder,
            min_tags: 3,
            max_tags: 8,
            mmr_diversity: 0.5,
        }
    }

    fn validate(&self) -> Result<(), AnnotateError> {
        if self.min_tags == 0 || self.min_tags > self.max_tags {
            return Err(AnnotateError::Config(format!(
                "keyphrase tags: need 1 <= min_tags <= max_tags, got {}..{}",
                self.min_tags, self.max_tags
            )));
        }
        if !(0.0..=1.0).contains(&self.mmr_diversity) {
            return Err(AnnotateError::Config(format!(
                "mmr_diversity {} is not in [0, 1]",
                self.mmr_diversity
            )));
        }
        Ok(())
    }

    /// The keyphrases of one instruction, with their cosine to the instruction as explanation.
    pub fn keyphrases(&self, text: &str) -> Result<Vec<RawTag>, AnnotateError> {
        self.validate()?;
        let candidates = candidate_phrases(text);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<&str> = std::iter::once(text)
            .chain(candidates.iter().map(String::as_str))
            .collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(EMBED_CHUNK) {
            let embedded = self.embedder.embed(chunk)?;
            if embedded.len() != chunk.len() {
                return Err(AnnotateError::Embedder(format!(
                    "returned {} vectors for {} texts",
                    embedded.len(),
                    chunk.len()
                )));
            }
            vectors.extend(embedded.into_iter().map(unit));
        }
        check_dimensions(&vectors)?;
        let (document, phrases) = vectors.split_first().expect("texts start with the instruction");
        let phrases: Vec<&[f32]> = phrases.iter().map(Vec::as_slice).collect();
        Ok(self.select(&candidates, document, &phrases))
    }

    /// The keyphrases of many instructions, exactly as [`Self::keyphrases`] gives them one by one (given an
    /// embedder whose vector for a text does not depend on the other texts of the call), but with every
    /// distinct text embedded once, in few calls, phrases apart from the long instructions.
    pub fn keyphrases_many(&self, texts: &[&str]) -> Result<Vec<Vec<RawTag>>, AnnotateError> {
        self.validate()?;
        let candidates: Vec<Vec<String>> = texts.iter().map(|t| candidate_phrases(t)).collect();
        // Distinct texts to embed, and per instruction the index of its own text and of its candidates.
        let mut distinct = Distinct::default();
        let slots: Vec<Option<(usize, Vec<usize>)>> = texts
            .iter()
            .zip(&candidates)
            .map(|(text, phrases)| {
                (!phrases.is_empty()).then(|| {
                    let document = distinct.intern(text);
                    (document, phrases.iter().map(|p| distinct.intern(p)).collect())
                })
            })
            .collect();
        let vectors = self.embed_distinct(&distinct.texts)?;
        Ok(slots
            .iter()
            .zip(&candidates)
            .map(|(slot, phrases)| match slot {
                None => Vec::new(),
                Some((document, ids)) => {
                    let phrase_vectors: Vec<&[f32]> = ids.iter().map(|&i| vectors[i].as_slice()).collect();
                    self.select(phrases, &vectors[*document], &phrase_vectors)
                }
            })
            .collect())
    }

    /// Unit vectors of `texts`, in order: embedded longest first in chunks, so that the embedder's own
    /// length-sorted batches (MiniLM's) pad little and phrases never share a batch with a long instruction.
    fn embed_distinct(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut vectors = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH_EMBED_CHUNK) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let embedded = self.embedder.embed(&batch)?;
            if embedded.len() != batch.len() {
                return Err(AnnotateError::Embedder(format!(
                    "returned {} vectors for {} texts",
                    embedded.len(),
                    batch.len()
                )));
            }
            for (&i, vector) in chunk.iter().zip(embedded) {
                vectors[i] = unit(vector);
            }
        }
        check_dimensions(&vectors)?;
        Ok(vectors)
    }

    /// Relevance to the instruction, then MMR: the tags of one instruction from its unit vectors.
    fn select(&self, candidates: &[String], document: &[f32], phrases: &[&[f32]]) -> Vec<RawTag> {
        let relevance: Vec<f32> = phrases.iter().map(|p| dot(p, document)).collect();
        let picked = mmr_select(phrases, &relevance, self.min_tags, self.max_tags, self.mmr_diversity);
        picked
            .into_iter()
            .map(|i| RawTag {
                tag: candidates[i].clone(),
                explanation: format!("{:.4}", relevance[i]),
            })
            .collect()
    }
}

/// Distinct texts in order of first appearance, each with its index.
#[derive(Default)]
struct Distinct<'a> {
    index: HashMap<&'a str, usize>,
    texts: Vec<&'a str>,
}

impl<'a> Distinct<'a> {
    fn intern(&mut self, text: &'a str) -> usize {
        *self.index.entry(text).or_insert_with(|| {
            self.texts.push(text);
            self.texts.len() - 1
        })
    }
}

fn check_dimensions(vectors: &[Vec<f32>]) -> Result<(), AnnotateError> {
    let dim = vectors.first().map_or(1, Vec::len);
    if dim == 0 || vectors.iter().any(|v| v.len() != dim) {
        return Err(AnnotateError::Embedder(
            "vectors of zero or differing dimensions".to_string(),
        ));
    }
    Ok(())
}

impl Tagger for KeyphraseTagger {
    fn config(&self) -> serde_json::Value {
        serde_json::json!({
            "tagger": "keyphrase",
            "version": KEYPHRASE_VERSION,
            "embedder": self.embedder.model_id(),
            "ngram_range": [1, 3],
            "stop_words": "sklearn-english-318",
            "min_tags": self.min_tags,
            "max_tags": self.max_tags,
            "mmr_diversity": self.mmr_diversity,
        })
    }

    fn tag(&self, items: &[Instruction]) -> Result<Vec<TagList>, AnnotateError> {
        let texts: Vec<&str> = items.iter().map(|item| item.text.as_str()).collect();
        match self.keyphrases_many(&texts) {
            Ok(all) => Ok(all
                .into_iter()
                .map(|tags| TagList {
                    tags,
                    source: "keyphrase".to_string(),
                })
                .collect()),
            // A failed batch says nothing about which instruction failed: tag one by one to name it.
            Err(batch_error) => {
                for item in items {
                    self.keyphrases(&item.text).map_err(|e| AnnotateError::TaggingFailed {
                        id: item.id.clone(),
                        attempts: 1,
                        reason: e.to_string(),
                    })?;
                }
                Err(batch_error)
            }
        }
    }

    /// Instructions per [`Tagger::tag`] call: the more, the more phrases are shared and embedded once; 64
    /// SuperNI definitions embed ~6k distinct texts, a few seconds of MiniLM per progress step.
    fn batch_size(&self) -> usize {
        64
    }
}

/// The candidate keyphrases of `text` in order of first occurrence (position, then length), deduplicated.
pub fn candidate_phrases(text: &str) -> Vec<String> {
    let lowered = text.to_lowercase();
    let mut phrases: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for clause in lowered.split(is_clause_break) {
        let words: Vec<&str> = clause
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        for start in 0..words.len() {
            if !can_bound_phrase(words[start]) {
                continue;
            }
            for end in start..(start + 3).min(words.len()) {
                if can_bound_phrase(words[end]) {
                    let phrase = words[start..=end].join(" ");
                    if seen.insert(phrase.clone()) {
                        phrases.push(phrase);
                    }
                }
            }
        }
    }
    phrases
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\n' | '\r'
    ) || matches!(c, '“' | '”' | '«' | '»' | '|' | '<' | '>' | '=' | '\t')
}

fn can_bound_phrase(word: &str) -> bool {
    word.chars().count() >= 2 && word.chars().any(char::is_alphabetic) && !is_stop_word(word)
}

/// Maximal Marginal Relevance over unit vectors; returns indices in pick order.
fn mmr_select(phrases: &[&[f32]], relevance: &[f32], min_tags: usize, max_tags: usize, diversity: f32) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    let mut redundancy = vec![f32::NEG_INFINITY; phrases.len()];
    let mut available = vec![true; phrases.len()];
    while picked.len() < max_tags.min(phrases.len()) {
        let mut best: Option<(usize, f32)> = None;
        for j in (0..phrases.len()).filter(|&j| available[j]) {
            let score = if picked.is_empty() {
                relevance[j]
            } else {
                (1.0 - diversity) * relevance[j] - diversity * redundancy[j]
            };
            // Strictly greater: ties keep the earlier candidate.
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((j, score));
            }
        }
        let Some((choice, score)) = best else { break };
        if picked.len() >= min_tags && score <= 0.0 {
            break;
        }
        picked.push(choice);
        available[choice] = false;
        for j in 0..phrases.len() {
            redundancy[j] = redundancy[j].max(dot(phrases[j], phrases[choice]));
        }
    }
    picked
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = dot(&v, &v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Hashed bag of character trigrams: deterministic, and similar strings get similar vectors.
    pub(crate) struct TrigramEmbedder;

    impl PhraseEmbedder for TrigramEmbedder {
        fn model_id(&self) -> String {
            "test-trigram-512".to_string()
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
            Ok(texts.iter().map(|t| trigram_vector(t)).collect())
        }
    }

    fn trigram_vector(text: &str) -> Vec<f32> {
        let chars: Vec<char> = format!(" {} ", text.to_lowercase()).chars().collect();
        let mut v = vec![0.0f32; 512];
        for w in chars.windows(3) {
            let mut hash: u32 = 0x811c9dc5;
            for c in w {
                hash = (hash ^ *c as u32).wrapping_mul(0x01000193);
            }
            v[(hash % 512) as usize] += 1.0;
        }
        v
    }

    /// Fixed vectors per text, for exact checks of the selection rule.
    struct TableEmbedder(HashMap<&'static str, Vec<f32>>);

    impl PhraseEmbedder for TableEmbedder {
        fn model_id(&self) -> String {
            "table".to_string()
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
            texts
                .iter()
                .map(|t| {
                    self.0
                        .get(t)
                        .cloned()
                        .ok_or(AnnotateError::Embedder(format!("no vector for {t}")))
                })
                .collect()
        }
    }

    #[test]
    fn candidates_skip_stop_word_boundaries_and_clause_breaks() {
        assert_eq!(
            candidate_phrases("Check the spelling and grammar of the sentence."),
            vec![
                "check",
                "check the spelling",
                "spelling",
                "spelling and grammar",
                "grammar",
                "sentence"
            ]
        );
        assert_eq!(
            candidate_phrases("Sort numbers, then print 3 lists"),
            vec!["sort", "sort numbers", "numbers", "print", "print 3 lists", "lists"]
        );
        assert!(candidate_phrases("Is it? Do so!").is_empty());
    }

    #[test]
    fn mmr_prefers_a_novel_phrase_over_a_near_duplicate() {
        let table = HashMap::from([
            ("check. fix. poem", vec![1.0, 0.0, 0.3]),
            ("check", vec![1.0, 0.0, 0.0]),
            ("fix", vec![0.99, 0.14, 0.0]),
            ("poem", vec![0.5, 0.0, 0.87]),
        ]);
        let mut tagger = KeyphraseTagger::new(Box::new(TableEmbedder(table)));
        tagger.min_tags = 2;
        tagger.max_tags = 2;
        let tags: Vec<String> = tagger
            .keyphrases("check. fix. poem")
            .unwrap()
            .into_iter()
            .map(|t| t.tag)
            .collect();
        assert_eq!(tags, vec!["check", "poem"], "diversity 0.5 skips the near-duplicate");
        tagger.mmr_diversity = 0.0;
        let tags: Vec<String> = tagger
            .keyphrases("check. fix. poem")
            .unwrap()
            .into_iter()
            .map(|t| t.tag)
            .collect();
        assert_eq!(tags, vec!["check", "fix"], "diversity 0 ranks by relevance");
    }

    #[test]
    fn tagging_is_deterministic_and_within_bounds() {
        let tagger = KeyphraseTagger::new(Box::new(TrigramEmbedder));
        let text = "Given a news article, write a short summary of its main events and classify its topic \
                    into sports, politics or science.";
        let first = tagger.keyphrases(text).unwrap();
        assert_eq!(first, tagger.keyphrases(text).unwrap());
        assert!((3..=8).contains(&first.len()), "{first:?}");
        // The first pick is the most relevant candidate.
        let candidates = candidate_phrases(text);
        let best = candidates
            .iter()
            .map(|c| {
                let (d, p) = (unit(trigram_vector(text)), unit(trigram_vector(c)));
                (c.clone(), dot(&d, &p))
            })
            .fold(None, |b: Option<(String, f32)>, (c, s)| match b {
                Some((bc, bs)) if bs >= s => Some((bc, bs)),
                _ => Some((c, s)),
            })
            .unwrap();
        assert_eq!(first[0].tag, best.0);
        assert_eq!(first[0].explanation, format!("{:.4}", best.1));
        let unique: std::collections::HashSet<_> = first.iter().map(|t| &t.tag).collect();
        assert_eq!(unique.len(), first.len());
    }

    #[test]
    fn fewer_tags_only_with_fewer_candidates() {
        let tagger = KeyphraseTagger::new(Box::new(TrigramEmbedder));
        let tags = tagger.keyphrases("Translate it.").unwrap();
        assert_eq!(
            tags.iter().map(|t| t.tag.as_str()).collect::<Vec<_>>(),
            vec!["translate"]
        );
        assert!(tagger.keyphrases("It is.").unwrap().is_empty());
    }

    /// Counts the texts embedded; fails on any text containing "unembeddable".
    struct CountingEmbedder(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl PhraseEmbedder for CountingEmbedder {
        fn model_id(&self) -> String {
            "counting-trigram".to_string()
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
            self.0.fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
            match texts.iter().find(|t| t.contains("unembeddable")) {
                Some(t) => Err(AnnotateError::Embedder(format!("cannot embed {t:?}"))),
                None => TrigramEmbedder.embed(texts),
            }
        }
    }

    const FIXTURE: [&str; 7] = [
        "Given a news article, write a short summary of its main events.",
        "Given a news article, classify its topic into sports, politics or science.",
        "Write a short poem about the sea; the poem should rhyme.",
        "It is.",
        "Given a news article, write a short summary of its main events.",
        "Translate the sentence into French. Check the spelling and grammar of the translated sentence.",
        "Answer the question about the news article with a short span of the article.",
    ];

    #[test]
    fn batched_tags_equal_one_at_a_time_tags() {
        for (min_tags, max_tags, diversity) in [(3, 8, 0.5), (1, 3, 0.0), (2, 5, 0.9), (8, 8, 0.3)] {
            let mut tagger = KeyphraseTagger::new(Box::new(TrigramEmbedder));
            (tagger.min_tags, tagger.max_tags, tagger.mmr_diversity) = (min_tags, max_tags, diversity);
            let alone: Vec<Vec<RawTag>> = FIXTURE.iter().map(|t| tagger.keyphrases(t).unwrap()).collect();
            assert_eq!(tagger.keyphrases_many(&FIXTURE).unwrap(), alone, "{min_tags}..{max_tags} @ {diversity}");
            // MMR did the choosing: some instruction has several tags, none repeats one.
            assert!(alone.iter().any(|tags| tags.len() > 1));
            assert!(alone[3].is_empty(), "no candidates, no tags");
            // Order within the batch does not matter either.
            let reversed: Vec<&str> = FIXTURE.iter().rev().copied().collect();
            let mut backwards = tagger.keyphrases_many(&reversed).unwrap();
            backwards.reverse();
            assert_eq!(backwards, alone);
        }
    }

    fn fixture_items() -> Vec<Instruction> {
        FIXTURE
            .iter()
            .enumerate()
            .map(|(i, t)| Instruction {
                id: format!("i{i}"),
                text: t.to_string(),
            })
            .collect()
    }

    #[test]
    fn batched_path_embeds_each_distinct_text_once() {
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tagger = KeyphraseTagger::new(Box::new(CountingEmbedder(count.clone())));
        let lists = tagger.tag(&fixture_items()).unwrap();
        assert!(lists.iter().all(|l| l.source == "keyphrase"));
        let mut distinct = std::collections::HashSet::new();
        let mut one_by_one = 0;
        for text in FIXTURE {
            let candidates = candidate_phrases(text);
            if !candidates.is_empty() {
                one_by_one += 1 + candidates.len();
                distinct.insert(text.to_string());
                distinct.extend(candidates);
            }
        }
        let embedded = count.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(embedded, distinct.len());
        assert!(embedded < one_by_one, "{embedded} distinct of {one_by_one}");
    }

    #[test]
    fn a_failed_batch_names_the_instruction() {
        let tagger = KeyphraseTagger::new(Box::new(CountingEmbedder(Default::default())));
        let mut items = fixture_items();
        items[4].text = "Sort the unembeddable numbers.".to_string();
        let err = tagger.tag(&items).unwrap_err();
        assert!(
            matches!(err, AnnotateError::TaggingFailed { ref id, attempts: 1, .. } if id == "i4"),
            "{err}"
        );
        assert!(err.to_string().contains("unembeddable"), "{err}");
    }

    #[test]
    fn config_names_the_embedder_and_parameters() {
        let tagger = KeyphraseTagger::new(Box::new(TrigramEmbedder));
        let config = tagger.config();
        assert_eq!(config["embedder"], "test-trigram-512");
        assert_eq!(config["max_tags"], 8);
        let mut bad = KeyphraseTagger::new(Box::new(TrigramEmbedder));
        bad.min_tags = 9;
        assert!(matches!(bad.keyphrases("Sort the list"), Err(AnnotateError::Config(_))));
    }
}
