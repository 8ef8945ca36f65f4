//! Structured output for the OpenAI-compatible tagger: the `response_format` ladder and what a refusal is.
//!
//! The tagger first asks for a JSON schema of the tag list (constrained decoding where the server supports
//! it: OpenAI, vLLM, llama.cpp's server), then, if the server refuses that, for plain JSON mode, then for no
//! format at all (the paper's set-up). OpenAI's `json_schema` wants an object at the top level, so the
//! schema wraps the list as `{"tags": [...]}`; [`crate::parse::parse_tag_reply`] accepts both shapes. The
//! step that works is kept for the rest of the run, and every step down is recorded ([`FormatStep`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

/// Version of the schema and of the JSON-mode note: part of the tagger config.
pub const FORMAT_VERSION: u32 = 1;

/// Appended to the prompt in JSON mode, which forces an object at the top level: the paper's prompt asks for
/// a bare list, which that mode cannot return.
pub const JSON_OBJECT_NOTE: &str = "\nAnswer with a JSON object {\"tags\": [...]} holding that list.";

/// One rung of the ladder, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// `{"type": "json_schema", ...}` for `{"tags": [{"tag": str, "explanation": str}]}`.
    JsonSchema,
    /// `{"type": "json_object"}`.
    JsonObject,
    /// No `response_format`: the prompt alone asks for JSON.
    Plain,
}

impl ResponseFormat {
    pub const LADDER: [ResponseFormat; 3] = [Self::JsonSchema, Self::JsonObject, Self::Plain];

    pub fn name(self) -> &'static str {
        match self {
            Self::JsonSchema => "json_schema",
            Self::JsonObject => "json_object",
            Self::Plain => "plain",
        }
    }

    /// The next rung down, if any.
    pub fn fallback(self) -> Option<Self> {
        match self {
            Self::JsonSchema => Some(Self::JsonObject),
            Self::JsonObject => Some(Self::Plain),
            Self::Plain => None,
        }
    }

    /// The `response_format` request field, if this rung sends one.
    pub fn request_field(self) -> Option<Value> {
        match self {
            Self::JsonSchema => Some(json!({
                "type": "json_schema",
                "json_schema": {"name": "intention_tags", "strict": true, "schema": tag_list_schema()},
            })),
            Self::JsonObject => Some(json!({"type": "json_object"})),
            Self::Plain => None,
        }
    }

    fn index(self) -> u8 {
        match self {
            Self::JsonSchema => 0,
            Self::JsonObject => 1,
            Self::Plain => 2,
        }
    }

    fn from_index(index: u8) -> Self {
        Self::LADDER[usize::from(index).min(2)]
    }
}

/// `{"tags": [{"tag": str, "explanation": str}]}`, every field required and nothing else allowed (what
/// OpenAI's strict mode demands).
pub fn tag_list_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"tag": {"type": "string"}, "explanation": {"type": "string"}},
                    "required": ["tag", "explanation"],
                    "additionalProperties": false,
                },
            },
        },
        "required": ["tags"],
        "additionalProperties": false,
    })
}

/// Whether an HTTP error answers the `response_format` rather than the request as such: 400 and 422 (what
/// OpenAI and vLLM answer to an unsupported field or schema), or another error whose body names the field
/// (some servers answer 500 when their grammar conversion fails).
pub fn is_refusal(status: u16, body: &str) -> bool {
    matches!(status, 400 | 422) || (status >= 400 && body.contains("response_format"))
}

/// A step down the ladder: which rung the server refused, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormatStep {
    pub refused: ResponseFormat,
    pub now: ResponseFormat,
    /// The instruction whose request was refused.
    pub instruction_id: String,
    /// Status and body preview of the refusal (the API key redacted).
    pub reason: String,
}

/// The rung in use, shared by the request threads and kept across [`crate::Tagger::tag`] calls.
#[derive(Debug, Default)]
pub struct FormatLadder {
    current: AtomicU8,
    steps: Mutex<Vec<FormatStep>>,
}

impl FormatLadder {
    pub fn current(&self) -> ResponseFormat {
        ResponseFormat::from_index(self.current.load(Ordering::SeqCst))
    }

    /// After `refused` was refused: step down once (threads refused at the same rung step down together)
    /// and record it. Returns the rung to try next, or `None` when `refused` was the last one.
    pub fn step_down(&self, refused: ResponseFormat, instruction_id: &str, reason: &str) -> Option<ResponseFormat> {
        let next = refused.fallback()?;
        let stepped = self
            .current
            .compare_exchange(refused.index(), next.index(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if stepped {
            self.steps.lock().unwrap_or_else(|p| p.into_inner()).push(FormatStep {
                refused,
                now: next,
                instruction_id: instruction_id.to_string(),
                reason: reason.to_string(),
            });
        }
        Some(self.current())
    }

    pub fn steps(&self) -> Vec<FormatStep> {
        self.steps.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_steps_down_once_per_rung_and_records_it() {
        let ladder = FormatLadder::default();
        assert_eq!(ladder.current(), ResponseFormat::JsonSchema);
        assert_eq!(
            ladder.step_down(ResponseFormat::JsonSchema, "a", "HTTP 400"),
            Some(ResponseFormat::JsonObject)
        );
        // A second thread refused at the schema rung: already stepped, nothing new recorded.
        assert_eq!(
            ladder.step_down(ResponseFormat::JsonSchema, "b", "HTTP 400"),
            Some(ResponseFormat::JsonObject)
        );
        assert_eq!(
            ladder.step_down(ResponseFormat::JsonObject, "c", "HTTP 422"),
            Some(ResponseFormat::Plain)
        );
        assert_eq!(ladder.step_down(ResponseFormat::Plain, "d", "HTTP 400"), None);
        let steps = ladder.steps();
        assert_eq!(
            steps.iter().map(|s| (s.refused, s.now, s.instruction_id.as_str())).collect::<Vec<_>>(),
            vec![
                (ResponseFormat::JsonSchema, ResponseFormat::JsonObject, "a"),
                (ResponseFormat::JsonObject, ResponseFormat::Plain, "c")
            ]
        );
    }

    #[test]
    fn refusals_are_400_422_or_errors_naming_the_field() {
        assert!(is_refusal(400, "bad"));
        assert!(is_refusal(422, ""));
        assert!(is_refusal(500, r#"{"error": "response_format: unsupported schema"}"#));
        assert!(!is_refusal(500, "overloaded"));
        assert!(!is_refusal(401, "bad key"));
        assert!(!is_refusal(200, "response_format"));
    }

    #[test]
    fn schema_wraps_the_list_in_an_object() {
        let field = ResponseFormat::JsonSchema.request_field().unwrap();
        assert_eq!(field["type"], "json_schema");
        let schema = &field["json_schema"]["schema"];
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["tags"]["type"], "array");
        assert_eq!(schema["properties"]["tags"]["items"]["required"], json!(["tag", "explanation"]));
        assert_eq!(ResponseFormat::JsonObject.request_field(), Some(json!({"type": "json_object"})));
        assert_eq!(ResponseFormat::Plain.request_field(), None);
    }
}
