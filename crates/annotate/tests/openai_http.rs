//! The OpenAI-compatible tagger against a scripted HTTP/1.1 server on 127.0.0.1 that each test starts.

use inscl_annotate::prompt::tagging_prompt;
use inscl_annotate::{
    AnnotateError, Instruction, KeyphraseTagger, OnFailure, OpenAiTagger, PhraseEmbedder, ResponseFormat, Tagger,
};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "sk-test-0123456789abcdef";

#[derive(Debug, Clone)]
struct Request {
    headers: Vec<(String, String)>,
    body: Value,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn instruction(&self) -> String {
        let prompt = self.body["messages"][0]["content"].as_str().unwrap_or_default();
        prompt
            .split("[begin]\n")
            .nth(1)
            .and_then(|rest| rest.split("\n[end]").next())
            .unwrap_or_default()
            .to_string()
    }
}

/// What the server answers to the n-th request (0-based, over all connections) for an instruction.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn completion(content: &str) -> Answer {
    let body = json!({"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]});
    Answer {
        status: 200,
        headers: vec![],
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

fn tags_for(instruction: &str) -> String {
    json!([{"tag": format!("Tag of {instruction}"), "explanation": "scripted"}]).to_string()
}

struct Server {
    base: String,
    requests: Arc<Mutex<Vec<Request>>>,
    max_in_flight: Arc<AtomicUsize>,
}

/// Serves until `limit` requests were answered or 20 s passed; `script(request, attempt of this
/// instruction)` decides each answer.
fn serve(limit: usize, script: impl Fn(&Request, usize) -> Answer + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(script);
    let (log, in_flight2, max2) = (requests.clone(), in_flight.clone(), max_in_flight.clone());
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let accepted = AtomicUsize::new(0);
        while Instant::now() < deadline && accepted.load(Ordering::SeqCst) < limit {
            match listener.accept() {
                Ok((stream, _)) => {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let (log, in_flight, max, script) = (log.clone(), in_flight2.clone(), max2.clone(), script.clone());
                    std::thread::spawn(move || handle(stream, &log, &in_flight, &max, script.as_ref()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    Server {
        base,
        requests,
        max_in_flight,
    }
}

fn handle(
    mut stream: TcpStream,
    log: &Mutex<Vec<Request>>,
    in_flight: &AtomicUsize,
    max: &AtomicUsize,
    script: &(dyn Fn(&Request, usize) -> Answer + Send + Sync),
) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    let attempt = {
        let mut log = log.lock().unwrap();
        let attempt = log.iter().filter(|r| r.instruction() == request.instruction()).count();
        log.push(request.clone());
        attempt
    };
    let answer = script(&request, attempt);
    std::thread::sleep(answer.delay);
    let reason = match answer.status {
        200 => "OK",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(answer.body.as_bytes()));
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| {
            line.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < header_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = serde_json::from_slice(&data[header_end..]).ok()?;
    Some(Request { headers, body })
}

fn tagger(server: &Server) -> OpenAiTagger {
    let mut tagger = OpenAiTagger::with_api_key(&server.base, "test-model", KEY.to_string());
    tagger.concurrency = 2;
    tagger.timeout = Duration::from_secs(5);
    tagger.backoff_base = Duration::from_millis(20);
    tagger
}

fn instructions(n: usize) -> Vec<Instruction> {
    (0..n)
        .map(|i| Instruction {
            id: format!("task{i}"),
            text: format!("Instruction number {i}."),
        })
        .collect()
}

#[test]
fn good_replies_with_key_exact_prompt_and_temperature_zero() {
    let server = serve(3, |request, _| completion(&tags_for(&request.instruction())));
    let items = instructions(3);
    let lists = tagger(&server).tag(&items).unwrap();
    for (item, list) in items.iter().zip(&lists) {
        assert_eq!(list.source, "openai:test-model:json_schema");
        assert_eq!(list.tags.len(), 1);
        assert_eq!(list.tags[0].tag, format!("Tag of {}", item.text));
    }
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 3);
    for request in requests.iter() {
        assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(request.body["temperature"], json!(0));
        assert_eq!(request.body["max_tokens"], json!(inscl_annotate::DEFAULT_MAX_TOKENS));
        assert_eq!(request.body["model"], "test-model");
        assert_eq!(request.body["messages"][0]["role"], "user");
        assert_eq!(request.body["response_format"]["type"], "json_schema");
        let item = items
            .iter()
            .find(|i| i.text == request.instruction())
            .expect("known instruction");
        assert_eq!(
            request.body["messages"][0]["content"].as_str().unwrap(),
            tagging_prompt(&item.text)
        );
    }
}

#[test]
fn unparseable_reply_is_retried() {
    let server = serve(2, |request, attempt| match attempt {
        0 => completion("I think the tags are: translation, french"),
        _ => completion(&format!("```json\n{}\n```", tags_for(&request.instruction()))),
    });
    let lists = tagger(&server).tag(&instructions(1)).unwrap();
    assert_eq!(lists[0].tags[0].tag, "Tag of Instruction number 0.");
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

#[test]
fn rate_limit_honours_retry_after() {
    let server = serve(2, |request, attempt| match attempt {
        0 => Answer {
            status: 429,
            headers: vec![("Retry-After", "1".to_string())],
            body: r#"{"error": {"message": "slow down"}}"#.to_string(),
            delay: Duration::ZERO,
        },
        _ => completion(&tags_for(&request.instruction())),
    });
    let mut tagger = tagger(&server);
    tagger.backoff_base = Duration::from_secs(30);
    let start = Instant::now();
    let lists = tagger.tag(&instructions(1)).unwrap();
    let waited = start.elapsed();
    assert_eq!(lists[0].tags.len(), 1);
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(10),
        "waited {waited:?}"
    );
}

#[test]
fn server_error_backs_off_and_succeeds() {
    let server = serve(3, |request, attempt| match attempt {
        0 | 1 => Answer {
            status: 503,
            headers: vec![],
            body: "overloaded".into(),
            delay: Duration::ZERO,
        },
        _ => completion(&tags_for(&request.instruction())),
    });
    let start = Instant::now();
    let lists = tagger(&server).tag(&instructions(1)).unwrap();
    assert_eq!(lists[0].tags.len(), 1);
    // Back-off 20 ms then 40 ms.
    assert!(start.elapsed() >= Duration::from_millis(60), "{:?}", start.elapsed());
    assert_eq!(server.requests.lock().unwrap().len(), 3);
}

#[test]
fn timeout_then_success() {
    let server = serve(2, |request, attempt| {
        let mut answer = completion(&tags_for(&request.instruction()));
        if attempt == 0 {
            answer.delay = Duration::from_millis(1500);
        }
        answer
    });
    let mut tagger = tagger(&server);
    tagger.timeout = Duration::from_millis(400);
    let start = Instant::now();
    let lists = tagger.tag(&instructions(1)).unwrap();
    assert_eq!(lists[0].tags[0].tag, "Tag of Instruction number 0.");
    assert!(
        start.elapsed() < Duration::from_millis(1400),
        "the slow reply was not awaited: {:?}",
        start.elapsed()
    );
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

#[test]
fn permanent_failure_names_the_instruction_and_hides_the_key() {
    let server = serve(1, |_, _| Answer {
        status: 401,
        headers: vec![],
        body: format!(r#"{{"error": {{"message": "Incorrect API key provided: {KEY}"}}}}"#),
        delay: Duration::ZERO,
    });
    let err = tagger(&server).tag(&instructions(1)).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, AnnotateError::TaggingFailed { ref id, attempts: 1, .. } if id == "task0"),
        "{message}"
    );
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(!message.contains(KEY) && !format!("{err:?}").contains(KEY), "{message}");
    assert_eq!(server.requests.lock().unwrap().len(), 1, "no retry on 401");
}

#[test]
fn replies_that_never_parse_fail_after_the_retries() {
    let server = serve(4, |_, _| completion("no tags today"));
    let err = tagger(&server).tag(&instructions(1)).unwrap_err();
    assert!(
        matches!(err, AnnotateError::TaggingFailed { ref id, attempts: 4, .. } if id == "task0"),
        "{err}"
    );
    assert!(err.to_string().contains("no tags today"), "{err}");
    assert_eq!(server.requests.lock().unwrap().len(), 4, "1 try + max_retries 3");
}

#[test]
fn concurrency_is_bounded() {
    let server = serve(12, |request, _| {
        let mut answer = completion(&tags_for(&request.instruction()));
        answer.delay = Duration::from_millis(150);
        answer
    });
    let mut tagger = tagger(&server);
    tagger.concurrency = 3;
    let start = Instant::now();
    let lists = tagger.tag(&instructions(12)).unwrap();
    assert_eq!(lists.len(), 12);
    let max = server.max_in_flight.load(Ordering::SeqCst);
    assert_eq!(max, 3, "max in flight");
    // 12 requests of 150 ms, 3 at a time: 4 rounds.
    assert!(start.elapsed() >= Duration::from_millis(590), "{:?}", start.elapsed());
}

/// `response_format.type` of a request, `"none"` when it sends none.
fn format_of(request: &Request) -> String {
    request.body["response_format"]["type"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

fn wrapped_tags_for(instruction: &str) -> String {
    json!({"tags": [{"tag": format!("Tag of {instruction}"), "explanation": "structured"}]}).to_string()
}

fn error(status: u16, body: &str) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

#[test]
fn schema_accepted_sends_the_wrapped_list_schema() {
    let server = serve(2, |request, _| match format_of(request).as_str() {
        "json_schema" => completion(&wrapped_tags_for(&request.instruction())),
        other => error(500, &format!("test expected json_schema, got {other}")),
    });
    let tagger = tagger(&server);
    let lists = tagger.tag(&instructions(2)).unwrap();
    assert_eq!(lists[1].tags[0].tag, "Tag of Instruction number 1.");
    assert_eq!(lists[1].tags[0].explanation, "structured");
    assert!(lists.iter().all(|l| l.source == "openai:test-model:json_schema"));
    assert!(tagger.format_steps().is_empty());
    let requests = server.requests.lock().unwrap();
    let schema = &requests[0].body["response_format"]["json_schema"]["schema"];
    assert_eq!(schema["type"], "object", "OpenAI wants an object at the top level");
    assert_eq!(schema["properties"]["tags"]["items"]["properties"]["tag"]["type"], "string");
}

#[test]
fn schema_refused_falls_back_to_json_mode_for_the_rest_of_the_run() {
    let server = serve(8, |request, _| match format_of(request).as_str() {
        "json_schema" => error(400, r#"{"error": {"message": "Invalid schema for response_format"}}"#),
        "json_object" => completion(&wrapped_tags_for(&request.instruction())),
        other => error(500, &format!("test expected json_object, got {other}")),
    });
    let mut tagger = tagger(&server);
    tagger.concurrency = 1;
    let lists = tagger.tag(&instructions(3)).unwrap();
    assert!(lists.iter().all(|l| l.source == "openai:test-model:json_object"), "{lists:?}");
    assert_eq!(lists[2].tags[0].tag, "Tag of Instruction number 2.");
    // The next batch goes straight to JSON mode.
    tagger.tag(&instructions(4)[3..]).unwrap();
    let requests = server.requests.lock().unwrap();
    let formats: Vec<String> = requests.iter().map(format_of).collect();
    assert_eq!(formats, ["json_schema", "json_object", "json_object", "json_object", "json_object"]);
    // JSON mode returns an object, so the prompt asks for the list inside one.
    let prompt = requests[1].body["messages"][0]["content"].as_str().unwrap();
    assert!(prompt.starts_with(&tagging_prompt("Instruction number 0.")) && prompt.contains("{\"tags\""));
    let steps = tagger.format_steps();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!((steps[0].refused, steps[0].now), (ResponseFormat::JsonSchema, ResponseFormat::JsonObject));
    assert_eq!(steps[0].instruction_id, "task0");
    assert!(steps[0].reason.contains("HTTP 400"), "{}", steps[0].reason);
    assert_eq!(tagger.response_format(), ResponseFormat::JsonObject);
}

#[test]
fn both_formats_refused_falls_back_to_no_format() {
    let server = serve(8, |request, _| match format_of(request).as_str() {
        "json_schema" => error(422, "unprocessable"),
        // llama.cpp-style: a server error whose body names the field.
        "json_object" => error(500, r#"{"error": "response_format type json_object is not supported"}"#),
        _ => completion(&tags_for(&request.instruction())),
    });
    let mut tagger = tagger(&server);
    tagger.concurrency = 1;
    tagger.max_retries = 0;
    let lists = tagger.tag(&instructions(2)).unwrap();
    assert!(lists.iter().all(|l| l.source == "openai:test-model:plain"), "{lists:?}");
    let requests = server.requests.lock().unwrap();
    let formats: Vec<String> = requests.iter().map(format_of).collect();
    assert_eq!(formats, ["json_schema", "json_object", "none", "none"], "refusals spend no retry");
    assert_eq!(
        requests[2].body["messages"][0]["content"].as_str().unwrap(),
        tagging_prompt("Instruction number 0.")
    );
    let steps: Vec<(ResponseFormat, ResponseFormat)> =
        tagger.format_steps().iter().map(|s| (s.refused, s.now)).collect();
    assert_eq!(
        steps,
        [
            (ResponseFormat::JsonSchema, ResponseFormat::JsonObject),
            (ResponseFormat::JsonObject, ResponseFormat::Plain)
        ]
    );
}

/// Hashed character trigrams: a deterministic embedder for the keyphrase fallback.
struct TrigramEmbedder;

impl PhraseEmbedder for TrigramEmbedder {
    fn model_id(&self) -> String {
        "test-trigram-64".to_string()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
        Ok(texts
            .iter()
            .map(|text| {
                let chars: Vec<char> = format!(" {text} ").chars().collect();
                let mut v = vec![0.0f32; 64];
                for w in chars.windows(3) {
                    let h = w.iter().fold(0x811c9dc5u32, |h, c| (h ^ *c as u32).wrapping_mul(0x01000193));
                    v[(h % 64) as usize] += 1.0;
                }
                v
            })
            .collect())
    }
}

/// Garbage for the instruction "Instruction number 1.", good tags for the others.
fn garbage_for_one(request: &Request, _: usize) -> Answer {
    if request.instruction() == "Instruction number 1." {
        completion("no tags today")
    } else {
        completion(&wrapped_tags_for(&request.instruction()))
    }
}

#[test]
fn persistent_garbage_with_on_failure_fail_names_the_instruction() {
    let server = serve(6, garbage_for_one);
    let mut tagger = tagger(&server);
    tagger.max_retries = 2;
    assert_eq!(tagger.on_failure, OnFailure::Fail, "the default");
    let err = tagger.tag(&instructions(3)).unwrap_err();
    assert!(
        matches!(err, AnnotateError::TaggingFailed { ref id, attempts: 3, .. } if id == "task1"),
        "{err}"
    );
    assert!(err.to_string().contains("no tags today"), "{err}");
}

#[test]
fn persistent_garbage_with_on_failure_keyphrase_gets_keyphrase_tags() {
    let server = serve(8, garbage_for_one);
    let mut tagger = tagger(&server);
    tagger.max_retries = 2;
    tagger.on_failure = OnFailure::Keyphrase;
    let failing = tagger.tag(&instructions(3)).unwrap_err();
    assert!(matches!(failing, AnnotateError::Config(_)), "no fallback tagger: {failing}");
    let config_without = tagger.config();
    tagger.fallback = Some(KeyphraseTagger::new(Box::new(TrigramEmbedder)));
    let items = instructions(3);
    let lists = tagger.tag(&items).unwrap();
    assert_eq!(lists[0].source, "openai:test-model:json_schema");
    assert_eq!(lists[2].source, "openai:test-model:json_schema");
    assert_eq!(lists[1].source, "keyphrase-fallback");
    let expected = KeyphraseTagger::new(Box::new(TrigramEmbedder)).keyphrases(&items[1].text).unwrap();
    assert!(!expected.is_empty());
    assert_eq!(lists[1].tags, expected);
    let garbage_requests = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.instruction() == items[1].text)
        .count();
    assert_eq!(garbage_requests, 3, "1 try + max_retries 2 before the fallback");
    // What decides the tags is in the cache key: the failure policy and the fallback's own config.
    let config = tagger.config();
    assert_eq!(config["on_failure"], "keyphrase");
    assert_eq!(config["fallback"]["embedder"], "test-trigram-64");
    assert_ne!(config, config_without);
    tagger.on_failure = OnFailure::Fail;
    assert_eq!(tagger.config()["on_failure"], "fail");
    assert_eq!(tagger.config()["fallback"], Value::Null);
}

#[test]
fn refused_everywhere_fails_even_with_the_keyphrase_fallback() {
    let server = serve(3, |_, _| error(400, r#"{"error": {"message": "model not found"}}"#));
    let mut tagger = tagger(&server);
    tagger.on_failure = OnFailure::Keyphrase;
    tagger.fallback = Some(KeyphraseTagger::new(Box::new(TrigramEmbedder)));
    let err = tagger.tag(&instructions(1)).unwrap_err();
    assert!(
        matches!(err, AnnotateError::TaggingFailed { ref id, attempts: 3, .. } if id == "task0"),
        "{err}"
    );
    assert!(err.to_string().contains("model not found"), "{err}");
    assert_eq!(tagger.format_steps().len(), 2);
}

#[test]
fn on_failure_is_lowercase_in_serde() {
    assert_eq!(serde_json::to_value(OnFailure::Keyphrase).unwrap(), "keyphrase");
    let parsed: OnFailure = serde_json::from_str("\"fail\"").unwrap();
    assert_eq!(parsed, OnFailure::Fail);
    assert!(serde_json::from_str::<OnFailure>("\"Keyphrase\"").is_err());
}

#[test]
fn the_reply_cap_is_sent_and_keys_the_tags() {
    let server = serve(1, |request, _| completion(&tags_for(&request.instruction())));
    let mut tagger = tagger(&server);
    let default_config = tagger.config();
    assert_eq!(default_config["max_tokens"], json!(inscl_annotate::DEFAULT_MAX_TOKENS));
    tagger.max_tokens = 300;
    tagger.tag(&instructions(1)).unwrap();
    assert_eq!(server.requests.lock().unwrap()[0].body["max_tokens"], json!(300));
    assert_eq!(tagger.config()["max_tokens"], json!(300));
    assert_ne!(tagger.config(), default_config, "a different cap may give different replies: another cache key");
}
