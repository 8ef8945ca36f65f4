use crate::error::DataError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// SuperNI first category → InsCL category, read from a TOML file such as
/// `pipelines/categories/superni16.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryMapping {
    /// Where unlisted SuperNI categories go (with a warning that lists them).
    pub default: String,
    /// InsCL category → the SuperNI categories it takes.
    pub categories: BTreeMap<String, Vec<String>>,
    /// Splits one SuperNI category (Question Answering) in two by whether its inputs carry a context passage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qa_split: Option<QaSplit>,
}

/// The Closed_QA / Open_QA rule. A task of category `source` is *closed* when at least
/// `min_labelled_share` of its instances' inputs have a line that starts with one of `context_labels`
/// followed by a colon (`Passage: ...`, `Context 2: ...`), or when its definition names one of
/// `definition_cues` as a whole word or phrase (`... answer the question about the passage`). Otherwise it is
/// *open*: the model must answer from what it knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QaSplit {
    pub source: String,
    pub closed: String,
    pub open: String,
    pub context_labels: Vec<String>,
    pub definition_cues: Vec<String>,
    pub min_labelled_share: f64,
}

/// Where a task went and whether the mapping named its category or it fell to the default.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub category: String,
    pub explicit: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `needle` occurs in `haystack` (both lower-case) with no word character on either side.
fn contains_phrase(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(i, m)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + m.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

impl QaSplit {
    fn line_has_label(&self, line: &str) -> bool {
        let line = line.trim_start().to_lowercase();
        self.context_labels.iter().any(|label| {
            let Some(rest) = line.strip_prefix(&label.to_lowercase()) else { return false };
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            rest.starts_with(':')
        })
    }

    pub fn is_closed(&self, definition: &str, inputs: &[&str]) -> bool {
        let def = definition.to_lowercase();
        if self.definition_cues.iter().any(|cue| contains_phrase(&def, &cue.to_lowercase())) {
            return true;
        }
        if inputs.is_empty() {
            return false;
        }
        let labelled = inputs.iter().filter(|input| input.lines().any(|l| self.line_has_label(l))).count();
        labelled as f64 >= self.min_labelled_share * inputs.len() as f64
    }
}

impl CategoryMapping {
    /// SuperNI's categories merged into InsCL's 16 (`pipelines/categories/superni16.toml`), built into the
    /// binary so that no default depends on the working folder.
    pub fn superni16() -> CategoryMapping {
        CategoryMapping::from_toml(SUPERNI16_NAME, SUPERNI16_TOML).expect("the built-in mapping parses")
    }

    pub fn from_toml(file: &str, text: &str) -> Result<CategoryMapping, DataError> {
        let mapping: CategoryMapping =
            toml::from_str(text).map_err(|e| DataError::Mapping { file: file.to_string(), problem: e.to_string() })?;
        mapping.validate(file)?;
        Ok(mapping)
    }

    fn validate(&self, file: &str) -> Result<(), DataError> {
        let err = |problem: String| DataError::Mapping { file: file.to_string(), problem };
        let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
        for (inscl, sources) in &self.categories {
            for s in sources {
                if let Some(prev) = owner.insert(s.as_str(), inscl.as_str()) {
                    return Err(err(format!("'{s}' is listed under both {prev} and {inscl}")));
                }
            }
        }
        if let Some(qa) = &self.qa_split {
            if let Some(prev) = owner.get(qa.source.as_str()) {
                return Err(err(format!("qa_split.source '{}' is also listed under {prev}", qa.source)));
            }
            if !(0.0..=1.0).contains(&qa.min_labelled_share) {
                return Err(err(format!("qa_split.min_labelled_share must lie in [0, 1], not {}", qa.min_labelled_share)));
            }
        }
        for name in self.inscl_categories() {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(err(format!("InsCL category name '{name}' must be letters, digits, '_' or '-'")));
            }
        }
        Ok(())
    }

    /// Every InsCL category this mapping can produce, sorted.
    pub fn inscl_categories(&self) -> Vec<String> {
        let mut all: Vec<String> = self.categories.keys().cloned().collect();
        all.push(self.default.clone());
        if let Some(qa) = &self.qa_split {
            all.push(qa.closed.clone());
            all.push(qa.open.clone());
        }
        all.sort();
        all.dedup();
        all
    }

    pub fn assign(&self, superni_category: &str, definition: &str, inputs: &[&str]) -> Assignment {
        if let Some(qa) = self.qa_split.as_ref().filter(|qa| qa.source == superni_category) {
            let category = if qa.is_closed(definition, inputs) { &qa.closed } else { &qa.open };
            return Assignment { category: category.clone(), explicit: true };
        }
        for (inscl, sources) in &self.categories {
            if sources.iter().any(|s| s == superni_category) {
                return Assignment { category: inscl.clone(), explicit: true };
            }
        }
        Assignment { category: self.default.clone(), explicit: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> CategoryMapping {
        CategoryMapping::from_toml(
            "m.toml",
            r#"
            default = "Misc"
            [categories]
            Classification = ["Text Categorization"]
            Misc = ["Misc."]
            [qa_split]
            source = "Question Answering"
            closed = "Closed_QA"
            open = "Open_QA"
            context_labels = ["passage", "context"]
            definition_cues = ["passage", "given text"]
            min_labelled_share = 0.5
            "#,
        )
        .unwrap()
    }

    #[test]
    fn assigns_listed_default_and_qa() {
        let m = mapping();
        assert_eq!(m.assign("Text Categorization", "", &[]), Assignment { category: "Classification".into(), explicit: true });
        assert_eq!(m.assign("Misc.", "", &[]), Assignment { category: "Misc".into(), explicit: true });
        assert_eq!(m.assign("Translation", "", &[]), Assignment { category: "Misc".into(), explicit: false });
        let closed = ["Passage: Tom is tall.\nQuestion: Who is tall?", "Context 2 : x\nQuestion: y"];
        assert_eq!(m.assign("Question Answering", "Answer it.", &closed).category, "Closed_QA");
        let open = ["Question: What is the capital of France?", "Who wrote Hamlet?"];
        assert_eq!(m.assign("Question Answering", "Answer it.", &open).category, "Open_QA");
        assert_eq!(m.assign("Question Answering", "Read the given text and answer.", &open).category, "Closed_QA");
        assert_eq!(m.assign("Question Answering", "Do not use passages.", &open).category, "Open_QA", "whole words only");
        assert_eq!(
            m.inscl_categories(),
            vec!["Classification".to_string(), "Closed_QA".into(), "Misc".into(), "Open_QA".into()]
        );
    }

    #[test]
    fn rejects_double_listing_and_unknown_keys() {
        let e = CategoryMapping::from_toml("m.toml", "default = \"Misc\"\n[categories]\nA = [\"x\"]\nB = [\"x\"]\n").unwrap_err();
        assert_eq!(e.to_string(), "mapping m.toml: 'x' is listed under both A and B");
        let e = CategoryMapping::from_toml("m.toml", "default = \"Misc\"\nbogus = 1\n[categories]\n").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }
}

/// How the built-in mapping is named in messages and where its text comes from.
pub const SUPERNI16_NAME: &str = "(built in) pipelines/categories/superni16.toml";
const SUPERNI16_TOML: &str = include_str!("../../../pipelines/categories/superni16.toml");
