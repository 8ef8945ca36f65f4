//! Procedural generator of the CPU default dataset: small instruction-tuning tasks in the natural-instructions
//! (SuperNI) file format, four or more per InsCL category, so the same ingest path reads them as reads SuperNI.
//!
//! Every task draws its instances from tiny built-in vocabularies (colours, animals, foods, names, digits) so that
//! a randomly initialised model of a few layers can learn it from a few hundred examples. Each task has its own
//! ChaCha8 stream seeded from the dataset seed and the task's name, so adding, removing or reordering tasks never
//! changes another task's data, and the same parameters always give byte-identical files.
//!
//! The categories are meant to sit at different distances from one another: Program_Execution and Mathematics
//! share numbers and wording, Sentiment_Analysis and Text_Quality_Evaluation both judge short sentences, while
//! Dialogue and Code share almost nothing. That spread is what the Wasserstein-distance replay of InsCL feeds on.

mod judge;
mod language;
mod numeric;
mod qa;
mod vocab;
mod words;

#[cfg(test)]
mod tests;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SynthParams {
    /// Seed of the whole dataset; each task derives its own stream from it and its name.
    pub seed: u64,
    /// Instances written to each task file (the positive examples come on top and never repeat an instance).
    pub instances_per_task: usize,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams { seed: 1, instances_per_task: 60 }
    }
}

/// The SuperNI category names the ingest mapping (`pipelines/categories/superni16.toml`) sends to each InsCL
/// category. Question Answering goes to Closed_QA or Open_QA by whether the inputs carry a `Passage:` line.
pub(crate) mod superni {
    pub const CLASSIFICATION: &str = "Text Categorization";
    pub const DETECTION: &str = "Spelling Error Detection";
    pub const SENTIMENT: &str = "Sentiment Analysis";
    pub const TEXT_QUALITY: &str = "Text Quality Evaluation";
    pub const CODE: &str = "Text to Code";
    pub const PROGRAM_EXECUTION: &str = "Program Execution";
    pub const MATHEMATICS: &str = "Mathematics";
    pub const SUMMARIZATION: &str = "Summarization";
    pub const DIALOGUE: &str = "Dialogue Generation";
    pub const EXTRACTION: &str = "Information Extraction";
    pub const QUESTION_ANSWERING: &str = "Question Answering";
    pub const COMPREHENSION: &str = "Word Semantics";
    pub const REWRITING: &str = "Style Transfer";
    pub const GENERATION: &str = "Sentence Composition";
    pub const MISC: &str = "Misc.";
}

/// The generator's RNG; one per task.
pub(crate) type TaskRng = ChaCha8Rng;

/// One generated example: the input, its acceptable outputs (the first is the reference a model trains on) and a
/// sentence saying why, used when the example becomes a positive example.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub input: String,
    pub outputs: Vec<String>,
    pub why: String,
}

impl Sample {
    pub fn one(input: impl Into<String>, output: impl Into<String>, why: impl Into<String>) -> Sample {
        Sample { input: input.into(), outputs: vec![output.into()], why: why.into() }
    }
}

/// A task: its file name (`synthNNN_category_what`), its SuperNI category, its instruction and its sampler.
/// The sampler must be a function of its input: equal inputs always get equal outputs.
#[derive(Clone, Copy)]
pub(crate) struct Spec {
    pub name: &'static str,
    pub category: &'static str,
    pub definition: &'static str,
    pub sample: fn(&mut TaskRng) -> Sample,
}

/// Every task, in name order.
pub(crate) fn registry() -> Vec<Spec> {
    let mut specs = Vec::new();
    specs.extend(judge::specs());
    specs.extend(numeric::specs());
    specs.extend(language::specs());
    specs.extend(qa::specs());
    specs.extend(words::specs());
    specs.sort_by_key(|s| s.name);
    specs
}

/// One word of `items`, uniformly. This and the helpers below are what the samplers share.
pub(crate) fn pick<'a>(rng: &mut TaskRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A word of one of `lists`, the list chosen first with equal odds (so small lists are not drowned out).
pub(crate) fn pick_from<'a>(rng: &mut TaskRng, lists: &[&[&'a str]]) -> &'a str {
    let list = lists[rng.random_range(0..lists.len())];
    pick(rng, list)
}

pub(crate) fn pick_item<T: Copy>(rng: &mut TaskRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// Two different items of `items`.
pub(crate) fn pick_two<'a>(rng: &mut TaskRng, items: &[&'a str]) -> (&'a str, &'a str) {
    let i = rng.random_range(0..items.len());
    let j = (i + rng.random_range(1..items.len())) % items.len();
    (items[i], items[j])
}

pub(crate) fn coin(rng: &mut TaskRng) -> bool {
    rng.random_bool(0.5)
}

/// `[3, 1, 4]`, the list notation of the numeric tasks.
pub(crate) fn list_text(xs: &[u32]) -> String {
    let items: Vec<String> = xs.iter().map(u32::to_string).collect();
    format!("[{}]", items.join(", "))
}

pub(crate) fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The noun with its indefinite article: "a cat", "an owl".
pub(crate) fn a(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
    format!("{article} {noun}")
}

/// How many positive examples each task file carries.
const POSITIVE_EXAMPLES: usize = 2;
/// Fresh draws tried, first for the same answer and then for any, before a task accepts a repeated input.
const UNIQUE_TRIES: usize = 64;

#[derive(Serialize, Deserialize)]
struct PositiveExample {
    input: String,
    output: String,
    explanation: String,
}

#[derive(Serialize, Deserialize)]
struct Instance {
    id: String,
    input: String,
    output: Vec<String>,
}

/// A task file, fields in SuperNI's order.
#[derive(Serialize, Deserialize)]
struct TaskJson {
    #[serde(rename = "Contributors")]
    contributors: Vec<String>,
    #[serde(rename = "Source")]
    source: Vec<String>,
    #[serde(rename = "URL")]
    url: Vec<String>,
    #[serde(rename = "Categories")]
    categories: Vec<String>,
    #[serde(rename = "Reasoning")]
    reasoning: Vec<String>,
    #[serde(rename = "Definition")]
    definition: Vec<String>,
    #[serde(rename = "Input_language")]
    input_language: Vec<String>,
    #[serde(rename = "Output_language")]
    output_language: Vec<String>,
    #[serde(rename = "Instruction_language")]
    instruction_language: Vec<String>,
    #[serde(rename = "Domains")]
    domains: Vec<String>,
    #[serde(rename = "Positive Examples")]
    positive_examples: Vec<PositiveExample>,
    #[serde(rename = "Negative Examples")]
    negative_examples: Vec<PositiveExample>,
    #[serde(rename = "Instances")]
    instances: Vec<Instance>,
    #[serde(rename = "Instance License")]
    instance_license: Vec<String>,
}

/// The task's own seed: a hash of the dataset seed and the task name, so tasks are independent of each other.
fn task_seed(seed: u64, name: &str) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"inscl-synth/v1\0");
    hasher.update(&seed.to_le_bytes());
    hasher.update(name.as_bytes());
    let hash = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Draws `count` samples whose inputs are distinct while the task's input space allows it. A repeated input is
/// first redrawn until a new input with the same answer turns up, so that deduplication does not tilt a label
/// task toward its label with the most possible inputs; only then is any new input taken, and after that the
/// repeat is kept.
fn draw(spec: &Spec, rng: &mut TaskRng, count: usize) -> Vec<Sample> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let first = (spec.sample)(rng);
        let mut chosen = None;
        if seen.contains(&first.input) {
            for attempt in 0..2 * UNIQUE_TRIES {
                let s = (spec.sample)(rng);
                if !seen.contains(&s.input) && (attempt >= UNIQUE_TRIES || s.outputs[0] == first.outputs[0]) {
                    chosen = Some(s);
                    break;
                }
            }
        }
        let sample = chosen.unwrap_or(first);
        seen.insert(sample.input.clone());
        out.push(sample);
    }
    out
}

fn render(spec: &Spec, params: &SynthParams) -> Vec<u8> {
    let mut rng = TaskRng::seed_from_u64(task_seed(params.seed, spec.name));
    let mut samples = draw(spec, &mut rng, POSITIVE_EXAMPLES + params.instances_per_task);
    let instances = samples.split_off(POSITIVE_EXAMPLES);
    let one = |s: &str| vec![s.to_string()];
    let task = TaskJson {
        contributors: one("inscl synth"),
        source: one("inscl-synth"),
        url: one(""),
        categories: one(spec.category),
        reasoning: Vec::new(),
        definition: one(spec.definition),
        input_language: one("English"),
        output_language: one("English"),
        instruction_language: one("English"),
        domains: one("Synthetic"),
        positive_examples: samples
            .into_iter()
            .map(|s| PositiveExample { input: s.input, output: s.outputs[0].clone(), explanation: s.why })
            .collect(),
        negative_examples: Vec::new(),
        instances: instances
            .into_iter()
            .enumerate()
            .map(|(i, s)| Instance { id: format!("{}-{i}", spec.name), input: s.input, output: s.outputs })
            .collect(),
        instance_license: one("Apache 2.0"),
    };
    let mut bytes = serde_json::to_vec_pretty(&task).expect("a task file is plain strings and lists");
    bytes.push(b'\n');
    bytes
}

/// Relative path -> file bytes, sorted by path: `tasks/<task_name>.json` for every task, plus
/// `splits/default/train_tasks.txt` (every task name, one per line, without .json) and
/// `splits/default/test_tasks.txt` (empty file). Byte-identical output for identical params.
pub fn generate(params: &SynthParams) -> Vec<(String, Vec<u8>)> {
    let specs = registry();
    let mut files: Vec<(String, Vec<u8>)> =
        specs.iter().map(|spec| (format!("tasks/{}.json", spec.name), render(spec, params))).collect();
    let train: String = specs.iter().map(|spec| format!("{}\n", spec.name)).collect();
    files.push(("splits/default/train_tasks.txt".to_string(), train.into_bytes()));
    files.push(("splits/default/test_tasks.txt".to_string(), Vec::new()));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}
