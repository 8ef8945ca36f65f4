//! The stage function: tag every instruction through the row-level cache, then normalise.

use crate::cache::{TagCache, cache_key};
use crate::normalise::TagNormaliser;
use crate::{AnnotateError, Instruction, TagList, TagRow, Tagger};
use std::collections::{HashMap, HashSet};

/// Called with (instructions tagged so far, instructions that needed tagging) after each batch.
pub type Progress<'a> = Option<&'a dyn Fn(usize, usize)>;

/// Tag `instructions` with `tagger`, reusing `cache` entries (keyed by the tagger config and the instruction
/// text), and return one row per (instruction, distinct normalised tag), instructions in input order and
/// tags in the tagger's order. Instructions with equal text are tagged once. Tags whose normalised form is
/// empty (no letters) are dropped, as are later tags of an instruction that normalise to an earlier one's.
/// New tag lists are cached batch by batch, so a failure keeps the work of the batches before it.
pub fn annotate(
    tagger: &dyn Tagger,
    normaliser: &TagNormaliser,
    instructions: &[Instruction],
    cache: &mut dyn TagCache,
    progress: Progress,
) -> Result<Vec<TagRow>, AnnotateError> {
    validate(instructions)?;
    let config = tagger.config();
    let keys: Vec<String> = instructions.iter().map(|i| cache_key(&config, &i.text)).collect();

    let mut tag_lists: HashMap<&str, TagList> = HashMap::new();
    let mut to_tag: Vec<(&str, Instruction)> = Vec::new();
    for (instruction, key) in instructions.iter().zip(&keys) {
        if tag_lists.contains_key(key.as_str()) || to_tag.iter().any(|(k, _)| *k == key.as_str()) {
            continue;
        }
        match cache.get(key) {
            Some(cached) => {
                tag_lists.insert(key, cached);
            }
            None => to_tag.push((key, instruction.clone())),
        }
    }

    let total = to_tag.len();
    if let Some(report) = progress {
        report(0, total);
    }
    let mut done = 0;
    for batch in to_tag.chunks(tagger.batch_size().max(1)) {
        let items: Vec<Instruction> = batch.iter().map(|(_, item)| item.clone()).collect();
        let lists = tagger.tag(&items)?;
        if lists.len() != items.len() {
            return Err(AnnotateError::CountMismatch {
                expected: items.len(),
                got: lists.len(),
            });
        }
        for ((key, _), list) in batch.iter().zip(lists) {
            cache.put(key, list.clone());
            tag_lists.insert(key, list);
        }
        done += batch.len();
        if let Some(report) = progress {
            report(done, total);
        }
    }

    let mut rows = Vec::new();
    for (instruction, key) in instructions.iter().zip(&keys) {
        let list = &tag_lists[key.as_str()];
        let mut seen = HashSet::new();
        for raw in &list.tags {
            let tag_norm = normaliser.normalise(&raw.tag);
            if tag_norm.is_empty() || !seen.insert(tag_norm.clone()) {
                continue;
            }
            rows.push(TagRow {
                instruction_id: instruction.id.clone(),
                tag_raw: raw.tag.clone(),
                explanation: raw.explanation.clone(),
                tag_norm,
                source: list.source.clone(),
            });
        }
    }
    Ok(rows)
}

fn validate(instructions: &[Instruction]) -> Result<(), AnnotateError> {
    let mut ids = HashSet::new();
    for instruction in instructions {
        let invalid = |reason: &str| AnnotateError::InvalidInstruction {
            id: instruction.id.clone(),
            reason: reason.to_string(),
        };
        if instruction.id.trim().is_empty() {
            return Err(invalid("empty instruction id"));
        }
        if instruction.text.trim().is_empty() {
            return Err(invalid("empty instruction text"));
        }
        if !ids.insert(instruction.id.as_str()) {
            return Err(invalid("duplicate instruction id"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawTag;
    use crate::cache::MemoryTagCache;
    use crate::lemma::{Pos, WordNetLexicon};
    use std::sync::Mutex;

    /// Tags an instruction with its words; records every call; fails on texts containing "FAIL".
    struct WordTagger {
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl Tagger for WordTagger {
        fn config(&self) -> serde_json::Value {
            serde_json::json!({"tagger": "words"})
        }
        fn tag(&self, items: &[Instruction]) -> Result<Vec<TagList>, AnnotateError> {
            self.calls
                .lock()
                .unwrap()
                .push(items.iter().map(|i| i.id.clone()).collect());
            items
                .iter()
                .map(|item| {
                    if item.text.contains("FAIL") {
                        return Err(AnnotateError::TaggingFailed {
                            id: item.id.clone(),
                            attempts: 1,
                            reason: "x".into(),
                        });
                    }
                    let tags = item.text.split(' ').map(|w| RawTag {
                        tag: w.to_string(),
                        explanation: String::new(),
                    });
                    Ok(TagList {
                        tags: tags.collect(),
                        source: "words".into(),
                    })
                })
                .collect()
        }
        fn batch_size(&self) -> usize {
            2
        }
    }

    fn instruction(id: &str, text: &str) -> Instruction {
        Instruction {
            id: id.into(),
            text: text.into(),
        }
    }

    fn normaliser() -> TagNormaliser {
        TagNormaliser::new(WordNetLexicon::from_entries(&[(Pos::Noun, &["task", "poem"])], &[]))
    }

    #[test]
    fn cache_makes_reruns_free_and_new_tasks_cheap() {
        let tagger = WordTagger {
            calls: Mutex::new(vec![]),
        };
        let mut cache = MemoryTagCache::new();
        let first = vec![
            instruction("a", "Tasks tasks 42"),
            instruction("b", "Poems"),
            instruction("c", "Poems"),
        ];
        let rows = annotate(&tagger, &normaliser(), &first, &mut cache, None).unwrap();
        let summary: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.instruction_id.as_str(), r.tag_raw.as_str(), r.tag_norm.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![("a", "Tasks", "task"), ("b", "Poems", "poem"), ("c", "Poems", "poem")]
        );
        assert_eq!(
            *tagger.calls.lock().unwrap(),
            vec![vec!["a".to_string(), "b".to_string()]],
            "equal texts tagged once"
        );

        let again = annotate(&tagger, &normaliser(), &first, &mut cache, None).unwrap();
        assert_eq!(again, rows);
        assert_eq!(tagger.calls.lock().unwrap().len(), 1, "a rerun makes no call");

        let mut extended = first.clone();
        extended.push(instruction("d", "New task"));
        let reported = Mutex::new(vec![]);
        let report = |done: usize, total: usize| reported.lock().unwrap().push((done, total));
        annotate(&tagger, &normaliser(), &extended, &mut cache, Some(&report)).unwrap();
        assert_eq!(
            tagger.calls.lock().unwrap()[1],
            vec!["d".to_string()],
            "only the new instruction"
        );
        assert_eq!(*reported.lock().unwrap(), vec![(0, 1), (1, 1)]);
    }

    #[test]
    fn failure_keeps_earlier_batches_and_names_the_instruction() {
        let tagger = WordTagger {
            calls: Mutex::new(vec![]),
        };
        let mut cache = MemoryTagCache::new();
        let items = vec![
            instruction("a", "one"),
            instruction("b", "two"),
            instruction("c", "FAIL here"),
        ];
        let err = annotate(&tagger, &normaliser(), &items, &mut cache, None).unwrap_err();
        assert!(err.to_string().contains("\"c\""), "{err}");
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn bad_instructions_are_named() {
        let tagger = WordTagger {
            calls: Mutex::new(vec![]),
        };
        let mut cache = MemoryTagCache::new();
        for (items, needle) in [
            (
                vec![instruction("x", "  ")],
                "instruction \"x\": empty instruction text",
            ),
            (
                vec![instruction("x", "a"), instruction("x", "b")],
                "instruction \"x\": duplicate instruction id",
            ),
        ] {
            let err = annotate(&tagger, &normaliser(), &items, &mut cache, None).unwrap_err();
            assert_eq!(err.to_string(), needle);
        }
    }
}
