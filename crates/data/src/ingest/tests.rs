use super::*;
use arrow::array::{Array, AsArray, RecordBatch};
use inscl_tables::Table;

fn task_json(category: &str, definition: &str, n: usize, prefix: &str) -> Vec<u8> {
    let instances: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"id": format!("{prefix}-{i}"), "input": format!("input {i}"), "output": [format!("out {i}")]}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "Definition": [definition], "Categories": [category], "Input_language": ["English"],
        "Output_language": ["English"], "Instruction_language": ["English"], "Instances": instances,
    }))
    .unwrap()
}

fn mapping() -> CategoryMapping {
    CategoryMapping::from_toml("m.toml", "default = \"Misc\"\n[categories]\nClassification = [\"Text Categorization\"]\n").unwrap()
}

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("tasks/a.json".into(), task_json("Text Categorization", "Classify it.", 10, "a")),
        ("tasks/b.json".into(), task_json("Text Categorization", "Label the text.", 30, "b")),
        ("tasks/c.json".into(), task_json("Translation", "Translate it.", 5, "c")),
    ]
}

fn col(b: &RecordBatch, name: &str) -> Vec<String> {
    b.column_by_name(name).unwrap().as_string::<i32>().iter().map(|v| v.unwrap().to_string()).collect()
}

/// The tables as written to the store, so the tests read the schema a consumer sees.
fn instances(out: &IngestOutput) -> RecordBatch {
    InstanceRow::encode(&out.instances).unwrap()
}

fn instructions(out: &IngestOutput) -> RecordBatch {
    InstructionRow::encode(&out.instructions).unwrap()
}

#[test]
fn builds_tables_with_weights_and_split() {
    let out = ingest("root", &files(), &mapping(), &IngestParams::default()).unwrap();
    assert_eq!(out.instances.len(), 45);
    let splits = col(&instances(&out), "split");
    assert_eq!(splits.iter().filter(|s| **s == "test").count(), 2 + 6 + 1, "round(0.2 n) per task");
    let cats = col(&instructions(&out), "category");
    assert_eq!(cats, vec!["Classification", "Classification", "Misc"]);
    let ins = instructions(&out);
    let w = ins.column_by_name("weight").unwrap().as_primitive::<arrow::datatypes::Float64Type>();
    let texts = col(&instructions(&out), "text");
    let wa = w.value(texts.iter().position(|t| *t == "Classify it.").unwrap());
    assert!((wa - 8.0 / 32.0).abs() < 1e-12, "8 of the 32 Classification train instances: {wa}");
    assert!((w.value(0) + w.value(1) - 1.0).abs() < 1e-12);
    assert_eq!(w.value(2), 1.0);
    assert_eq!(out.report.unmapped, BTreeMap::from([("Translation".to_string(), 1)]));
    assert!(out.report.warnings.iter().any(|w| w.contains("Translation (1)")));
    assert_eq!(out.report.per_category["Classification"], (2, 32, 8));
    assert_eq!(out.tasks.len(), 3);
}

#[test]
fn deterministic_and_seed_sensitive() {
    let a = ingest("root", &files(), &mapping(), &IngestParams::default()).unwrap();
    let b = ingest("root", &files(), &mapping(), &IngestParams::default()).unwrap();
    assert_eq!(a.instances, b.instances);
    let c = ingest("root", &files(), &mapping(), &IngestParams { seed: 2, ..Default::default() }).unwrap();
    assert_ne!(col(&instances(&a), "split"), col(&instances(&c), "split"));
}

#[test]
fn drops_and_counts_unusable_instances() {
    let mut f = files();
    f[0].1 = serde_json::to_vec(&serde_json::json!({
        "Definition": ["Classify it."], "Categories": ["Text Categorization"], "Input_language": ["English"],
        "Output_language": ["English"], "Instruction_language": ["English"],
        "Instances": [{"id": "x1", "input": " ", "output": ["y"]}, {"id": "x2", "input": "i", "output": ["", " "]},
                      {"id": "x3", "input": "i", "output": ["ok", ""]}],
    }))
    .unwrap();
    let out = ingest("root", &f, &mapping(), &IngestParams::default()).unwrap();
    assert_eq!((out.report.dropped_empty_input, out.report.dropped_no_output), (1, 1));
    let inst = instances(&out);
    let outputs = inst.column_by_name("outputs").unwrap().as_list::<i32>();
    let ids = col(&instances(&out), "instance_id");
    let x3 = ids.iter().position(|i| *i == "x3").unwrap();
    assert_eq!(outputs.value(x3).as_string::<i32>().len(), 1, "blank references are removed");
}

#[test]
fn split_files_choose_tasks_and_must_name_existing_ones() {
    let mut f = files();
    f.push(("splits/default/train_tasks.txt".into(), b"a\nb\n".to_vec()));
    let out = ingest("root", &f, &mapping(), &IngestParams::default()).unwrap();
    assert_eq!(out.tasks.len(), 2);
    f.push(("splits/default/test_tasks.txt".into(), b"\nzz\n".to_vec()));
    let e = ingest("root", &f, &mapping(), &IngestParams::default()).unwrap_err();
    assert_eq!(e.to_string(), "splits/default/test_tasks.txt: line 2: task 'zz' is listed but tasks/zz.json is missing");
}

#[test]
fn errors_name_the_file() {
    let mut f = files();
    f[1].1 = b"{ not json".to_vec();
    let e = ingest("root", &f, &mapping(), &IngestParams::default()).unwrap_err();
    assert!(e.to_string().starts_with("root/tasks/b.json: malformed JSON"), "{e}");
    let mut f = files();
    f[2].1 = task_json("Translation", "Translate it.", 2, "a");
    let e = ingest("root", &f, &mapping(), &IngestParams::default()).unwrap_err();
    assert!(e.to_string().contains("instance id also used in task a"), "{e}");
    let e = ingest("root", &Vec::new(), &mapping(), &IngestParams::default()).unwrap_err();
    assert_eq!(e.to_string(), "root: no task files (expected tasks/*.json)");
    // A file that cannot be read is named, and the io error kept as the source.
    let listed = files();
    let unreadable = FilesFn {
        paths: listed.iter().map(|f| f.0.as_str()).collect(),
        read: |rel: &str| match rel {
            "tasks/b.json" => Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied")),
            _ => listed.read(rel),
        },
    };
    let e = ingest("root", &unreadable, &mapping(), &IngestParams::default()).unwrap_err();
    assert_eq!(e.to_string(), "root/tasks/b.json: permission denied");
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn max_per_task_keeps_the_first_instances() {
    let out = ingest("root", &files(), &mapping(), &IngestParams { max_per_task: Some(4), ..Default::default() }).unwrap();
    assert_eq!(out.instances.len(), 12);
    assert!(col(&instances(&out), "instance_id").contains(&"b-3".to_string()));
    assert!(!col(&instances(&out), "instance_id").contains(&"b-4".to_string()));
}
