use super::*;
use crate::CategoryMapping;
use std::collections::{BTreeMap, BTreeSet};

/// The brief's mapping: one SuperNI category per InsCL category, plus the Question Answering split rule of
/// `pipelines/categories/superni16.toml`.
const MAPPING: &str = r#"
default = "Misc"
[categories]
Classification = ["Text Categorization"]
Detection = ["Spelling Error Detection"]
Sentiment_Analysis = ["Sentiment Analysis"]
Text_Quality_Evaluation = ["Text Quality Evaluation"]
Code = ["Text to Code"]
Program_Execution = ["Program Execution"]
Mathematics = ["Mathematics"]
Summarization = ["Summarization"]
Dialogue = ["Dialogue Generation"]
Extraction = ["Information Extraction"]
Comprehension = ["Word Semantics"]
Rewriting = ["Style Transfer"]
Generation = ["Sentence Composition"]
Misc = ["Misc."]
[qa_split]
source = "Question Answering"
closed = "Closed_QA"
open = "Open_QA"
context_labels = [
    "passage", "context", "paragraph", "article", "story", "background", "fact", "facts", "document",
    "conversation", "dialogue", "table", "abstract", "text", "sentence",
]
definition_cues = [
    "passage", "paragraph", "context", "article", "story", "document", "given text", "given sentence",
    "given conversation", "given dialogue", "given table", "given fact", "given facts",
]
min_labelled_share = 0.5
"#;

const KEYS: &[&str] = &[
    "Contributors",
    "Source",
    "URL",
    "Categories",
    "Reasoning",
    "Definition",
    "Input_language",
    "Output_language",
    "Instruction_language",
    "Domains",
    "Positive Examples",
    "Negative Examples",
    "Instances",
    "Instance License",
];

struct Task {
    name: String,
    json: serde_json::Value,
    parsed: crate::task_file::ParsedTask,
}

fn tasks(files: &[(String, Vec<u8>)]) -> Vec<Task> {
    files
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix("tasks/")?.strip_suffix(".json")?.to_string();
            let json: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
            let parsed = crate::task_file::parse_task(path, bytes).unwrap_or_else(|e| panic!("{e}"));
            Some(Task { name, json, parsed })
        })
        .collect()
}

fn categorise(mapping: &CategoryMapping, tasks: &[Task]) -> BTreeMap<String, Vec<String>> {
    let mut by_category: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in tasks {
        let inputs: Vec<&str> = t.parsed.instances.iter().map(|i| i.input.as_str()).collect();
        let a = mapping.assign(&t.parsed.first_category, &t.parsed.definition, &inputs);
        assert!(a.explicit, "{}: category '{}' is not mapped", t.name, t.parsed.first_category);
        by_category.entry(a.category).or_default().push(t.name.clone());
    }
    by_category
}

#[test]
fn deterministic_and_seed_dependent() {
    let params = SynthParams::default();
    let a = generate(&params);
    assert_eq!(a, generate(&params));
    let paths: Vec<&String> = a.iter().map(|(p, _)| p).collect();
    assert!(paths.windows(2).all(|w| w[0] < w[1]), "sorted by path, no repeats");
    let b = generate(&SynthParams { seed: 2, ..params.clone() });
    assert_eq!(paths, b.iter().map(|(p, _)| p).collect::<Vec<_>>(), "the seed changes data, not names");
    let changed = a.iter().zip(&b).filter(|(x, y)| x.0.starts_with("tasks/") && x.1 != y.1).count();
    assert_eq!(changed, registry().len(), "every task's instances depend on the seed");
}

#[test]
fn every_task_draws_its_own_stream() {
    // A task's bytes depend on its name and the seed only, so dropping or adding tasks never moves another.
    let params = SynthParams::default();
    let files = generate(&params);
    for spec in registry() {
        let file = files.iter().find(|(p, _)| *p == format!("tasks/{}.json", spec.name)).unwrap();
        assert_eq!(file.1, render(&spec, &params));
    }
    assert_ne!(task_seed(1, "a"), task_seed(1, "b"));
    assert_ne!(task_seed(1, "a"), task_seed(2, "a"));
}

#[test]
fn sixteen_categories_with_four_tasks_each() {
    let files = generate(&SynthParams::default());
    let tasks = tasks(&files);
    let mapping = CategoryMapping::from_toml("brief.toml", MAPPING).unwrap();
    let by_category = categorise(&mapping, &tasks);
    assert_eq!(by_category.len(), 16, "{:?}", by_category.keys().collect::<Vec<_>>());
    assert_eq!(by_category.keys().cloned().collect::<Vec<_>>(), mapping.inscl_categories());
    for (category, names) in &by_category {
        assert!(names.len() >= 4, "{category} has {} tasks", names.len());
        // The name says the category, so a reader of the folder sees it too.
        let slug = category.to_lowercase().replace("sentiment_analysis", "sentiment").replace("_evaluation", "");
        for n in names {
            assert!(n[9..].starts_with(&slug), "{n} sits in {category}");
        }
    }
    // The project's own mapping file, where present, must agree.
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/categories/superni16.toml");
    if let Ok(text) = std::fs::read_to_string(&real) {
        let mapping = CategoryMapping::from_toml("superni16.toml", &text).unwrap();
        assert_eq!(categorise(&mapping, &tasks), by_category);
    }
}

#[test]
fn files_have_the_superni_shape() {
    let params = SynthParams::default();
    let files = generate(&params);
    let tasks = tasks(&files);
    assert_eq!(tasks.len(), registry().len());
    let mut ids = BTreeSet::new();
    let mut definitions = BTreeSet::new();
    let mut multi_reference = Vec::new();
    for t in &tasks {
        let obj = t.json.as_object().unwrap();
        assert_eq!(obj.len(), KEYS.len(), "{}", t.name);
        for key in KEYS {
            assert!(obj.contains_key(*key), "{}: missing {key}", t.name);
        }
        let name_ok = t.name.len() > 9
            && t.name.starts_with("synth")
            && t.name[5..8].bytes().all(|b| b.is_ascii_digit())
            && t.name.as_bytes()[8] == b'_';
        assert!(name_ok, "{}", t.name);
        assert!(t.parsed.english);
        let def = &t.parsed.definition;
        let sentences = def.matches(['.', '?']).count();
        assert!((1..=2).contains(&sentences) && def.ends_with(['.', '?']), "{}: {def}", t.name);
        assert!(definitions.insert(def.clone()), "{}: definition reused", t.name);

        assert_eq!(t.parsed.instances.len(), params.instances_per_task);
        let mut per_input: BTreeMap<&str, &Vec<String>> = BTreeMap::new();
        for (i, inst) in t.parsed.instances.iter().enumerate() {
            assert_eq!(inst.id, format!("{}-{i}", t.name));
            assert!(ids.insert(inst.id.clone()), "duplicate id {}", inst.id);
            assert!(!inst.input.trim().is_empty(), "{}", inst.id);
            assert!(!inst.outputs.is_empty() && inst.outputs.iter().all(|o| !o.trim().is_empty()), "{}", inst.id);
            let prev = per_input.insert(&inst.input, &inst.outputs);
            assert!(prev.is_none_or(|p| p == &inst.outputs), "{}: one input, two answers", inst.id);
        }
        assert!(
            per_input.len() * 10 >= t.parsed.instances.len() * 9,
            "{}: only {} distinct inputs",
            t.name,
            per_input.len()
        );
        let counts: BTreeSet<usize> = t.parsed.instances.iter().map(|i| i.outputs.len()).collect();
        if counts != BTreeSet::from([1]) {
            assert_eq!(counts, BTreeSet::from([2]), "{}", t.name);
            multi_reference.push(t.name.clone());
        }

        let positives = obj["Positive Examples"].as_array().unwrap();
        assert!((1..=2).contains(&positives.len()), "{}", t.name);
        for p in positives {
            let input = p["input"].as_str().unwrap();
            assert!(!per_input.contains_key(input), "{}: a positive example repeats an instance", t.name);
            for key in ["output", "explanation"] {
                assert!(!p[key].as_str().unwrap().is_empty(), "{}: empty {key}", t.name);
            }
        }
    }
    assert!(!multi_reference.is_empty(), "some task must have two references");
    assert!(multi_reference.len() <= 3, "{multi_reference:?}");
}

#[test]
fn inputs_and_outputs_stay_short() {
    let tasks = tasks(&generate(&SynthParams::default()));
    let mut inputs = Vec::new();
    for t in &tasks {
        for inst in &t.parsed.instances {
            inputs.push(inst.input.len());
            // A passage and its question make the closed-QA inputs the longest by design.
            let cap = if t.name.contains("_closed_qa_") { 110 } else { 70 };
            assert!(inst.input.len() <= cap, "{}: {:?}", inst.id, inst.input);
            assert!(inst.outputs.iter().all(|o| o.len() <= 40), "{}: {:?}", inst.id, inst.outputs);
        }
    }
    let short = inputs.iter().filter(|n| **n <= 60).count();
    assert!(short * 10 >= inputs.len() * 9, "{short} of {} inputs are at most 60 characters", inputs.len());
}

#[test]
fn closed_and_open_qa_follow_the_input_convention() {
    let tasks = tasks(&generate(&SynthParams::default()));
    let labels = [
        "passage",
        "context",
        "paragraph",
        "article",
        "story",
        "text",
        "sentence",
        "fact",
        "document",
        "conversation",
        "dialogue",
        "table",
        "background",
        "abstract",
    ];
    let cues = [
        "passage",
        "paragraph",
        "context",
        "article",
        "story",
        "document",
        "given text",
        "given sentence",
        "given conversation",
        "given dialogue",
        "given table",
        "given fact",
    ];
    let (mut closed, mut open) = (0, 0);
    for t in tasks.iter().filter(|t| t.parsed.first_category == superni::QUESTION_ANSWERING) {
        if t.name.contains("_closed_qa_") {
            closed += 1;
            for inst in &t.parsed.instances {
                let lines: Vec<&str> = inst.input.lines().collect();
                let p = lines.iter().position(|l| l.starts_with("Passage: ")).unwrap_or_else(|| panic!("{}", inst.id));
                assert!(lines[p + 1..].iter().any(|l| l.starts_with("Question: ")), "{}", inst.id);
            }
        } else {
            assert!(t.name.contains("_open_qa_"), "{}", t.name);
            open += 1;
            let def = t.parsed.definition.to_lowercase();
            assert!(cues.iter().all(|c| !def.contains(c)), "{}: {def}", t.name);
            for inst in &t.parsed.instances {
                for line in inst.input.lines() {
                    let line = line.trim_start().to_lowercase();
                    assert!(labels.iter().all(|l| !line.starts_with(l)), "{}: {line}", inst.id);
                }
            }
        }
    }
    assert!(closed >= 4 && open >= 4, "{closed} closed, {open} open");
}

#[test]
fn split_files_list_every_task() {
    let files = generate(&SynthParams::default());
    let get = |path: &str| &files.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("{path}")).1;
    let train = String::from_utf8(get("splits/default/train_tasks.txt").clone()).unwrap();
    let listed: Vec<&str> = train.lines().collect();
    let names: Vec<String> = tasks(&files).into_iter().map(|t| t.name).collect();
    assert_eq!(listed, names);
    assert!(train.ends_with('\n'));
    assert!(get("splits/default/test_tasks.txt").is_empty());
    assert_eq!(files.len(), names.len() + 2);
}

#[test]
fn instance_count_follows_params() {
    let files = generate(&SynthParams { seed: 7, instances_per_task: 5 });
    for t in tasks(&files) {
        assert_eq!(t.parsed.instances.len(), 5, "{}", t.name);
    }
}

#[test]
fn default_config_file_matches_default_params() {
    let text = include_str!("../../../../data/synth.toml");
    let params: SynthParams = toml::from_str(text).unwrap();
    assert_eq!(params, SynthParams::default());
    assert!(toml::from_str::<SynthParams>("seed = 1\nbogus = 2\n").is_err(), "unknown keys are refused");
    assert_eq!(toml::from_str::<SynthParams>("seed = 3\n").unwrap().instances_per_task, 60);
}

#[test]
fn ingest_reads_the_generated_folder() {
    let files = generate(&SynthParams::default());
    let mapping = CategoryMapping::from_toml("brief.toml", MAPPING).unwrap();
    let out = crate::ingest("synth", &files, &mapping, &crate::IngestParams::default()).unwrap();
    assert_eq!(out.report.tasks, registry().len());
    assert!(out.report.unmapped.is_empty(), "{:?}", out.report.unmapped);
    assert_eq!(out.report.per_category.len(), 16);
    assert!(out.report.per_category.values().all(|(tasks, train, test)| *tasks >= 4 && *train > 0 && *test > 0));
}
