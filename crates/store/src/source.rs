use crate::error::StoreError;
use crate::hash::ContentHash;
use std::fs;
use std::path::{Path, PathBuf};

/// The files of an external input (a dataset folder), read into memory so that stages stay pure functions and
/// the key covers exactly the bytes they saw.
#[derive(Debug, Clone)]
pub struct SourceTree {
    pub root: PathBuf,
    /// Relative paths with `/` separators, sorted, with their bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

impl SourceTree {
    /// Reads every regular file under `root` whose relative path `keep` accepts.
    pub fn read(root: &Path, keep: impl Fn(&str) -> bool) -> Result<SourceTree, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::Io {
                path: root.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
            });
        }
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).map_err(StoreError::io(&dir))? {
                let entry = entry.map_err(StoreError::io(&dir))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(StoreError::io(&path))?;
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
                    let rel = path.strip_prefix(root).expect("under root").components()
                        .map(|c| c.as_os_str().to_string_lossy().to_string()).collect::<Vec<_>>().join("/");
                    if keep(&rel) {
                        let bytes = fs::read(&path).map_err(StoreError::io(&path))?;
                        files.push((rel, bytes));
                    }
                }
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(SourceTree { root: root.to_path_buf(), files })
    }

    pub fn from_files(root: impl Into<PathBuf>, mut files: Vec<(String, Vec<u8>)>) -> SourceTree {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        SourceTree { root: root.into(), files }
    }

    /// blake3 over every (path, bytes) pair: the content hash that stands in for an artifact's.
    pub fn content(&self) -> ContentHash {
        let mut h = blake3::Hasher::new();
        h.update(b"inscl-source-v1\0");
        for (path, bytes) in &self.files {
            h.update(&(path.len() as u64).to_le_bytes());
            h.update(path.as_bytes());
            h.update(&(bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        ContentHash::from(h.finalize())
    }

    pub fn total_bytes(&self) -> usize {
        self.files.iter().map(|f| f.1.len()).sum()
    }
}

impl SourceTree {
    /// Writes the files under `out`, atomically: into a sibling temp folder, then renamed into place. When
    /// `out` already holds exactly these files, nothing is written and it returns false.
    pub fn write_atomically(&self, out: &Path) -> Result<bool, StoreError> {
        if out.is_dir() && SourceTree::read(out, |_| true)?.files == self.files {
            return Ok(false);
        }
        let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "out".into());
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(StoreError::io(&tmp))?;
        }
        for (rel, bytes) in &self.files {
            let path = tmp.join(rel);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
            }
            let mut f = fs::File::create(&path).map_err(StoreError::io(&path))?;
            std::io::Write::write_all(&mut f, bytes).map_err(StoreError::io(&path))?;
            f.sync_all().map_err(StoreError::io(&path))?;
        }
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        if out.exists() {
            fs::rename(out, &old).map_err(StoreError::io(out))?;
        }
        fs::rename(&tmp, out).map_err(StoreError::io(out))?;
        if old.exists() {
            fs::remove_dir_all(&old).map_err(StoreError::io(&old))?;
        }
        Ok(true)
    }
}
