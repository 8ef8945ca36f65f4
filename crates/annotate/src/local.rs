//! The local tagger: the InsCL tagging prompt through a local chat model, keyphrases where it fails.

use crate::keyphrase::KeyphraseTagger;
use crate::parse::parse_tag_reply;
use crate::prompt::{JSON_ONLY_REMINDER, PROMPT_VERSION, tagging_prompt};
use crate::{AnnotateError, ChatGenerator, Instruction, RawTag, TagList, Tagger};

/// Tags with a local chat model (e.g. SmolLM2-135M-Instruct) decoding greedily. An instruction whose reply
/// does not parse is asked again up to `retries` times — with a reminder to answer with the JSON list only,
/// since greedy decoding would repeat the same reply — and then tagged by `fallback`, recorded as
/// `source = "keyphrase-fallback"` (else `"local"`).
pub struct LocalTagger {
    pub generator: Box<dyn ChatGenerator>,
    pub max_new_tokens: usize,
    pub retries: usize,
    pub fallback: KeyphraseTagger,
}

impl LocalTagger {
    pub fn new(generator: Box<dyn ChatGenerator>, fallback: KeyphraseTagger) -> Self {
        Self {
            generator,
            max_new_tokens: 256,
            retries: 1,
            fallback,
        }
    }
}

impl Tagger for LocalTagger {
    fn config(&self) -> serde_json::Value {
        serde_json::json!({
            "tagger": "local",
            "prompt": PROMPT_VERSION,
            "generator": self.generator.model_id(),
            "decoding": "greedy",
            "max_new_tokens": self.max_new_tokens,
            "retries": self.retries,
            "fallback": self.fallback.config(),
        })
    }

    fn tag(&self, items: &[Instruction]) -> Result<Vec<TagList>, AnnotateError> {
        let mut parsed: Vec<Option<Vec<RawTag>>> = vec![None; items.len()];
        for attempt in 0..=self.retries {
            let pending: Vec<usize> = (0..items.len()).filter(|&i| parsed[i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let prompts: Vec<String> = pending
                .iter()
                .map(|&i| {
                    let prompt = tagging_prompt(&items[i].text);
                    if attempt == 0 {
                        prompt
                    } else {
                        prompt + JSON_ONLY_REMINDER
                    }
                })
                .collect();
            let replies = self.generator.chat(&prompts, self.max_new_tokens)?;
            if replies.len() != prompts.len() {
                return Err(AnnotateError::Generator(format!(
                    "returned {} replies for {} prompts",
                    replies.len(),
                    prompts.len()
                )));
            }
            for (&i, reply) in pending.iter().zip(&replies) {
                parsed[i] = parse_tag_reply(reply).ok();
            }
        }
        // The instructions no reply parsed for, tagged by keyphrases in one batch.
        let unparsed: Vec<Instruction> = items
            .iter()
            .zip(&parsed)
            .filter(|(_, tags)| tags.is_none())
            .map(|(item, _)| item.clone())
            .collect();
        let mut fallback = match unparsed.is_empty() {
            true => Vec::new().into_iter(),
            false => self.fallback.tag(&unparsed)?.into_iter(),
        };
        parsed
            .into_iter()
            .map(|tags| match tags {
                Some(tags) => Ok(TagList {
                    tags,
                    source: "local".to_string(),
                }),
                None => {
                    let mut list = fallback.next().ok_or(AnnotateError::CountMismatch {
                        expected: unparsed.len(),
                        got: 0,
                    })?;
                    list.source = "keyphrase-fallback".to_string();
                    Ok(list)
                }
            })
            .collect()
    }

    fn batch_size(&self) -> usize {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhraseEmbedder;
    use std::sync::{Arc, Mutex};

    /// Replies from a script keyed by a word of the prompt; records every prompt it saw.
    struct ScriptedChat {
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl ChatGenerator for ScriptedChat {
        fn model_id(&self) -> String {
            "scripted".to_string()
        }
        fn chat(&self, user_messages: &[String], _max_new_tokens: usize) -> Result<Vec<String>, AnnotateError> {
            self.seen.lock().unwrap().extend(user_messages.iter().cloned());
            Ok(user_messages
                .iter()
                .map(|m| {
                    if m.contains("poem") {
                        r#"[{"tag": "Poetry", "explanation": "Write a poem"}]"#.to_string()
                    } else if m.contains("stubborn") && !m.ends_with(JSON_ONLY_REMINDER) {
                        "Sure, here you go: Translation".to_string()
                    } else if m.contains("stubborn") {
                        r#"```json
[{"tag": "Translation"}]
```"#
                            .to_string()
                    } else {
                        "I do not know.".to_string()
                    }
                })
                .collect())
        }
    }

    struct LengthEmbedder;

    impl PhraseEmbedder for LengthEmbedder {
        fn model_id(&self) -> String {
            "length".to_string()
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
            Ok(texts.iter().map(|t| vec![1.0, t.len() as f32 / 100.0]).collect())
        }
    }

    #[test]
    fn parses_retries_and_falls_back_per_instruction() {
        let seen = Arc::new(Mutex::new(vec![]));
        let tagger = LocalTagger {
            generator: Box::new(ScriptedChat { seen: seen.clone() }),
            max_new_tokens: 64,
            retries: 1,
            fallback: KeyphraseTagger::new(Box::new(LengthEmbedder)),
        };
        let items = vec![
            Instruction {
                id: "p".into(),
                text: "Write a poem".into(),
            },
            Instruction {
                id: "s".into(),
                text: "Translate this stubborn sentence".into(),
            },
            Instruction {
                id: "u".into(),
                text: "Unanswerable riddle".into(),
            },
        ];
        let lists = tagger.tag(&items).unwrap();
        assert_eq!(lists[0].source, "local");
        assert_eq!(
            lists[0].tags,
            vec![RawTag {
                tag: "Poetry".into(),
                explanation: "Write a poem".into()
            }]
        );
        assert_eq!(lists[1].source, "local", "the retry with the reminder parsed");
        assert_eq!(lists[1].tags[0].tag, "Translation");
        assert_eq!(lists[2].source, "keyphrase-fallback");
        let fallback_tags: Vec<&str> = lists[2].tags.iter().map(|t| t.tag.as_str()).collect();
        assert!(fallback_tags.contains(&"unanswerable riddle"), "{fallback_tags:?}");
        // First round: the exact prompt for all 3; retry round: the 2 that failed, with the reminder.
        let seen = seen.lock().unwrap();
        let expected: Vec<String> = items
            .iter()
            .map(|i| tagging_prompt(&i.text))
            .chain(items[1..].iter().map(|i| tagging_prompt(&i.text) + JSON_ONLY_REMINDER))
            .collect();
        assert_eq!(*seen, expected);
        assert_eq!(tagger.config()["fallback"]["tagger"], "keyphrase");
    }
}
