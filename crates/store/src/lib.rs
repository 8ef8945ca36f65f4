//! The InsCL artifact store: every stage of the pipeline (ingest, annotate, embed, distance, insinfo, sample,
//! finetune, evaluate) writes its outputs here as Parquet tables or plain files, keyed by a content hash.
//!
//! * **Key** = blake3 over the stage name, the stage version, the canonical JSON of its params, and the
//!   *content* hashes of its inputs ([`Spec::key`]). Because inputs enter by content and not by key, a rebuild
//!   that yields byte-identical output invalidates nothing downstream (early cutoff).
//! * **Layout**: `<store>/<stage>/<key>/` holds the outputs and a `manifest.json` ([`Manifest`]).
//! * **Atomicity**: outputs are written into a temp dir inside the store (large ones streamed there by the stage
//!   itself, see [`Staging`]), fsynced, then renamed into place. Every other write of the workspace goes through
//!   [`atomic`] too.
//! * **Concurrency**: a build lease per key (host, pid, Slurm job id, heartbeat; a stale one is broken), so two
//!   processes, on one machine or on the nodes of a cluster sharing the store, do not build one key at once;
//!   correctness rests on the atomic publish, so a lost race wastes work and corrupts nothing.
//! * **Integrity**: sizes are checked on every reuse, full blake3 on [`Store::verify`]; a damaged artifact is
//!   moved to `.quarantine/` and rebuilt, never used.
//!
//! This is the only crate of the workspace that touches the disk.

pub mod atomic;
mod error;
mod hash;
mod hashcache;
mod lease;
mod manifest;
mod rows;
mod runs;
mod source;
mod store;
mod table;

pub use error::StoreError;
pub use hash::{ContentHash, canonical_json, hash_file_streaming, key_of};
pub use hashcache::{CacheStats, HashCache};
pub use lease::{LeaseHolder, host_name};
pub use manifest::{BuiltBy, InputRef, Manifest, OutputEntry, OutputKind};
pub use rows::RowCache;
pub use runs::{RunRecord, RunRecordEntry};
pub use source::{SourceFile, SourceTree};
pub use store::{Artifact, BuildOutcome, Lookup, Staging, Store, VerifyReport};
pub use table::{ParquetProvenance, plain_columns, read_parquet_file, read_parquet_head, table_content_hash};

use arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;

/// What a stage instance is: the four things its key is made of.
#[derive(Debug, Clone)]
pub struct Spec {
    pub stage: String,
    pub version: String,
    pub params: serde_json::Value,
    /// Inputs in a stable order: (role, input key, input content hash). The key ignores input keys.
    pub inputs: Vec<InputRef>,
}

impl Spec {
    pub fn new(stage: impl Into<String>, version: impl Into<String>, params: serde_json::Value) -> Self {
        Spec { stage: stage.into(), version: version.into(), params, inputs: Vec::new() }
    }

    pub fn input(mut self, role: impl Into<String>, key: impl Into<String>, content: ContentHash) -> Self {
        self.inputs.push(InputRef { role: role.into(), key: key.into(), content });
        self
    }

    /// blake3 over stage, version, canonical params and the content hashes of the inputs, sorted by role.
    pub fn key(&self) -> ContentHash {
        let mut h = blake3::Hasher::new();
        h.update(b"inscl-key-v1\0");
        for part in [self.stage.as_str(), self.version.as_str(), &canonical_json(&self.params)] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let mut inputs: Vec<&InputRef> = self.inputs.iter().collect();
        inputs.sort_by(|a, b| a.role.cmp(&b.role));
        for i in inputs {
            h.update(&(i.role.len() as u64).to_le_bytes());
            h.update(i.role.as_bytes());
            h.update(i.content.as_bytes());
        }
        ContentHash::from(h.finalize())
    }
}

/// What a stage function returns: named tables (written as `<name>.parquet`), named files held in memory
/// (small ones), and names of files the stage streamed into its [`Staging`] folder itself (large ones, such
/// as checkpoints, which never need to fit in memory).
#[derive(Debug, Default)]
pub struct Outputs {
    pub tables: Vec<(String, RecordBatch)>,
    /// Names of tables that record the build rather than its result (see [`OutputEntry::volatile`]).
    pub volatile: Vec<String>,
    pub files: Vec<(String, Vec<u8>)>,
    /// Files written at [`Staging::path`]; commit hashes them by streaming.
    pub staged: Vec<String>,
    /// Facts about the build that are not content, recorded in the manifest (e.g. dropped-row counts).
    pub notes: BTreeMap<String, serde_json::Value>,
}

impl Outputs {
    pub fn table(mut self, name: impl Into<String>, batch: RecordBatch) -> Self {
        self.tables.push((name.into(), batch));
        self
    }

    /// A table about the build itself (a training log with timings): written like any table, but not part of
    /// the artifact's content hash.
    pub fn volatile_table(mut self, name: impl Into<String>, batch: RecordBatch) -> Self {
        let name = name.into();
        self.volatile.push(name.clone());
        self.tables.push((name, batch));
        self
    }

    pub fn file(mut self, name: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.files.push((name.into(), bytes));
        self
    }

    /// Declares the file `name` that the stage wrote at `staging.path(name)`.
    pub fn staged_file(mut self, name: impl Into<String>) -> Self {
        self.staged.push(name.into());
        self
    }

    pub fn note(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.notes.insert(key.into(), value.into());
        self
    }
}
