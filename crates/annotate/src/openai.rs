//! The paper's tagger: the InsCL prompt sent to an OpenAI-compatible chat-completions endpoint.
//!
//! One request per instruction (`temperature` 0), `concurrency` requests in flight (scoped threads taking
//! instructions from a shared queue). Failures are retried up to `max_retries` times: an unparseable reply
//! at once, a 429, 408, 5xx, timeout or dropped connection after an exponential back-off (`backoff_base`,
//! doubling, at most `backoff_max`) or after the server's `Retry-After` seconds when it sends them. Other
//! HTTP errors (401, 400, …) fail at once. The API key comes from the environment variable
//! [`API_KEY_ENV`] and appears in no config, error message or debug output.

use crate::parse::parse_tag_reply;
use crate::prompt::{PROMPT_VERSION, tagging_prompt};
use crate::{AnnotateError, Instruction, TagList, Tagger};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "INSCL_API_KEY";

/// Longest `Retry-After` honoured, so a misconfigured server cannot stall a run for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

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
    api_key: String,
}

impl std::fmt::Debug for OpenAiTagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiTagger")
            .field("api_base", &self.api_base)
            .field("model", &self.model)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
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
}

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
            api_key,
        }
    }

    /// `{api_base}/v1/chat/completions`, whether or not `api_base` already ends in `/v1`.
    pub fn endpoint(&self) -> String {
        let base = self.api_base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}/v1/chat/completions")
    }

    /// The JSON body sent for one instruction.
    pub fn request_body(&self, instruction_text: &str) -> Value {
        json!({
            "model": self.model,
            "messages": [{"role": "user", "content": tagging_prompt(instruction_text)}],
            "temperature": 0,
        })
    }

    fn agent(&self) -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .build()
            .into()
    }

    fn tag_one(&self, agent: &ureq::Agent, item: &Instruction) -> Result<TagList, AnnotateError> {
        let body = self.request_body(&item.text).to_string();
        let endpoint = self.endpoint();
        let mut reason = String::new();
        let mut transient_failures = 0u32;
        for attempt in 0..=self.max_retries {
            let wait = match self.exchange(agent, &endpoint, &body) {
                Exchange::Reply(text) => match reply_content(&text).and_then(|c| parse_tag_reply(&c)) {
                    Ok(tags) => {
                        return Ok(TagList {
                            tags,
                            source: format!("openai:{}", self.model),
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
                Exchange::Permanent(why) => {
                    return Err(AnnotateError::TaggingFailed {
                        id: item.id.clone(),
                        attempts: attempt + 1,
                        reason: self.redact(&why),
                    });
                }
            };
            if attempt < self.max_retries {
                std::thread::sleep(wait);
            }
        }
        Err(AnnotateError::TaggingFailed {
            id: item.id.clone(),
            attempts: self.max_retries + 1,
            reason,
        })
    }

    fn exchange(&self, agent: &ureq::Agent, endpoint: &str, body: &str) -> Exchange {
        let sent = agent
            .post(endpoint)
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
            408 | 429 | 500..=599 => Exchange::Transient {
                reason: format!("HTTP {status}: {}", preview(&text)),
                retry_after,
            },
            _ => Exchange::Permanent(format!("HTTP {status} from {endpoint}: {}", preview(&text))),
        }
    }

    /// Servers echo parts of a rejected key in their error bodies; never pass it on.
    fn redact(&self, text: &str) -> String {
        if self.api_key.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.api_key, "[redacted]")
        }
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
        json!({
            "tagger": "openai",
            "prompt": PROMPT_VERSION,
            "endpoint": endpoint,
            "model": self.model,
            "temperature": 0,
        })
    }

    fn tag(&self, items: &[Instruction]) -> Result<Vec<TagList>, AnnotateError> {
        if self.concurrency == 0 {
            return Err(AnnotateError::Config(
                "openai concurrency must be at least 1".to_string(),
            ));
        }
        let agent = self.agent();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let results: Mutex<Vec<Option<Result<TagList, AnnotateError>>>> =
            Mutex::new((0..items.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..self.concurrency.min(items.len()) {
                scope.spawn(|| {
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let result = self.tag_one(&agent, item);
                        if result.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut lists = Vec::with_capacity(items.len());
        let mut not_sent = None;
        for (result, item) in results.into_iter().zip(items) {
            match result {
                Some(Ok(list)) => lists.push(list),
                // The first failure in input order; the queue stopped after it.
                Some(Err(e)) => return Err(e),
                None => not_sent = not_sent.or(Some(item.id.clone())),
            }
        }
        match not_sent {
            // Unreachable unless a worker panicked, which the scope would already have propagated.
            Some(id) => Err(AnnotateError::TaggingFailed {
                id,
                attempts: 0,
                reason: "not sent".to_string(),
            }),
            None => Ok(lists),
        }
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
