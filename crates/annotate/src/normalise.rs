//! Tag normalisation as in the InsCL code: lowercase; every run of non-letters becomes one space; each word
//! lemmatised with WordNet (see [`crate::lemma`] for the method); trimmed.

use crate::lemma::WordNetLexicon;

/// Normalises raw tags so that surface variants ("Grammar Checks", "grammar-check") become one tag.
#[derive(Debug, Clone)]
pub struct TagNormaliser {
    lexicon: WordNetLexicon,
}

impl TagNormaliser {
    pub fn new(lexicon: WordNetLexicon) -> Self {
        Self { lexicon }
    }

    /// Identity of the normalisation, for the stage parameters of the caller.
    pub fn config(&self) -> serde_json::Value {
        serde_json::json!({
            "method": "lowercase, non-letters to space, WordNet 3.0 morphy (noun, verb, adj; exceptions first)",
            "wordnet": crate::lemma::DATA_DIR_NAME,
        })
    }

    /// The normalised tag; empty when the tag has no letters.
    pub fn normalise(&self, tag: &str) -> String {
        // "Letters" are Unicode alphabetic characters, so non-English words survive (unlemmatised).
        let lowered = tag.to_lowercase();
        let spaced: String = lowered
            .chars()
            .map(|c| if c.is_alphabetic() { c } else { ' ' })
            .collect();
        spaced
            .split_whitespace()
            .map(|word| self.lexicon.lemmatize(word))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn lexicon(&self) -> &WordNetLexicon {
        &self.lexicon
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lemma::Pos;

    #[test]
    fn non_letters_collapse_and_words_are_lemmatised() {
        let lexicon = WordNetLexicon::from_entries(
            &[(Pos::Noun, &["spelling", "grammar", "check"]), (Pos::Verb, &["check"])],
            &[],
        );
        let normaliser = TagNormaliser::new(lexicon);
        assert_eq!(
            normaliser.normalise("Spelling & Grammar-Checks!!"),
            "spelling grammar check"
        );
        assert_eq!(normaliser.normalise("  42 -- !! "), "");
        assert_eq!(normaliser.normalise("Café_Review"), "café review");
    }
}
