use crate::error::StoreError;
use crate::hash::ContentHash;
use crate::lease::{Lease, LeaseHolder};
use crate::manifest::{BuiltBy, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, OutputEntry, OutputKind, artifact_content};
use crate::atomic::{publish_dir, sync_file, write_synced};
use crate::hash::hash_file_streaming;
use crate::table::{ParquetProvenance, encode_parquet, read_parquet_as_written, table_content_hash};
use crate::{Outputs, Spec};
use arrow::record_batch::RecordBatch;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const TMP_DIR: &str = ".tmp";
const LOCK_DIR: &str = ".locks";
const QUARANTINE_DIR: &str = ".quarantine";
pub(crate) const RUNS_DIR: &str = "runs";
const LOGS_DIR: &str = "logs";

/// Test hook: sleep this many milliseconds after each output file is in the temp dir (written, or for a staged
/// file, hashed and fsynced), so that the test suite can kill a writer in the middle of an artifact.
const WRITE_DELAY_ENV: &str = "INSCL_TEST_WRITE_DELAY_MS";

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A complete artifact on disk, checked on the way in.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Artifact {
    pub fn key(&self) -> &str {
        &self.manifest.key
    }

    pub fn stage(&self) -> &str {
        &self.manifest.stage
    }

    pub fn content(&self) -> ContentHash {
        self.manifest.content
    }

    fn entry(&self, name: &str) -> Result<&OutputEntry, StoreError> {
        self.manifest.output(name).ok_or_else(|| StoreError::NoSuchOutput {
            stage: self.manifest.stage.clone(),
            key: self.manifest.key.clone(),
            name: name.to_string(),
        })
    }

    pub fn path_of(&self, name: &str) -> Result<PathBuf, StoreError> {
        Ok(self.dir.join(&self.entry(name)?.file))
    }

    pub fn table(&self, name: &str) -> Result<RecordBatch, StoreError> {
        Ok(read_parquet_as_written(&self.path_of(name)?)?.0)
    }

    pub fn file(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(name)?;
        fs::read(&path).map_err(StoreError::io(path))
    }
}

#[derive(Debug)]
pub enum Lookup {
    Hit(Artifact),
    Missing,
    /// Present but damaged; the reason says how. It has been moved to quarantine.
    Damaged(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BuildOutcome {
    Cached,
    Built,
    /// Another process built it while this one waited for the key's lock.
    BuiltByOther,
    /// The artifact was damaged, quarantined and built again.
    Rebuilt { reason: String },
}

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub checked: usize,
    /// (artifact dir, what is wrong, where it was moved)
    pub damaged: Vec<(PathBuf, String, PathBuf)>,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != MANIFEST_FILE
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The temp folder an artifact is built in, created before the stage runs so that it can stream large outputs
/// straight into it ([`Staging::path`], declared with [`Outputs::staged_file`]). Published by rename on commit;
/// removed when the build fails, and by the next build of the key when the process was killed.
pub struct Staging {
    dir: PathBuf,
    published: bool,
}

impl Staging {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the stage writes output `name` (a plain file name, as for any output).
    pub fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if !valid_name(name) {
            return Err(StoreError::BadOutputName(name.to_string()));
        }
        Ok(self.dir.join(name))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            // Best effort: a leftover is an orphan that the next build of the key or `gc` removes.
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Store {
    pub fn open(root: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let root = root.into();
        for sub in [TMP_DIR, LOCK_DIR, RUNS_DIR] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(StoreError::io(p))?;
        }
        Ok(Store { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn artifact_dir(&self, stage: &str, key: &ContentHash) -> PathBuf {
        self.root.join(stage).join(key.hex())
    }

    /// Reads an artifact dir, checking the manifest and every output's size (cheap enough for every reuse).
    fn load(&self, dir: &Path) -> Result<Artifact, String> {
        let mpath = dir.join(MANIFEST_FILE);
        let text = fs::read_to_string(&mpath).map_err(|e| format!("{}: {e}", mpath.display()))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", mpath.display()))?;
        if dir.file_name().and_then(|n| n.to_str()) != Some(manifest.key.as_str()) {
            return Err(format!("{}: manifest key {} does not match its folder", mpath.display(), manifest.key));
        }
        for o in &manifest.outputs {
            let p = dir.join(&o.file);
            match fs::metadata(&p) {
                Ok(m) if m.len() == o.bytes => {}
                Ok(m) => return Err(format!("{}: {} bytes, manifest says {}", p.display(), m.len(), o.bytes)),
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
        Ok(Artifact { dir: dir.to_path_buf(), manifest })
    }

    fn quarantine(&self, dir: &Path) -> Result<PathBuf, StoreError> {
        let qdir = self.root.join(QUARANTINE_DIR);
        fs::create_dir_all(&qdir).map_err(StoreError::io(&qdir))?;
        let stage = dir.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("unknown");
        let key = dir.file_name().and_then(|n| n.to_str()).unwrap_or("unknown");
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let target = qdir.join(format!("{stage}-{key}-{nanos}"));
        fs::rename(dir, &target).map_err(StoreError::io(dir))?;
        Ok(target)
    }

    pub fn lookup(&self, stage: &str, key: &ContentHash) -> Result<Lookup, StoreError> {
        let dir = self.artifact_dir(stage, key);
        if !dir.exists() {
            return Ok(Lookup::Missing);
        }
        match self.load(&dir) {
            Ok(a) => Ok(Lookup::Hit(a)),
            Err(reason) => {
                self.quarantine(&dir)?;
                Ok(Lookup::Damaged(reason))
            }
        }
    }

    /// Looks an artifact up without side effects: a damaged one reads as missing.
    pub fn peek(&self, stage: &str, key: &ContentHash) -> Option<Artifact> {
        self.load(&self.artifact_dir(stage, key)).ok()
    }

    fn lease_path(&self, key: &ContentHash) -> PathBuf {
        self.root.join(LOCK_DIR).join(format!("{}.lease", key.hex()))
    }

    /// The folder a remote executor's job logs go to (`<store>/logs/<executor>/<stage>/`), created now so that
    /// the scheduler can open the log before the job starts.
    pub fn log_dir(&self, executor: &str, stage: &str) -> Result<PathBuf, StoreError> {
        let dir = self.root.join(LOGS_DIR).join(executor).join(stage);
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        Ok(dir)
    }

    /// Returns the artifact of `spec`, running `build` only when no valid one exists. Concurrent callers with
    /// the same key, in this process or another on any node sharing the store, serialise on the key's build
    /// lease, so the build runs once.
    pub fn get_or_build<E: From<StoreError>>(
        &self,
        spec: &Spec,
        build: impl FnOnce() -> Result<Outputs, E>,
    ) -> Result<(Artifact, BuildOutcome), E> {
        self.build_with(spec, false, |_| build())
    }

    /// Like [`Store::get_or_build`], but with `force` the build runs even when a valid artifact exists; the new
    /// one replaces it by rename, so readers see the old or the new artifact, never a mix. `build` gets the
    /// artifact's temp folder, to stream large outputs into.
    pub fn build_with<E: From<StoreError>>(
        &self,
        spec: &Spec,
        force: bool,
        build: impl FnOnce(&Staging) -> Result<Outputs, E>,
    ) -> Result<(Artifact, BuildOutcome), E> {
        let key = spec.key();
        let mut damaged = match self.lookup(&spec.stage, &key)? {
            Lookup::Hit(a) if !force => return Ok((a, BuildOutcome::Cached)),
            Lookup::Hit(_) | Lookup::Missing => None,
            Lookup::Damaged(reason) => Some(reason),
        };
        let (lease, waited) = Lease::acquire(&self.lease_path(&key))?;
        match self.lookup(&spec.stage, &key)? {
            Lookup::Hit(a) if !force => {
                return Ok((a, if waited { BuildOutcome::BuiltByOther } else { BuildOutcome::Cached }));
            }
            Lookup::Hit(_) | Lookup::Missing => {}
            Lookup::Damaged(reason) => damaged = Some(reason),
        }
        self.remove_orphans(&key)?;
        let started = Instant::now();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        // Unique across the nodes that share the store: host, pid and time.
        let dir = self.root.join(TMP_DIR).join(format!("{}-{}-{}-{nanos}", key.hex(), lease.holder().host, std::process::id()));
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        let staging = Staging { dir, published: false };
        let outputs = build(&staging)?;
        let artifact = self.commit(spec, &key, outputs, staging, started, lease.holder())?;
        let outcome = match damaged {
            Some(reason) => BuildOutcome::Rebuilt { reason },
            None => BuildOutcome::Built,
        };
        Ok((artifact, outcome))
    }

    /// Temp dirs of this key left by a killed writer; safe to remove while holding the key's lock.
    fn remove_orphans(&self, key: &ContentHash) -> Result<(), StoreError> {
        let tmp = self.root.join(TMP_DIR);
        let prefix = format!("{}-", key.hex());
        for entry in fs::read_dir(&tmp).map_err(StoreError::io(&tmp))?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                fs::remove_dir_all(entry.path()).map_err(StoreError::io(entry.path()))?;
            }
        }
        Ok(())
    }

    fn commit(
        &self,
        spec: &Spec,
        key: &ContentHash,
        outputs: Outputs,
        mut staging: Staging,
        started: Instant,
        holder: &LeaseHolder,
    ) -> Result<Artifact, StoreError> {
        // Logical names and file names must both be unique: table `t` is the file `t.parquet`.
        let (mut seen, mut files) = (BTreeSet::new(), BTreeSet::new());
        let tables = outputs.tables.iter().map(|t| (&t.0, format!("{}.parquet", t.0)));
        let plain = outputs.files.iter().map(|f| (&f.0, f.0.clone())).chain(outputs.staged.iter().map(|n| (n, n.clone())));
        for (name, file) in tables.chain(plain) {
            if !valid_name(name) {
                return Err(StoreError::BadOutputName(name.clone()));
            }
            if !seen.insert(name.clone()) || !files.insert(file) {
                return Err(StoreError::DuplicateOutput(name.clone()));
            }
        }
        let tmp = staging.dir.clone();
        // Whatever the stage left in its folder must be a declared output: an undeclared file would be published
        // without a manifest entry, so no integrity check would ever cover it.
        for entry in fs::read_dir(&tmp).map_err(StoreError::io(&tmp))? {
            let entry = entry.map_err(StoreError::io(&tmp))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if !outputs.staged.contains(&name) {
                return Err(StoreError::UndeclaredStaged { path: entry.path() });
            }
        }
        let delay = std::env::var(WRITE_DELAY_ENV).ok().and_then(|v| v.parse::<u64>().ok());
        let pause = || {
            if let Some(ms) = delay {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
        };

        let provenance = ParquetProvenance {
            stage: spec.stage.clone(),
            key: key.hex(),
            params_json: crate::canonical_json(&spec.params),
            inputs_json: serde_json::to_string(&spec.inputs).expect("inputs serialise"),
        };
        let mut entries = Vec::new();
        for (name, batch) in &outputs.tables {
            let file = format!("{name}.parquet");
            let path = tmp.join(&file);
            let bytes = encode_parquet(batch, &provenance, &path)?;
            write_synced(&path, &bytes)?;
            entries.push(OutputEntry {
                name: name.clone(),
                kind: OutputKind::Table,
                file,
                bytes: bytes.len() as u64,
                blake3: ContentHash::of(&bytes),
                content: table_content_hash(batch)?,
                rows: Some(batch.num_rows() as u64),
                volatile: outputs.volatile.contains(name),
            });
            pause();
        }
        let file_entry = |name: &String, bytes: u64, hash: ContentHash| OutputEntry {
            name: name.clone(),
            kind: OutputKind::File,
            file: name.clone(),
            bytes,
            blake3: hash,
            content: hash,
            rows: None,
            volatile: false,
        };
        for (name, bytes) in &outputs.files {
            write_synced(&tmp.join(name), bytes)?;
            entries.push(file_entry(name, bytes.len() as u64, ContentHash::of(bytes)));
            pause();
        }
        for name in &outputs.staged {
            let path = tmp.join(name);
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                return Err(StoreError::StagedMissing { name: name.clone(), path });
            }
            crate::atomic::make_readable(&path)?;
            sync_file(&path)?;
            let (bytes, hash) = hash_file_streaming(&path)?;
            entries.push(file_entry(name, bytes, hash));
            pause();
        }
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            stage: spec.stage.clone(),
            version: spec.version.clone(),
            key: key.hex(),
            params: spec.params.clone(),
            inputs: spec.inputs.clone(),
            content: artifact_content(&entries),
            outputs: entries,
            notes: outputs.notes,
            wall_time_s: started.elapsed().as_secs_f64(),
            created_unix_s: now_unix(),
            inscl_version: env!("CARGO_PKG_VERSION").to_string(),
            runtime: Default::default(),
            built_by: Some(BuiltBy {
                host: holder.host.clone(),
                pid: holder.pid,
                slurm_job_id: holder.slurm_job_id.clone(),
                cuda_visible_devices: std::env::var("CUDA_VISIBLE_DEVICES").ok(),
            }),
        };
        let mpath = tmp.join(MANIFEST_FILE);
        write_synced(&mpath, serde_json::to_string_pretty(&manifest).expect("manifest serialises").as_bytes())?;

        let target = self.root.join(&spec.stage).join(key.hex());
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let replaced = self.root.join(TMP_DIR).join(format!("{}-replaced-{nanos}", key.hex()));
        publish_dir(&tmp, &target, &replaced)?;
        staging.published = true;
        Ok(Artifact { dir: target, manifest })
    }

    /// Every artifact dir (`<stage>/<key>`), valid or not.
    pub fn artifact_dirs(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut out = Vec::new();
        for stage in fs::read_dir(&self.root).map_err(StoreError::io(&self.root))?.flatten() {
            let name = stage.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name == RUNS_DIR || name == LOGS_DIR || !stage.path().is_dir() {
                continue;
            }
            for art in fs::read_dir(stage.path()).map_err(StoreError::io(stage.path()))?.flatten() {
                if art.path().is_dir() {
                    out.push(art.path());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every valid artifact.
    pub fn artifacts(&self) -> Result<Vec<Artifact>, StoreError> {
        Ok(self.artifact_dirs()?.iter().filter_map(|d| self.load(d).ok()).collect())
    }

    /// Full check: manifest, sizes and the blake3 of every file. Damaged artifacts go to quarantine, so the
    /// next run rebuilds them.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        for dir in self.artifact_dirs()? {
            report.checked += 1;
            let problem = match self.load(&dir) {
                Err(reason) => Some(reason),
                Ok(a) => a.manifest.outputs.iter().find_map(|o| {
                    let p = dir.join(&o.file);
                    match hash_file_streaming(&p) {
                        Ok((_, hash)) if hash == o.blake3 => None,
                        Ok(_) => Some(format!("{}: blake3 differs from the manifest", p.display())),
                        Err(e) => Some(e.to_string()),
                    }
                }),
            };
            if let Some(reason) = problem {
                let moved = self.quarantine(&dir)?;
                report.damaged.push((dir, reason, moved));
            }
        }
        Ok(report)
    }

    /// Finds an artifact by a key prefix (at least 6 hex digits), `<stage>/<key prefix>`, or a path inside it.
    pub fn find(&self, query: &str) -> Result<Artifact, StoreError> {
        let as_path = Path::new(query);
        if as_path.exists() {
            let mut dir = if as_path.is_file() { as_path.parent().unwrap_or(as_path) } else { as_path }.to_path_buf();
            if !dir.join(MANIFEST_FILE).exists() {
                dir = dir.parent().map(Path::to_path_buf).unwrap_or(dir);
            }
            return self.load(&dir).map_err(|_| StoreError::NotFound(query.to_string()));
        }
        let (stage, prefix) = match query.split_once('/') {
            Some((s, k)) => (Some(s), k),
            None => (None, query),
        };
        if prefix.len() < 6 {
            return Err(StoreError::NotFound(query.to_string()));
        }
        let matches: Vec<Artifact> = self
            .artifacts()?
            .into_iter()
            .filter(|a| a.key().starts_with(prefix) && stage.is_none_or(|s| s == a.stage()))
            .collect();
        match matches.len() {
            0 => Err(StoreError::NotFound(query.to_string())),
            1 => Ok(matches.into_iter().next().expect("one match")),
            _ => Err(StoreError::Ambiguous {
                query: query.to_string(),
                candidates: matches.iter().map(|a| format!("{}/{}", a.stage(), &a.key()[..12])).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Removes every artifact whose key is not in `keep`, plus temp dirs no writer holds and the quarantine.
    /// Returns what was (or, with `dry_run`, would be) removed.
    pub fn gc(&self, keep: &BTreeSet<String>, dry_run: bool) -> Result<Vec<PathBuf>, StoreError> {
        let mut doomed: Vec<PathBuf> = self
            .artifact_dirs()?
            .into_iter()
            .filter(|d| !d.file_name().and_then(|n| n.to_str()).is_some_and(|k| keep.contains(k)))
            .collect();
        let tmp = self.root.join(TMP_DIR);
        for entry in fs::read_dir(&tmp).map_err(StoreError::io(&tmp))?.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let free = match name.split('-').next().and_then(ContentHash::parse) {
                Some(key) => self.try_lock_now(&key)?,
                None => true,
            };
            if free {
                doomed.push(entry.path());
            }
        }
        let q = self.root.join(QUARANTINE_DIR);
        if q.exists() {
            doomed.push(q);
        }
        if !dry_run {
            for d in &doomed {
                fs::remove_dir_all(d).map_err(StoreError::io(d))?;
            }
        }
        Ok(doomed)
    }

    fn try_lock_now(&self, key: &ContentHash) -> Result<bool, StoreError> {
        Ok(!crate::lease::is_held(&self.lease_path(key)))
    }
}
