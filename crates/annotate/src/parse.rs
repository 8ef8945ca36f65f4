//! Parsing a tagger's reply into `[{"tag", "explanation"}]`, with the repairs that cannot change meaning.
//!
//! Accepted, in order of preference: the reply is the JSON list; the list is wrapped in ``` fences or prose
//! (the first bracketed span that parses is used); it has trailing commas or raw newlines inside strings; it
//! is a single object instead of a list; it was cut off by the token limit after at least one complete
//! object (the complete objects are kept); an element lacks `explanation` (→ `""`) or is a bare string (a
//! tag without explanation). Everything else — no JSON, an element without a non-empty `tag`, an empty list
//! — is an error, which the taggers answer with a retry or a fallback.

use crate::{AnnotateError, RawTag};
use serde_json::Value;

/// Parse a reply into tags (at least one). Tags and explanations are trimmed.
pub fn parse_tag_reply(reply: &str) -> Result<Vec<RawTag>, AnnotateError> {
    let starts: Vec<usize> = reply
        .char_indices()
        .filter(|&(_, c)| c == '[')
        .map(|(i, _)| i)
        .chain(reply.char_indices().filter(|&(_, c)| c == '{').map(|(i, _)| i).take(1))
        .collect();
    if starts.is_empty() {
        return Err(AnnotateError::Parse(format!(
            "no JSON list or object in reply {}",
            preview(reply)
        )));
    }
    let mut first_error = None;
    for start in starts {
        match extract_json(&reply[start..]).and_then(|json| tags_from_json(&json)) {
            Ok(tags) => return Ok(tags),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let reason = first_error.map(|e| e.to_string()).unwrap_or_default();
    Err(AnnotateError::Parse(format!("{reason}; reply {}", preview(reply))))
}

fn preview(reply: &str) -> String {
    let cut: String = reply.chars().take(160).collect();
    if cut.len() < reply.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// The balanced JSON value starting at `text[0]` (`[` or `{`), repaired: raw control characters inside
/// strings escaped, trailing commas removed, and a list cut off after complete elements closed.
fn extract_json(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 1);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // Byte length of `out` just after the last element that closed at depth 1 of a list.
    let mut last_complete_element = None;
    let opener = text.chars().next();
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => {
                    escaped = false;
                    out.push(c);
                }
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push(' '),
                c => out.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '[' | '{' => {
                depth += 1;
                out.push(c);
            }
            ']' | '}' => {
                drop_trailing_comma(&mut out);
                out.push(c);
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(out);
                }
                if depth == 1 && opener == Some('[') {
                    last_complete_element = Some(out.len());
                }
            }
            c => out.push(c),
        }
    }
    match last_complete_element {
        Some(end) => {
            out.truncate(end);
            out.push(']');
            Ok(out)
        }
        None => Err("unbalanced JSON (reply cut off before a complete tag)".to_string()),
    }
}

fn drop_trailing_comma(out: &mut String) {
    let trimmed = out.trim_end().len();
    if out[..trimmed].ends_with(',') {
        out.truncate(trimmed - 1);
    }
}

fn tags_from_json(json: &str) -> Result<Vec<RawTag>, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("invalid JSON ({e})"))?;
    let elements = match value {
        Value::Array(elements) => elements,
        // `{"tags": [...]}`: the shape structured output asks for (a schema's top level must be an object).
        Value::Object(fields) if tags_field(&fields).is_some() => match tags_field(&fields) {
            Some(Value::Array(elements)) => elements.clone(),
            _ => return Err("\"tags\" is not a list".to_string()),
        },
        object @ Value::Object(_) => vec![object],
        other => return Err(format!("expected a list of tags, found {other}")),
    };
    if elements.is_empty() {
        return Err("empty tag list".to_string());
    }
    elements
        .iter()
        .enumerate()
        .map(|(i, element)| tag_from_element(i, element))
        .collect()
}

/// The `tags` field of an object, whatever its case.
fn tags_field(fields: &serde_json::Map<String, Value>) -> Option<&Value> {
    fields
        .iter()
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("tags"))
        .map(|(_, v)| v)
}

fn tag_from_element(index: usize, element: &Value) -> Result<RawTag, String> {
    let (tag, explanation) = match element {
        Value::String(tag) => (tag.as_str(), ""),
        Value::Object(fields) => {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            };
            let tag = match field("tag") {
                Some(Value::String(tag)) => tag.as_str(),
                Some(other) => return Err(format!("element {index}: \"tag\" is not a string: {other}")),
                None => return Err(format!("element {index} has no \"tag\": {element}")),
            };
            let explanation = match field("explanation") {
                Some(Value::String(text)) => text.as_str(),
                _ => "",
            };
            (tag, explanation)
        }
        other => return Err(format!("element {index} is neither an object nor a string: {other}")),
    };
    let tag = tag.trim();
    if tag.is_empty() {
        return Err(format!("element {index} has an empty tag"));
    }
    Ok(RawTag {
        tag: tag.to_string(),
        explanation: explanation.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(reply: &str) -> Vec<(String, String)> {
        parse_tag_reply(reply)
            .unwrap_or_else(|e| panic!("{reply:?} should parse: {e}"))
            .into_iter()
            .map(|t| (t.tag, t.explanation))
            .collect()
    }

    fn pair(tag: &str, explanation: &str) -> (String, String) {
        (tag.to_string(), explanation.to_string())
    }

    #[test]
    fn clean_reply() {
        let reply = r#"[{"tag": "Translation", "explanation": "Translate text."}, {"tag": "French", "explanation": "Target language."}]"#;
        assert_eq!(
            tags(reply),
            vec![
                pair("Translation", "Translate text."),
                pair("French", "Target language.")
            ]
        );
    }

    #[test]
    fn fenced_reply_with_prose() {
        let reply = "Sure! Here are the tags:\n```json\n[\n  {\"tag\": \"Math\", \"explanation\": \"Solve [x] for y\"}\n]\n```\nHope this helps [really].";
        assert_eq!(tags(reply), vec![pair("Math", "Solve [x] for y")]);
    }

    #[test]
    fn trailing_commas_and_raw_newlines() {
        let reply = "[{\"tag\": \"Poetry\", \"explanation\": \"Write\na poem\",}, {\"tag\": \"Rhyme\",},]";
        assert_eq!(tags(reply), vec![pair("Poetry", "Write\na poem"), pair("Rhyme", "")]);
    }

    #[test]
    fn single_object_becomes_a_list() {
        assert_eq!(
            tags(r#"{"tag": "Cosplay", "explanation": "Role play"}"#),
            vec![pair("Cosplay", "Role play")]
        );
    }

    #[test]
    fn structured_output_object_is_unwrapped() {
        let reply = r#"{"tags": [{"tag": "Math", "explanation": "Solve"}, {"tag": "Algebra", "explanation": "x"}]}"#;
        assert_eq!(tags(reply), vec![pair("Math", "Solve"), pair("Algebra", "x")]);
        let reply = "{\"Tags\": [\"Poetry\"]}";
        assert_eq!(tags(reply), vec![pair("Poetry", "")]);
        for bad in [r#"{"tags": []}"#, r#"{"tags": "Math"}"#] {
            assert!(parse_tag_reply(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_explanation_and_bare_strings() {
        let reply = r#"[{"Tag": " Coding "}, "Debugging", {"tag": "Review", "explanation": null}]"#;
        assert_eq!(
            tags(reply),
            vec![pair("Coding", ""), pair("Debugging", ""), pair("Review", "")]
        );
    }

    #[test]
    fn truncated_reply_keeps_complete_objects() {
        let reply = r#"[{"tag": "Summarization", "explanation": "Shorten"}, {"tag": "News", "expl"#;
        assert_eq!(tags(reply), vec![pair("Summarization", "Shorten")]);
    }

    #[test]
    fn bad_replies_are_errors() {
        for reply in [
            "I cannot help with that.",
            "[]",
            r#"[{"explanation": "no tag here"}]"#,
            r#"[{"tag": "", "explanation": "empty"}]"#,
            r#"[{"tag": 3}]"#,
            r#"[{"tag": "Cut off"#,
            "[1, 2]",
        ] {
            let err = parse_tag_reply(reply).expect_err(reply);
            assert!(matches!(err, AnnotateError::Parse(_)), "{reply}: {err}");
        }
    }

    #[test]
    fn later_bracket_span_is_tried_when_the_first_is_prose() {
        let reply = "Tags [see below]:\n[{\"tag\": \"Classification\", \"explanation\": \"Label\"}]";
        assert_eq!(tags(reply), vec![pair("Classification", "Label")]);
    }
}
