//! First-attempt valid-JSON rate of an OpenAI-compatible server on SuperNI definitions, with and without the
//! tag-list JSON schema in `response_format`: the measurement behind the `openai` tagger's structured-output
//! ladder. A harness for one documented manual run (`scripts/llama_server_check.sh` starts llama.cpp's
//! `llama-server` on the SmolLM2 GGUF and runs it), not a test: it needs a running server.
//!
//! ```text
//! cargo run --release -p inscl-annotate --example json_rate -- \
//!     --api-base http://127.0.0.1:8080/v1 [--model smollm2] [--tasks 50] [--max-tokens 384] \
//!     [--dir ../shared/superni/tasks]
//! ```
//! Each definition is sent once per mode, with exactly the tagger's request body (`OpenAiTagger::request_body`,
//! whose first rung is `json_schema`; the plain mode drops `response_format`). A reply counts as *strict* when
//! its content is, as a whole, a JSON list of objects with a non-empty string `tag` (or that list as the
//! schema's `{"tags": [...]}`), and as *parsed* when the
//! tagger's own repairs (fences, prose around the list, a cut-off tail, ...) recover tags from it.

use inscl_annotate::OpenAiTagger;
use inscl_annotate::parse::parse_tag_reply;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Args {
    api_base: String,
    model: String,
    tasks: usize,
    max_tokens: u64,
    dir: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        api_base: "http://127.0.0.1:8080/v1".into(),
        model: "smollm2".into(),
        tasks: 50,
        max_tokens: 384,
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/superni/tasks"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--api-base" => a.api_base = value(),
            "--model" => a.model = value(),
            "--tasks" => a.tasks = value().parse().expect("--tasks N"),
            "--max-tokens" => a.max_tokens = value().parse().expect("--max-tokens N"),
            "--dir" => a.dir = PathBuf::from(value()),
            other => panic!("unknown flag {other} (see the header of examples/json_rate.rs)"),
        }
    }
    a
}

/// The `Definition` of the first `n` task files by name, as ingest reads it.
fn definitions(dir: &Path, n: usize) -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .take(n)
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let task = inscl_data::parse_task(&p.display().to_string(), &bytes).unwrap_or_else(|e| panic!("{e}"));
            (p.file_stem().unwrap().to_string_lossy().to_string(), task.definition)
        })
        .collect()
}

/// A whole reply that is a tag list: a JSON list of objects, each with a non-empty string `tag` (the prompt's
/// shape), or that list as `{"tags": [...]}` (the schema's shape: strict mode needs an object at the top).
fn strict(content: &str) -> bool {
    let list = |v: &Value| {
        v.as_array().is_some_and(|items| {
            !items.is_empty() && items.iter().all(|i| i["tag"].as_str().is_some_and(|t| !t.trim().is_empty()))
        })
    };
    match serde_json::from_str::<Value>(content.trim()) {
        Ok(v @ Value::Array(_)) => list(&v),
        Ok(Value::Object(o)) => o.len() == 1 && o.get("tags").is_some_and(list),
        _ => false,
    }
}

fn main() {
    let a = args();
    let defs = definitions(&a.dir, a.tasks);
    let tagger = OpenAiTagger::with_api_key(&a.api_base, &a.model, String::new());
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    println!("{} definitions from {}, server {}, max_tokens {}", defs.len(), a.dir.display(), tagger.endpoint(), a.max_tokens);
    println!("| mode | strict JSON | parsed by the tagger | HTTP errors | seconds |\n|---|---:|---:|---:|---:|");
    for mode in ["json_schema", "none"] {
        let (mut ok_strict, mut ok_parsed, mut http_errors) = (0, 0, 0);
        let started = Instant::now();
        for (name, text) in &defs {
            let mut body = tagger.request_body(text);
            // A small model under a grammar can loop to the end of its context (seen: 4096 tokens, 37 s); the
            // same cap for both modes keeps the run to minutes. A reply cut there is counted as it is.
            body["max_tokens"] = Value::from(a.max_tokens);
            if mode == "none" {
                body.as_object_mut().expect("a JSON object").remove("response_format");
            }
            let reply = agent.post(&tagger.endpoint()).header("Content-Type", "application/json").send(body.to_string());
            let content = match reply {
                Ok(mut r) if r.status().is_success() => {
                    let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default()).unwrap_or(Value::Null);
                    v["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_string()
                }
                Ok(r) => {
                    http_errors += 1;
                    eprintln!("{name} ({mode}): HTTP {}", r.status());
                    continue;
                }
                Err(e) => {
                    http_errors += 1;
                    eprintln!("{name} ({mode}): {e}");
                    continue;
                }
            };
            ok_strict += usize::from(strict(&content));
            ok_parsed += usize::from(parse_tag_reply(&content).is_ok());
        }
        let n = defs.len().max(1) as f64;
        println!(
            "| {mode} | {ok_strict}/{} ({:.0} %) | {ok_parsed}/{} ({:.0} %) | {http_errors} | {:.1} |",
            defs.len(),
            100.0 * ok_strict as f64 / n,
            defs.len(),
            100.0 * ok_parsed as f64 / n,
            started.elapsed().as_secs_f64()
        );
    }
}
