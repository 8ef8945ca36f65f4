//! WordNet lemmatisation: a port of WordNet's *morphy* as implemented by NLTK 3.10
//! (`WordNetCorpusReader._morphy` and `WordNetLemmatizer.lemmatize`), over the Princeton WordNet 3.0 lemma
//! index and exception lists.
//!
//! **Data.** The lemma index (single-word lemmas per part of speech) and the exception lists (irregular
//! forms, e.g. `running → run`, `analyses → analysis`, `is → be`) are read from the English tables of the
//! PyPI wheel `spacy-lookups-data==1.0.5` (`en_lemma_index.json`, `en_lemma_exc.json`, derived from WordNet
//! 3.0, WordNet licence in `en_license.txt`). They are not committed: `scripts/fetch_wordnet.py` downloads
//! the wheel once at set-up time and extracts those files (about 1.3 MB) into
//! `models/`[`DATA_DIR_NAME`]. spaCy derived them from WordNet 3.0's `index.*` and `*.exc` files, with a few
//! additions of its own (e.g. the noun exception `is → is`, which only stops `is → i`). The index holds single-word lemmas only, which is all a normalised tag word
//! can be (it contains letters only), so morphy's answers equal those over the full WordNet index.
//!
//! **Per part of speech** ([`WordNetLexicon::morphy`]) the algorithm is NLTK's, step for step: if the form
//! is in the exception list, the candidates are the form and its listed bases; otherwise the form and the
//! results of applying each detachment rule once (`-s`, `-ses→s`, `-ies→y`, `-ed`, `-ing`, `-er`, …); the
//! answer is the candidates present in the lemma index for that part of speech, and the lemma is the
//! shortest ([`WordNetLexicon::lemmatize_as`], NLTK's `lemmatize(word, pos)`). A parity test compares both
//! with NLTK run on the same tables (`fixtures/make_morphy_fixture.py`).
//!
//! **Without a part-of-speech tagger** ([`WordNetLexicon::lemmatize`]) tags are lemmatised word by word in
//! the order noun → verb → adjective, in two passes: first the irregular forms (the exception lists of the
//! three parts of speech, so `running → run` and `is → be` even though "running" is also a noun lemma);
//! then, per part of speech, a word that is itself a lemma stays as it is ("news", "spelling", "boss"), and
//! otherwise the shortest rule result in the index is taken ("tasks → task", "generated → generate").
//! This differs from NLTK's default `lemmatize(word)` (nouns only), which leaves verb forms such as
//! "identifies" unchanged and, because it prefers the shortest candidate even when the form itself is a
//! lemma, maps e.g. "boss" to the genus "bos". Limits: no context, so an inflected form that is also a
//! lemma of an earlier part of speech keeps that reading ("writing" stays "writing" as a noun).

use crate::AnnotateError;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Folder name (under `models/`) that `scripts/fetch_wordnet.py` fills.
pub const DATA_DIR_NAME: &str = "wordnet-3.0-spacy-lookups-data-1.0.5";

/// The parts of speech morphy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pos {
    Noun,
    Verb,
    Adj,
    Adv,
}

impl Pos {
    const ALL: [Pos; 4] = [Pos::Noun, Pos::Verb, Pos::Adj, Pos::Adv];

    fn slot(self) -> usize {
        self as usize
    }

    /// morphy's detachment rules (NLTK `MORPHOLOGICAL_SUBSTITUTIONS`), in NLTK's order.
    fn substitutions(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Pos::Noun => &[
                ("s", ""),
                ("ses", "s"),
                ("ves", "f"),
                ("xes", "x"),
                ("zes", "z"),
                ("ches", "ch"),
                ("shes", "sh"),
                ("men", "man"),
                ("ies", "y"),
            ],
            Pos::Verb => &[
                ("s", ""),
                ("ies", "y"),
                ("es", "e"),
                ("es", ""),
                ("ed", "e"),
                ("ed", ""),
                ("ing", "e"),
                ("ing", ""),
            ],
            Pos::Adj => &[("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
            Pos::Adv => &[],
        }
    }
}

/// The WordNet lemma index and exception lists, per part of speech.
#[derive(Debug, Clone, Default)]
pub struct WordNetLexicon {
    index: [HashSet<String>; 4],
    exceptions: [HashMap<String, Vec<String>>; 4],
}

impl WordNetLexicon {
    /// Load `en_lemma_index.json` and `en_lemma_exc.json` from `dir` (see the module docs).
    pub fn load(dir: &Path) -> Result<Self, AnnotateError> {
        #[derive(Deserialize)]
        struct ByPos<T> {
            noun: T,
            verb: T,
            adj: T,
            adv: T,
        }
        fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<ByPos<T>, AnnotateError> {
            let lexicon_error = |reason: String| AnnotateError::Lexicon {
                path: path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| {
                lexicon_error(format!(
                    "{e} (run `python3 crates/annotate/scripts/fetch_wordnet.py models` first)"
                ))
            })?;
            serde_json::from_str(&text).map_err(|e| lexicon_error(format!("not the expected JSON: {e}")))
        }
        let index: ByPos<Vec<String>> = read(&dir.join("en_lemma_index.json"))?;
        let exceptions: ByPos<HashMap<String, Vec<String>>> = read(&dir.join("en_lemma_exc.json"))?;
        let lexicon = Self {
            index: [index.noun, index.verb, index.adj, index.adv].map(|lemmas| lemmas.into_iter().collect()),
            exceptions: [exceptions.noun, exceptions.verb, exceptions.adj, exceptions.adv],
        };
        if lexicon.index[Pos::Noun.slot()].len() < 10_000 || lexicon.index[Pos::Verb.slot()].len() < 1_000 {
            return Err(AnnotateError::Lexicon {
                path: dir.display().to_string(),
                reason: "lemma index too small to be WordNet's".to_string(),
            });
        }
        Ok(lexicon)
    }

    /// A lexicon from explicit entries (small test lexicons; other WordNet sources).
    pub fn from_entries(lemmas: &[(Pos, &[&str])], exceptions: &[(Pos, &str, &[&str])]) -> Self {
        let mut lexicon = Self::default();
        for (pos, words) in lemmas {
            lexicon.index[pos.slot()].extend(words.iter().map(|w| w.to_string()));
        }
        for (pos, form, bases) in exceptions {
            lexicon.exceptions[pos.slot()].insert(form.to_string(), bases.iter().map(|b| b.to_string()).collect());
        }
        lexicon
    }

    /// Number of lemmas per part of speech (noun, verb, adj, adv).
    pub fn lemma_counts(&self) -> [usize; 4] {
        Pos::ALL.map(|pos| self.index[pos.slot()].len())
    }

    pub fn is_lemma(&self, word: &str, pos: Pos) -> bool {
        self.index[pos.slot()].contains(word)
    }

    /// NLTK's `_morphy(form, pos)`: the form and its exception bases (or its one-rule reductions) that are
    /// lemmas of `pos`, in candidate order, without duplicates.
    pub fn morphy(&self, form: &str, pos: Pos) -> Vec<String> {
        let candidates: Vec<String> = match self.exceptions[pos.slot()].get(form) {
            Some(bases) => bases.clone(),
            None => apply_rules(form, pos),
        };
        let mut found: Vec<String> = Vec::new();
        for candidate in std::iter::once(form.to_string()).chain(candidates) {
            if self.is_lemma(&candidate, pos) && !found.contains(&candidate) {
                found.push(candidate);
            }
        }
        found
    }

    /// NLTK's `WordNetLemmatizer.lemmatize(word, pos)`: the shortest morphy result (the first on ties),
    /// else the word.
    pub fn lemmatize_as(&self, word: &str, pos: Pos) -> String {
        shortest(self.morphy(word, pos)).unwrap_or_else(|| word.to_string())
    }

    /// The lemma of a lowercase word without part-of-speech context (see the module docs for the policy).
    pub fn lemmatize(&self, word: &str) -> String {
        const ORDER: [Pos; 3] = [Pos::Noun, Pos::Verb, Pos::Adj];
        for pos in ORDER {
            if self.exceptions[pos.slot()].contains_key(word)
                && let Some(lemma) = shortest(self.morphy(word, pos))
            {
                return lemma;
            }
        }
        for pos in ORDER {
            if self.is_lemma(word, pos) {
                return word.to_string();
            }
            let reductions = apply_rules(word, pos)
                .into_iter()
                .filter(|c| self.is_lemma(c, pos))
                .collect();
            if let Some(lemma) = shortest(reductions) {
                return lemma;
            }
        }
        word.to_string()
    }
}

fn apply_rules(form: &str, pos: Pos) -> Vec<String> {
    pos.substitutions()
        .iter()
        .filter_map(|(old, new)| form.strip_suffix(old).map(|stem| format!("{stem}{new}")))
        .collect()
}

fn shortest(candidates: Vec<String>) -> Option<String> {
    // Python's min(key=len) keeps the first of equally short candidates; so does this fold.
    candidates.into_iter().fold(None, |best: Option<String>, c| match best {
        Some(b) if b.chars().count() <= c.chars().count() => Some(b),
        _ => Some(c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordNetLexicon {
        WordNetLexicon::from_entries(
            &[
                (
                    Pos::Noun,
                    &["task", "running", "boss", "bos", "news", "datum", "data", "query", "i"],
                ),
                (Pos::Verb, &["run", "identify", "generate", "be", "boss"]),
                (Pos::Adj, &["good", "better", "large"]),
            ],
            &[
                (Pos::Noun, "data", &["datum"]),
                (Pos::Verb, "running", &["run"]),
                (Pos::Verb, "is", &["be"]),
                (Pos::Adj, "better", &["good", "well"]),
            ],
        )
    }

    #[test]
    fn morphy_per_pos_follows_nltk() {
        let lex = tiny();
        assert_eq!(lex.morphy("tasks", Pos::Noun), vec!["task"]);
        assert_eq!(lex.morphy("boss", Pos::Noun), vec!["boss", "bos"]);
        assert_eq!(lex.lemmatize_as("boss", Pos::Noun), "bos");
        assert_eq!(lex.morphy("data", Pos::Noun), vec!["data", "datum"]);
        assert_eq!(lex.lemmatize_as("data", Pos::Noun), "data");
        assert_eq!(lex.morphy("is", Pos::Noun), vec!["i"]);
        assert_eq!(lex.morphy("running", Pos::Verb), vec!["run"]);
        assert_eq!(lex.morphy("larger", Pos::Adj), vec!["large"]);
        assert!(lex.morphy("identifies", Pos::Noun).is_empty());
        assert_eq!(lex.lemmatize_as("identifies", Pos::Noun), "identifies");
    }

    #[test]
    fn contextless_policy() {
        let lex = tiny();
        assert_eq!(lex.lemmatize("running"), "run", "irregular forms first");
        assert_eq!(lex.lemmatize("is"), "be", "exception beats the noun rule is → i");
        assert_eq!(lex.lemmatize("boss"), "boss", "a lemma stays itself");
        assert_eq!(lex.lemmatize("identifies"), "identify", "verb after noun");
        assert_eq!(lex.lemmatize("generated"), "generate");
        assert_eq!(lex.lemmatize("queries"), "query");
        assert_eq!(lex.lemmatize("better"), "good");
        assert_eq!(lex.lemmatize("zzzs"), "zzzs", "unknown words unchanged");
    }
}
