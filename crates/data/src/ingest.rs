use crate::error::DataError;
use crate::mapping::CategoryMapping;
use crate::task_file::{ParsedTask, parse_task};
use inscl_tables::{InstanceRow, InstructionRow, Split, TaskRow};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestParams {
    /// Share of each task's instances held out as its test split.
    pub test_fraction: f64,
    pub seed: u64,
    /// Keep at most this many instances per task (the first ones, in file order).
    pub max_per_task: Option<usize>,
}

impl Default for IngestParams {
    fn default() -> Self {
        IngestParams { test_fraction: 0.2, seed: 1, max_per_task: None }
    }
}

/// Counts a person wants to see after an ingest; also recorded in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    pub tasks: usize,
    pub skipped_non_english: Vec<String>,
    pub dropped_empty_input: usize,
    pub dropped_no_output: usize,
    /// SuperNI categories that fell to the default category, with their task counts.
    pub unmapped: BTreeMap<String, usize>,
    /// InsCL category → (tasks, train instances, test instances).
    pub per_category: BTreeMap<String, (usize, usize, usize)>,
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub struct IngestOutput {
    pub instances: Vec<InstanceRow>,
    pub instructions: Vec<InstructionRow>,
    pub tasks: Vec<TaskRow>,
    pub report: IngestReport,
}

/// The files of a natural-instructions folder that ingest reads.
pub fn is_source_file(rel: &str) -> bool {
    (rel.starts_with("tasks/") && rel.ends_with(".json") && !rel["tasks/".len()..].contains('/'))
        || (rel.starts_with("splits/default/") && rel.ends_with("_tasks.txt"))
}

struct TaskRows {
    name: String,
    category: String,
    superni_category: String,
    instruction_id: String,
    parsed: ParsedTask,
    test: Vec<bool>,
}

/// The files of a dataset folder, read one at a time: ingest never needs the whole folder in memory. Held in
/// memory (tests, generated data) or on the disk (the pipeline's source trees, which check every byte read
/// against the hash their stage's key was made of).
pub trait SourceFiles {
    /// Relative `/`-separated paths of the files there are.
    fn paths(&self) -> Vec<&str>;
    /// The bytes of file `rel`, one of [`SourceFiles::paths`].
    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>>;
}

impl SourceFiles for [(String, Vec<u8>)] {
    fn paths(&self) -> Vec<&str> {
        self.iter().map(|f| f.0.as_str()).collect()
    }

    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        self.iter()
            .find(|f| f.0 == rel)
            .map(|f| f.1.clone())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
}

impl SourceFiles for Vec<(String, Vec<u8>)> {
    fn paths(&self) -> Vec<&str> {
        self.as_slice().paths()
    }

    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        self.as_slice().read(rel)
    }
}

/// Files listed by `paths` and read by a closure: how a caller adapts its own file type (a store source tree)
/// without this crate depending on it.
pub struct FilesFn<'a, F> {
    pub paths: Vec<&'a str>,
    pub read: F,
}

impl<F: Fn(&str) -> std::io::Result<Vec<u8>>> SourceFiles for FilesFn<'_, F> {
    fn paths(&self) -> Vec<&str> {
        self.paths.clone()
    }

    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        (self.read)(rel)
    }
}

fn read_file(files: &(impl SourceFiles + ?Sized), root: &str, rel: &str) -> Result<Vec<u8>, DataError> {
    files.read(rel).map_err(|source| DataError::Read { file: format!("{root}/{rel}"), source })
}

/// Which tasks to read: the union of the default split's task lists where they exist (SuperNI's own choice of
/// tasks), else every file under `tasks/`.
fn task_names(files: &(impl SourceFiles + ?Sized), root: &str) -> Result<Vec<String>, DataError> {
    let paths: BTreeSet<&str> = files.paths().into_iter().collect();
    let split_files: Vec<&&str> = paths.iter().filter(|p| p.starts_with("splits/default/")).collect();
    let mut names = BTreeSet::new();
    if split_files.is_empty() {
        for p in &paths {
            if let Some(stem) = p.strip_prefix("tasks/").and_then(|s| s.strip_suffix(".json")) {
                names.insert(stem.to_string());
            }
        }
    } else {
        for file in split_files {
            let bytes = read_file(files, root, file)?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| DataError::NotUtf8 { file: file.to_string(), offset: e.valid_up_to() })?;
            for (i, line) in text.lines().enumerate() {
                let task = line.trim();
                if task.is_empty() {
                    continue;
                }
                if !paths.contains(format!("tasks/{task}.json").as_str()) {
                    return Err(DataError::MissingTask { file: file.to_string(), line: i + 1, task: task.to_string() });
                }
                names.insert(task.to_string());
            }
        }
    }
    if names.is_empty() {
        return Err(DataError::NoTasks { root: root.to_string() });
    }
    Ok(names.into_iter().collect())
}

fn short_hash(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
}

/// The seeded hold-out of one task: a shuffle keyed by (seed, task name), so a task's split never depends on
/// which other tasks are present.
fn test_mask(n: usize, fraction: f64, seed: u64, task: &str) -> Vec<bool> {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(task.as_bytes());
    let mut rng = ChaCha8Rng::from_seed(*h.finalize().as_bytes());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    let n_test = (fraction * n as f64).round() as usize;
    let mut mask = vec![false; n];
    for &i in &idx[..n_test.min(n)] {
        mask[i] = true;
    }
    mask
}

/// Reads a natural-instructions folder, one task file at a time, and builds the `instances`, `instructions`
/// and `tasks` tables. Deterministic for given files, mapping and params.
pub fn ingest(
    root: &str,
    files: &(impl SourceFiles + ?Sized),
    mapping: &CategoryMapping,
    params: &IngestParams,
) -> Result<IngestOutput, DataError> {
    if !(0.0..1.0).contains(&params.test_fraction) {
        return Err(DataError::Params(format!("test_fraction must lie in [0, 1), not {}", params.test_fraction)));
    }
    let mut report = IngestReport::default();
    let mut tasks: Vec<TaskRows> = Vec::new();
    for name in task_names(files, root)? {
        let file = format!("tasks/{name}.json");
        let mut parsed = parse_task(&format!("{root}/{file}"), &read_file(files, root, &file)?)?;
        if !parsed.english {
            report.skipped_non_english.push(name);
            continue;
        }
        if let Some(max) = params.max_per_task {
            parsed.instances.truncate(max);
        }
        let before = parsed.instances.len();
        parsed.instances.retain_mut(|inst| {
            inst.outputs.retain(|o| !o.trim().is_empty());
            if inst.input.trim().is_empty() {
                report.dropped_empty_input += 1;
                false
            } else if inst.outputs.is_empty() {
                report.dropped_no_output += 1;
                false
            } else {
                true
            }
        });
        if parsed.instances.is_empty() {
            report.warnings.push(format!("{root}/{file}: no usable instance left ({before} read); task skipped"));
            continue;
        }
        let inputs: Vec<&str> = parsed.instances.iter().map(|i| i.input.as_str()).collect();
        let assignment = mapping.assign(&parsed.first_category, &parsed.definition, &inputs);
        if !assignment.explicit {
            *report.unmapped.entry(parsed.first_category.clone()).or_default() += 1;
        }
        let test = test_mask(parsed.instances.len(), params.test_fraction, params.seed, &name);
        tasks.push(TaskRows {
            category: assignment.category,
            superni_category: parsed.first_category.clone(),
            instruction_id: short_hash(&parsed.definition),
            name,
            parsed,
            test,
        });
    }
    if !report.unmapped.is_empty() {
        let list: Vec<String> = report.unmapped.iter().map(|(c, n)| format!("{c} ({n})")).collect();
        report.warnings.push(format!("unmapped SuperNI categories went to {}: {}", mapping.default, list.join(", ")));
    }
    disambiguate_instruction_ids(&mut tasks, &mut report);
    report.tasks = tasks.len();
    check_unique_ids(root, &tasks)?;
    let instances = instances_table(&tasks);
    let instructions = instructions_table(&tasks, &mut report);
    let tasks_table = tasks_table(&tasks);
    Ok(IngestOutput { instances, instructions, tasks: tasks_table, report })
}

/// An instruction is identified by its text. The same text in two InsCL categories (possible when a mapping
/// splits tasks that share a definition) would make one id mean two categories, so the later category's id
/// also hashes the category name.
fn disambiguate_instruction_ids(tasks: &mut [TaskRows], report: &mut IngestReport) {
    let mut home: BTreeMap<String, String> = BTreeMap::new();
    for t in tasks.iter_mut() {
        match home.get(&t.instruction_id) {
            Some(cat) if *cat != t.category => {
                report.warnings.push(format!(
                    "task {}: its definition also appears in category {cat}; its instruction_id includes the category",
                    t.name
                ));
                t.instruction_id = short_hash(&format!("{}\n{}", t.category, t.parsed.definition));
            }
            Some(_) => {}
            None => {
                home.insert(t.instruction_id.clone(), t.category.clone());
            }
        }
    }
}

fn check_unique_ids(root: &str, tasks: &[TaskRows]) -> Result<(), DataError> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for t in tasks {
        for (row, inst) in t.parsed.instances.iter().enumerate() {
            if let Some(other) = seen.insert(&inst.id, &t.name) {
                return Err(DataError::Row {
                    file: format!("{root}/tasks/{}.json", t.name),
                    row,
                    id: inst.id.clone(),
                    problem: format!("instance id also used in task {other}"),
                });
            }
        }
    }
    Ok(())
}

fn instances_table(tasks: &[TaskRows]) -> Vec<InstanceRow> {
    let mut rows = Vec::new();
    for t in tasks {
        for (inst, &is_test) in t.parsed.instances.iter().zip(&t.test) {
            rows.push(InstanceRow {
                id: inst.id.clone(),
                category: t.category.clone(),
                task: t.name.clone(),
                instruction_id: t.instruction_id.clone(),
                input: inst.input.clone(),
                outputs: inst.outputs.clone(),
                split: if is_test { Split::Test } else { Split::Train },
            });
        }
    }
    rows
}

/// One row per instruction. `weight` is its share of its category's train instances: the mass the paper's
/// Wasserstein distance puts on it.
fn instructions_table(tasks: &[TaskRows], report: &mut IngestReport) -> Vec<InstructionRow> {
    let mut rows: BTreeMap<(&str, &str), InstructionRow> = BTreeMap::new();
    for t in tasks {
        let n_test = t.test.iter().filter(|&&b| b).count();
        let n_train = t.test.len() - n_test;
        let per = report.per_category.entry(t.category.clone()).or_default();
        per.0 += 1;
        per.1 += n_train;
        per.2 += n_test;
        let row = rows.entry((t.category.as_str(), t.instruction_id.as_str())).or_insert_with(|| InstructionRow {
            id: t.instruction_id.clone(),
            category: t.category.clone(),
            task: t.name.clone(),
            tasks: vec![],
            text: t.parsed.definition.clone(),
            n_train: 0,
            n_test: 0,
            weight: 0.0,
        });
        row.tasks.push(t.name.clone());
        row.n_train += n_train;
        row.n_test += n_test;
    }
    let mut totals: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in rows.values() {
        let e = totals.entry(r.category.clone()).or_default();
        e.0 += r.n_train;
        e.1 += 1;
    }
    for (cat, (total, _)) in &totals {
        if *total == 0 {
            report.warnings.push(format!("category {cat} has no train instances; its instruction weights are uniform"));
        }
    }
    rows.into_values()
        .map(|mut r| {
            let (total, n) = totals[&r.category];
            r.weight = if total > 0 { r.n_train as f64 / total as f64 } else { 1.0 / n as f64 };
            r
        })
        .collect()
}

fn tasks_table(tasks: &[TaskRows]) -> Vec<TaskRow> {
    tasks
        .iter()
        .map(|t| {
            let n_test = t.test.iter().filter(|&&b| b).count();
            TaskRow {
                task: t.name.clone(),
                category: t.category.clone(),
                superni_category: t.superni_category.clone(),
                instruction_id: t.instruction_id.clone(),
                n_train: t.test.len() - n_test,
                n_test,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
