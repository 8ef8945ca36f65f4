//! The paper's tagger: the InsCL prompt sent to an OpenAI-compatible chat-completions endpoint.
//!
//! One request per instruction (`temperature` 0, at most `max_tokens` reply tokens: a model that loops under a
//! schema would otherwise write until the server's context ends), `concurrency` requests in flight (scoped threads taking
//! instructions from a shared queue). Failures are retried up to `max_retries` times: an unparseable reply
//! at once, a 429, 408, 5xx, timeout or dropped connection after an exponential back-off (`backoff_base`,
//! doubling, at most `backoff_max`) or after the server's `Retry-After` seconds when it sends them. Other
//! HTTP errors (401, 404, a 400 once no `response_format` is sent, …) fail at once. The API key comes from the environment variable
//! [`API_KEY_ENV`] and appears in no config, error message or debug output.
//!
//! Requests ask for structured output ([`crate::response_format`]): a JSON schema of the tag list, then JSON
//! mode, then nothing, stepping down when the server refuses a format (which costs no retry); the rung that
//! works is kept for the rest of the run, each step is recorded ([`OpenAiTagger::format_steps`]) and each
//! tag list's `source` names the rung (`openai:<model>:json_schema`). An instruction that still fails after
//! the retries (replies that never parse, a server that stays unavailable) fails the run or is tagged by
//! keyphrases ([`OnFailure`], `source = "keyphrase-fallback"`). Errors that retrying cannot cure (a 401, a
//! 404, a 400 without any format) fail the run either way: falling back on them would silently replace the
//! whole run's tags.

use crate::keyphrase::KeyphraseTagger;
use crate::parse::parse_tag_reply;
use crate::prompt::{PROMPT_VERSION, tagging_prompt};
use crate::response_format::{
    FORMAT_VERSION, FormatLadder, FormatStep, JSON_OBJECT_NOTE, ResponseFormat, is_refusal,
};
use crate::{AnnotateError, Instruction, TagList, Tagger};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "INSCL_API_KEY";

/// Longest `Retry-After` honoured, so a misconfigured server cannot stall a run for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// What happens to an instruction that still fails after the retries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// The run fails with an error naming the instruction.
    #[default]
    Fail,
    /// The instruction is tagged by [`OpenAiTagger::fallback`] (keyphrases), `source = "keyphrase-fallback"`.
    Keyphrase,
}

pub struct OpenAiTagger {
    /// e.g. `https://api.openai.com` or `http://127.0.0.1:8000/v1` (with or without `/v1`).
    pub api_base: String,
    pub model: String,
    pub concurrency: usize,
    /// Whole-request time limit.
    pub timeout: Duration,
    pub max_retries: usize,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub on_failure: OnFailure,
    /// The reply's token cap, sent as `max_tokens` (part of [`Tagger::config`]).
    pub max_tokens: usize,
    /// The keyphrase tagger for [`OnFailure::Keyphrase`] (required by it, unused otherwise).
    pub fallback: Option<KeyphraseTagger>,
    api_key: String,
    ladder: FormatLadder,
}

impl std::fmt::Debug for OpenAiTagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiTagger")
            .field("api_base", &self.api_base)
            .field("model", &self.model)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("on_failure", &self.on_failure)
            .field("format", &self.ladder.current())
            .field("api_key", &"[redacted]")
            .finish()
    }
}

/// What one HTTP exchange came to.
enum Exchange {
    /// 200 with a body.
    Reply(String),
    /// Worth another try, after the server's requested wait if it gave one.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    Permanent(String),
    /// The server refused the `response_format` (status and body preview).
    Refused(String),
}

/// Why an instruction got no tags from the server.
enum Failure {
    /// Still failing after the retries: [`OnFailure`] decides.
    Exhausted(AnnotateError),
    /// Retrying cannot help: the run fails whatever [`OnFailure`] says.
    Fatal(AnnotateError),
}

/// The default reply cap: room for `max_tags` tags with their explanations many times over; SmolLM2 under a
/// schema once looped to 4,096 tokens (37 s) where its tag list needed under 300.
pub const DEFAULT_MAX_TOKENS: usize = 1024;

impl OpenAiTagger {
    /// A tagger with the key from [`API_KEY_ENV`] and the defaults: 8 requests in flight, 120 s timeout,
    /// 3 retries, back-off from 1 s up to 60 s.
    pub fn from_env(api_base: &str, model: &str) -> Result<Self, AnnotateError> {
        let key = std::env::var(API_KEY_ENV).ok().filter(|k| !k.trim().is_empty());
        let key = key.ok_or(AnnotateError::MissingApiKey(API_KEY_ENV))?;
        Ok(Self::with_api_key(api_base, model, key.trim().to_string()))
    }

    /// As [`Self::from_env`] with an explicit key (tests, key vaults).
    pub fn with_api_key(api_base: &str, model: &str, api_key: String) -> Self {
        Self {
            api_base: api_base.to_string(),
            model: model.to_string(),
            concurrency: 8,
            timeout: Duration::from_secs(120),
            max_retries: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            on_failure: OnFailure::Fail,
            max_tokens: DEFAULT_MAX_TOKENS,
            fallback: None,
            api_key,
            ladder: FormatLadder::default(),
        }
    }

    /// `{api_base}/v1/chat/completions`, whether or not `api_base` already ends in `/v1`.
    pub fn endpoint(&self) -> String {
        let base = self.api_base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}/v1/chat/completions")
    }

    /// The JSON body sent for one instruction, with the `response_format` now in use.
    pub fn request_body(&self, instruction_text: &str) -> Value {
        request_body(&self.model, instruction_text, self.ladder.current(), self.max_tokens)
    }

    /// The `response_format` rung now in use: [`ResponseFormat::JsonSchema`] until a server refused it.
    pub fn response_format(&self) -> ResponseFormat {
        self.ladder.current()
    }

    /// Every step down the `response_format` ladder so far, in order.
    pub fn format_steps(&self) -> Vec<FormatStep> {
        self.ladder.steps()
    }

    fn client(&self) -> Client<'_> {
        Client {
            model: &self.model,
            endpoint: self.endpoint(),
            api_key: &self.api_key,
            max_retries: self.max_retries,
            backoff_base: self.backoff_base,
            backoff_max: self.backoff_max,
            ladder: &self.ladder,
            max_tokens: self.max_tokens,
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(self.timeout))
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    #[cfg(test)]
    fn redact(&self, text: &str) -> String {
        redact(&self.api_key, text)
    }
}

fn request_body(model: &str, instruction_text: &str, format: ResponseFormat, max_tokens: usize) -> Value {
    let mut prompt = tagging_prompt(instruction_text);
    if format == ResponseFormat::JsonObject {
        prompt.push_str(JSON_OBJECT_NOTE);
    }
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": max_tokens,
    });
    if let Some(field) = format.request_field() {
        body["response_format"] = field;
    }
    body
}

/// What the request threads share: the tagger's HTTP settings, not its keyphrase fallback (whose embedder
/// need not be `Sync`; the fallback runs after the threads).
struct Client<'a> {
    model: &'a str,
    endpoint: String,
    api_key: &'a str,
    max_retries: usize,
    backoff_base: Duration,
    backoff_max: Duration,
    ladder: &'a FormatLadder,
    max_tokens: usize,
    agent: ureq::Agent,
}

impl Client<'_> {
    fn tag_one(&self, item: &Instruction) -> Result<TagList, Failure> {
        let mut reason: String;
        let mut transient_failures = 0u32;
        let mut sent = 0;
        let mut attempt = 0;
        loop {
            let format = self.ladder.current();
            let body = request_body(self.model, &item.text, format, self.max_tokens).to_string();
            sent += 1;
            let wait = match self.exchange(&body, format) {
                Exchange::Reply(text) => match reply_content(&text).and_then(|c| parse_tag_reply(&c)) {
                    Ok(tags) => {
                        return Ok(TagList {
                            tags,
                            source: format!("openai:{}:{}", self.model, format.name()),
                        });
                    }
                    Err(e) => {
                        reason = self.redact(&e.to_string());
                        Duration::ZERO
                    }
                },
                Exchange::Transient {
                    reason: why,
                    retry_after,
                } => {
                    reason = self.redact(&why);
                    let backoff = self
                        .backoff_base
                        .saturating_mul(2u32.saturating_pow(transient_failures));
                    transient_failures += 1;
                    retry_after
                        .map(|d| d.min(MAX_RETRY_AFTER))
                        .unwrap_or(backoff.min(self.backoff_max))
                }
                // A refused format is the server's limit, not this instruction's failure: no retry is spent.
                // The ladder has three rungs, so this repeats at most twice per instruction.
                Exchange::Refused(why) => {
                    let why = self.redact(&why);
                    match self.ladder.step_down(format, &item.id, &why) {
                        Some(_) => continue,
                        None => return Err(Failure::Fatal(self.failed(item, sent, why))),
                    }
                }
                Exchange::Permanent(why) => {
                    return Err(Failure::Fatal(self.failed(item, sent, self.redact(&why))));
                }
            };
            if attempt == self.max_retries {
                return Err(Failure::Exhausted(self.failed(item, sent, reason)));
            }
            attempt += 1;
            std::thread::sleep(wait);
        }
    }

    fn failed(&self, item: &Instruction, attempts: usize, reason: String) -> AnnotateError {
        AnnotateError::TaggingFailed {
            id: item.id.clone(),
            attempts,
            reason,
        }
    }

    fn exchange(&self, body: &str, format: ResponseFormat) -> Exchange {
        let sent = self
            .agent
            .post(&self.endpoint)
            .header("Authorization", &format!("Bearer {}", self.api_key))
            .header("Content-Type", "application/json")
            .send(body);
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return transport_failure(e),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = match response.body_mut().read_to_string() {
            Ok(text) => text,
            Err(e) => return transport_failure(e),
        };
        match status {
            200..=299 => Exchange::Reply(text),
            _ if format != ResponseFormat::Plain && is_refusal(status, &text) => Exchange::Refused(format!(
                "HTTP {status} to response_format {}: {}",
                format.name(),
                preview(&text)
            )),
            408 | 429 | 500..=599 => Exchange::Transient {
                reason: format!("HTTP {status}: {}", preview(&text)),
                retry_after,
            },
            _ => Exchange::Permanent(format!("HTTP {status} from {}: {}", self.endpoint, preview(&text))),
        }
    }

    fn redact(&self, text: &str) -> String {
        redact(self.api_key, text)
    }
}

/// Servers echo parts of a rejected key in their error bodies; never pass it on.
fn redact(api_key: &str, text: &str) -> String {
    if api_key.is_empty() {
        text.to_string()
    } else {
        text.replace(api_key, "[redacted]")
    }
}

fn transport_failure(error: ureq::Error) -> Exchange {
    match error {
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::BodyStalled
        | ureq::Error::Protocol(_) => Exchange::Transient {
            reason: error.to_string(),
            retry_after: None,
        },
        other => Exchange::Permanent(other.to_string()),
    }
}

/// `choices[0].message.content` of a chat-completions reply.
fn reply_content(body: &str) -> Result<String, AnnotateError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|e| AnnotateError::Parse(format!("response body is not JSON ({e}): {}", preview(body))))?;
    value["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| AnnotateError::Parse(format!("no choices[0].message.content in {}", preview(body))))
}

fn preview(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

impl Tagger for OpenAiTagger {
    fn config(&self) -> Value {
        let endpoint = self.endpoint();
        let ladder: Vec<&str> = ResponseFormat::LADDER.iter().map(|f| f.name()).collect();
        // The fallback decides the tags of the instructions that fail; without it none is produced.
        let fallback = match (self.on_failure, &self.fallback) {
            (OnFailure::Keyphrase, Some(fallback)) => fallback.config(),
            _ => Value::Null,
        };
        json!({
            "tagger": "openai",
            "prompt": PROMPT_VERSION,
            "endpoint": endpoint,
            "model": self.model,
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "response_format": {"version": FORMAT_VERSION, "ladder": ladder},
            "on_failure": self.on_failure,
            "fallback": fallback,
        })
    }

    fn tag(&self, items: &[Instruction]) -> Result<Vec<TagList>, AnnotateError> {
        if self.concurrency == 0 {
            return Err(AnnotateError::Config(
                "openai concurrency must be at least 1".to_string(),
            ));
        }
        let fallback = match (self.on_failure, &self.fallback) {
            (OnFailure::Fail, _) => None,
            (OnFailure::Keyphrase, Some(fallback)) => Some(fallback),
            (OnFailure::Keyphrase, None) => {
                return Err(AnnotateError::Config(
                    "openai on_failure = \"keyphrase\" needs a keyphrase tagger in `fallback`".to_string(),
                ));
            }
        };
        let client = self.client();
        let stop_on_exhausted = fallback.is_none();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let results: Mutex<Vec<Option<Result<TagList, Failure>>>> =
            Mutex::new((0..items.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..self.concurrency.min(items.len()) {
                scope.spawn(|| {
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let result = client.tag_one(item);
                        let stops = match &result {
                            Ok(_) => false,
                            Err(Failure::Exhausted(_)) => stop_on_exhausted,
                            Err(Failure::Fatal(_)) => true,
                        };
                        if stops {
                            failed.store(true, Ordering::Relaxed);
                        }
                        results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut lists: Vec<Option<TagList>> = Vec::with_capacity(items.len());
        let mut exhausted: Vec<Instruction> = Vec::new();
        let mut not_sent = None;
        for (result, item) in results.into_iter().zip(items) {
            match result {
                Some(Ok(list)) => lists.push(Some(list)),
                // The first failure in input order; the queue stopped after it.
                Some(Err(Failure::Fatal(e))) => return Err(e),
                Some(Err(Failure::Exhausted(e))) if fallback.is_none() => return Err(e),
                Some(Err(Failure::Exhausted(_))) => {
                    exhausted.push(item.clone());
                    lists.push(None);
                }
                None => {
                    not_sent = not_sent.or(Some(item.id.clone()));
                    lists.push(None);
                }
            }
        }
        if let Some(id) = not_sent {
            // Unreachable unless a worker panicked, which the scope would already have propagated.
            return Err(AnnotateError::TaggingFailed {
                id,
                attempts: 0,
                reason: "not sent".to_string(),
            });
        }
        let mut fallback_lists = match fallback {
            Some(fallback) if !exhausted.is_empty() => fallback.tag(&exhausted)?.into_iter(),
            _ => Vec::new().into_iter(),
        };
        lists
            .into_iter()
            .map(|list| match list {
                Some(list) => Ok(list),
                None => {
                    let mut list = fallback_lists.next().ok_or(AnnotateError::CountMismatch {
                        expected: exhausted.len(),
                        got: 0,
                    })?;
                    list.source = "keyphrase-fallback".to_string();
                    Ok(list)
                }
            })
            .collect()
    }

    fn batch_size(&self) -> usize {
        (self.concurrency * 4).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_tolerates_v1_and_slashes() {
        for base in ["http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/"] {
            let tagger = OpenAiTagger::with_api_key(base, "m", "k".into());
            assert_eq!(tagger.endpoint(), "http://h:1/v1/chat/completions", "{base}");
        }
    }

    #[test]
    fn key_is_in_neither_config_nor_debug() {
        let tagger = OpenAiTagger::with_api_key("http://h:1", "gpt-4", "sk-secret-123".into());
        assert!(!tagger.config().to_string().contains("sk-secret-123"));
        assert!(!format!("{tagger:?}").contains("sk-secret-123"));
        assert_eq!(tagger.redact("bad key sk-secret-123!"), "bad key [redacted]!");
    }
}
