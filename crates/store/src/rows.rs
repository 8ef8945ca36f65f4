//! Caches below the artifact level, for stages whose unit of work is smaller than their artifact: the
//! annotate stage caches tags per (tagger config, instruction text), the distance stage caches W per category
//! pair. An artifact is rebuilt when any input changes; these caches make that rebuild cost only the new rows.
//!
//! Each entry is one small file, written with [`write_atomic`], so a killed run leaves either
//! the old entry or the new one. Entries are never trusted blindly: callers key them by a hash of everything
//! that determines their value.

use crate::atomic::write_atomic;
use crate::error::StoreError;
use crate::store::Store;
use std::fs;
use std::path::PathBuf;

const ROWS_DIR: &str = ".rows";
const SCRATCH_DIR: &str = ".scratch";

/// A key → bytes cache in `<store>/.rows/<namespace>/`.
#[derive(Debug, Clone)]
pub struct RowCache {
    dir: PathBuf,
}

impl RowCache {
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        if key.len() < 3 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(StoreError::BadOutputName(format!("row cache key '{key}'")));
        }
        Ok(self.dir.join(&key[..2]).join(key))
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.path(key)?, bytes)
    }
}

impl Store {
    /// The row cache of `namespace` (letters, digits, '-' and '_').
    pub fn rows(&self, namespace: &str) -> Result<RowCache, StoreError> {
        if namespace.is_empty() || !namespace.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) {
            return Err(StoreError::BadOutputName(format!("row cache namespace '{namespace}'")));
        }
        let dir = self.root().join(ROWS_DIR).join(namespace);
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        Ok(RowCache { dir })
    }

    /// A folder that survives a crash of the build of (stage, key), for resumable state such as training
    /// checkpoints. The runner removes it once the artifact is committed.
    pub fn scratch_dir(&self, stage: &str, key: &str) -> Result<PathBuf, StoreError> {
        let dir = self.root().join(SCRATCH_DIR).join(format!("{stage}-{key}"));
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        Ok(dir)
    }

    pub fn remove_scratch_dir(&self, stage: &str, key: &str) -> Result<(), StoreError> {
        let dir = self.root().join(SCRATCH_DIR).join(format!("{stage}-{key}"));
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io { path: dir, source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_reject_bad_keys() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let rows = store.rows("annotate").unwrap();
        assert_eq!(rows.get("abc123").unwrap(), None);
        rows.put("abc123", b"tags").unwrap();
        assert_eq!(rows.get("abc123").unwrap().as_deref(), Some(&b"tags"[..]));
        rows.put("abc123", b"new").unwrap();
        assert_eq!(rows.get("abc123").unwrap().as_deref(), Some(&b"new"[..]));
        assert!(rows.put("../x", b"").is_err());
        assert!(store.rows("a/b").is_err());
    }

    #[test]
    fn scratch_dirs_are_per_key_and_removable() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let s = store.scratch_dir("finetune", "k1").unwrap();
        fs::write(s.join("state"), b"x").unwrap();
        assert!(store.scratch_dir("finetune", "k1").unwrap().join("state").exists());
        store.remove_scratch_dir("finetune", "k1").unwrap();
        assert!(!s.exists());
        store.remove_scratch_dir("finetune", "k1").unwrap();
    }
}
