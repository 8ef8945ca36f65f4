use crate::hash::ContentHash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const MANIFEST_FORMAT: u32 = 1;

/// One input of a stage instance. The key says where it came from; the content hash is what the key of the
/// consumer is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRef {
    pub role: String,
    pub key: String,
    pub content: ContentHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Table,
    File,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputEntry {
    /// The logical name a stage asks for (`instances`), not the file name (`instances.parquet`).
    pub name: String,
    pub kind: OutputKind,
    pub file: String,
    pub bytes: u64,
    /// blake3 of the file's bytes, for integrity checks.
    pub blake3: ContentHash,
    /// Hash of the logical content (a table's rows and schema without provenance metadata).
    pub content: ContentHash,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// A record of how the build went (timings, throughput), not of what it produced: left out of the
    /// artifact's content hash, so that a rebuild with equal results still cuts off downstream.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub volatile: bool,
}

/// `manifest.json`: everything needed to trace an artifact back to how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub stage: String,
    pub version: String,
    pub key: String,
    pub params: serde_json::Value,
    pub inputs: Vec<InputRef>,
    /// Content hash of the whole artifact: what consumers' keys are made of.
    pub content: ContentHash,
    pub outputs: Vec<OutputEntry>,
    pub notes: BTreeMap<String, serde_json::Value>,
    pub wall_time_s: f64,
    pub created_unix_s: u64,
    pub inscl_version: String,
    /// Runtime versions that matter to the numbers (e.g. `libtorch`), recorded by tch stages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runtime: BTreeMap<String, String>,
    /// The process that built it (host, pid, Slurm job, visible GPUs): provenance, never content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_by: Option<BuiltBy>,
}

/// Where an artifact was built: the holder of its build lease, and the GPUs its process could see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltBy {
    pub host: String,
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job_id: Option<String>,
    /// `CUDA_VISIBLE_DEVICES` of the builder (what a Slurm `--gres=gpu:N` gave it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_visible_devices: Option<String>,
}

impl Manifest {
    pub fn output(&self, name: &str) -> Option<&OutputEntry> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

/// The artifact's content hash: its outputs' logical hashes, in name order, so that neither write order nor
/// provenance metadata changes it.
pub(crate) fn artifact_content(outputs: &[OutputEntry]) -> ContentHash {
    let mut sorted: Vec<&OutputEntry> = outputs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = blake3::Hasher::new();
    h.update(b"inscl-content-v1\0");
    for o in sorted.into_iter().filter(|o| !o.volatile) {
        h.update(&(o.name.len() as u64).to_le_bytes());
        h.update(o.name.as_bytes());
        h.update(match o.kind {
            OutputKind::Table => b"t",
            OutputKind::File => b"f",
        });
        h.update(o.content.as_bytes());
    }
    ContentHash::from(h.finalize())
}
