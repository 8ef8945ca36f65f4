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

use crate::stopwords::is_stop_word;
use crate::{AnnotateError, Instruction, PhraseEmbedder, RawTag, TagList, Tagger};

/// Version of the candidate and selection rules, part of the config.
const KEYPHRASE_VERSION: u32 = 1;
/// Texts per embedder call.
const EMBED_CHUNK: usize = 256;

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
        let dim = vectors[0].len();
        if dim == 0 || vectors.iter().any(|v| v.len() != dim) {
            return Err(AnnotateError::Embedder(
                "vectors of zero or differing dimensions".to_string(),
            ));
        }
        let (document, phrases) = vectors.split_first().expect("texts start with the instruction");
        let relevance: Vec<f32> = phrases.iter().map(|p| dot(p, document)).collect();
        let picked = mmr_select(phrases, &relevance, self.min_tags, self.max_tags, self.mmr_diversity);
        Ok(picked
            .into_iter()
            .map(|i| RawTag {
                tag: candidates[i].clone(),
                explanation: format!("{:.4}", relevance[i]),
            })
            .collect())
    }
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
        items
            .iter()
            .map(|item| {
                let tags = self.keyphrases(&item.text).map_err(|e| AnnotateError::TaggingFailed {
                    id: item.id.clone(),
                    attempts: 1,
                    reason: e.to_string(),
                })?;
                Ok(TagList {
                    tags,
                    source: "keyphrase".to_string(),
                })
            })
            .collect()
    }

    fn batch_size(&self) -> usize {
        16
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
fn mmr_select(phrases: &[Vec<f32>], relevance: &[f32], min_tags: usize, max_tags: usize, diversity: f32) -> Vec<usize> {
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
            redundancy[j] = redundancy[j].max(dot(&phrases[j], &phrases[choice]));
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
