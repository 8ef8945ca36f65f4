use crate::atomic::write_atomic;
use crate::error::StoreError;
use crate::hash::ContentHash;
use crate::manifest::InputRef;
use crate::store::{RUNS_DIR, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;

/// What one stage instance of a pipeline resolved to on its last run. `inscl status` diffs against it to say
/// *why* an instance is stale, and `inscl gc` keeps every key some record names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecordEntry {
    pub stage: String,
    pub version: String,
    pub key: String,
    pub params: serde_json::Value,
    pub inputs: Vec<InputRef>,
    pub content: ContentHash,
}

/// The last run of one pipeline, by stage-instance id (`ingest`, `sample/curriculum/inscl/3`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub pipeline: String,
    pub entries: BTreeMap<String, RunRecordEntry>,
}

fn record_name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Store {
    pub fn load_run_record(&self, pipeline: &str) -> Result<Option<RunRecord>, StoreError> {
        if !record_name_ok(pipeline) {
            return Err(StoreError::BadOutputName(pipeline.to_string()));
        }
        let path = self.root().join(RUNS_DIR).join(format!("{pipeline}.json"));
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|source| StoreError::RunRecord { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Written with [`write_atomic`], like every file of the store.
    pub fn save_run_record(&self, record: &RunRecord) -> Result<(), StoreError> {
        if !record_name_ok(&record.pipeline) {
            return Err(StoreError::BadOutputName(record.pipeline.clone()));
        }
        let dir = self.root().join(RUNS_DIR);
        let path = dir.join(format!("{}.json", record.pipeline));
        let text = serde_json::to_string_pretty(record).expect("run record serialises");
        write_atomic(&path, text.as_bytes())
    }

    /// Keys named by any pipeline's last run: what `gc` keeps.
    pub fn referenced_keys(&self) -> Result<BTreeSet<String>, StoreError> {
        let dir = self.root().join(RUNS_DIR);
        let mut keys = BTreeSet::new();
        for entry in fs::read_dir(&dir).map_err(StoreError::io(&dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".json").filter(|s| !s.starts_with('.')) {
                if let Some(record) = self.load_run_record(stem)? {
                    keys.extend(record.entries.into_values().map(|e| e.key));
                }
            }
        }
        Ok(keys)
    }
}
