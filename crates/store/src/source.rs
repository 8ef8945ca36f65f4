use crate::error::StoreError;
use crate::hash::ContentHash;
use crate::hashcache::HashCache;
use std::fs;
use std::path::{Path, PathBuf};

/// One file of a [`SourceTree`]: where it is and what it holds, by hash. Its bytes stay on the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the tree's root, `/`-separated.
    pub rel: String,
    /// Absolute path (symlinks not resolved), what consumers read.
    pub path: PathBuf,
    pub size: u64,
    pub blake3: ContentHash,
}

/// The files of an external input (a dataset or a model folder), listed with their hashes so that a stage's
/// key covers exactly the bytes it will see; consumers read a file when they need it ([`SourceTree::read_file`]),
/// which checks that the bytes are still the ones that were hashed.
#[derive(Debug, Clone)]
pub struct SourceTree {
    /// As given: it names the source in manifests.
    pub root: PathBuf,
    /// Sorted by `rel`.
    pub files: Vec<SourceFile>,
}

/// Identifies a folder whatever path reached it, to tell a symlink cycle from a second link to one folder.
#[cfg(unix)]
fn dir_id(_path: &Path, meta: &fs::Metadata) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino(), PathBuf::new())
}

#[cfg(not(unix))]
fn dir_id(path: &Path, _meta: &fs::Metadata) -> (u64, u64, PathBuf) {
    (0, 0, fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}

type DirId = (u64, u64, PathBuf);

impl SourceTree {
    /// Lists every regular file under `root` whose relative path `keep` accepts, following symlinks to files
    /// and to folders, and hashes each by streaming it, or takes its hash from `cache` when its stat is
    /// unchanged. A link to a folder that is its own ancestor (a cycle) is skipped: its files are already in.
    pub fn scan(root: &Path, keep: impl Fn(&str) -> bool, cache: &HashCache) -> Result<SourceTree, StoreError> {
        let abs_root = std::path::absolute(root).map_err(StoreError::io(root))?;
        let no_folder = |kind, what| StoreError::Io { path: root.to_path_buf(), source: std::io::Error::new(kind, what) };
        let root_meta = match fs::metadata(&abs_root) {
            Ok(m) if m.is_dir() => m,
            Ok(_) => return Err(no_folder(std::io::ErrorKind::NotADirectory, "not a folder")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_folder(e.kind(), "no such folder")),
            Err(e) => return Err(StoreError::Io { path: root.to_path_buf(), source: e }),
        };
        let mut files = Vec::new();
        // Each folder to visit carries the ids of the folders above it, so that only a link back up is a cycle.
        let mut stack: Vec<(PathBuf, Vec<DirId>)> = vec![(abs_root.clone(), vec![dir_id(&abs_root, &root_meta)])];
        while let Some((dir, ancestors)) = stack.pop() {
            for entry in fs::read_dir(&dir).map_err(StoreError::io(&dir))? {
                let entry = entry.map_err(StoreError::io(&dir))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(StoreError::io(&path))?;
                // A dangling symlink is no file of the tree, as before.
                let meta = if kind.is_symlink() {
                    match fs::metadata(&path) {
                        Ok(m) => m,
                        Err(_) => continue,
                    }
                } else if kind.is_dir() || kind.is_file() {
                    entry.metadata().map_err(StoreError::io(&path))?
                } else {
                    continue;
                };
                if meta.is_dir() {
                    let id = dir_id(&path, &meta);
                    if !ancestors.contains(&id) {
                        let mut below = ancestors.clone();
                        below.push(id);
                        stack.push((path, below));
                    }
                } else if meta.is_file() {
                    let rel = path.strip_prefix(&abs_root).expect("under root").components()
                        .map(|c| c.as_os_str().to_string_lossy().to_string()).collect::<Vec<_>>().join("/");
                    if keep(&rel) {
                        let (size, blake3) = cache.hash_file(&path)?;
                        files.push(SourceFile { rel, path, size, blake3 });
                    }
                }
            }
        }
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        cache.flush()?;
        Ok(SourceTree { root: root.to_path_buf(), files })
    }

    /// [`SourceTree::scan`] that reads and hashes every file (tools, tests, folders outside any store).
    pub fn scan_uncached(root: &Path, keep: impl Fn(&str) -> bool) -> Result<SourceTree, StoreError> {
        SourceTree::scan(root, keep, &HashCache::disabled())
    }

    /// The tree that `files` would make under `root`, hashed from memory (tests of code that only looks at
    /// hashes; reading a file of it reads `root` on the disk).
    pub fn from_memory(root: impl Into<PathBuf>, files: &[(String, Vec<u8>)]) -> SourceTree {
        let root = root.into();
        let mut files: Vec<SourceFile> = files
            .iter()
            .map(|(rel, bytes)| SourceFile {
                rel: rel.clone(),
                path: root.join(rel),
                size: bytes.len() as u64,
                blake3: ContentHash::of(bytes),
            })
            .collect();
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        SourceTree { root, files }
    }

    /// blake3 over every (path, size, file hash): the content hash that stands in for an artifact's. v2:
    /// v1 hashed the bytes themselves, which needed every file in memory.
    pub fn content(&self) -> ContentHash {
        let mut h = blake3::Hasher::new();
        h.update(b"inscl-source-v2\0");
        for f in &self.files {
            h.update(&(f.rel.len() as u64).to_le_bytes());
            h.update(f.rel.as_bytes());
            h.update(&f.size.to_le_bytes());
            h.update(f.blake3.as_bytes());
        }
        ContentHash::from(h.finalize())
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Relative paths, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.rel.as_str())
    }

    pub fn file(&self, rel: &str) -> Option<&SourceFile> {
        self.files.binary_search_by(|f| f.rel.as_str().cmp(rel)).ok().map(|i| &self.files[i])
    }

    /// The bytes of file `rel`, checked against the hash the tree (and so the stage's key) was made of: a file
    /// changed since the scan is an error, not silently other input.
    pub fn read_file(&self, rel: &str) -> Result<Vec<u8>, StoreError> {
        let f = self
            .file(rel)
            .ok_or_else(|| StoreError::NotInSource { root: self.root.clone(), rel: rel.to_string() })?;
        let bytes = fs::read(&f.path).map_err(StoreError::io(&f.path))?;
        if bytes.len() as u64 != f.size || ContentHash::of(&bytes) != f.blake3 {
            return Err(StoreError::SourceChanged { path: f.path.clone() });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashcache::CacheStats;

    fn write(path: &Path, bytes: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn scans_sorted_filtered_and_hashes_like_memory() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("tasks/b.json"), b"bb");
        write(&d.path().join("tasks/a.json"), b"a");
        write(&d.path().join("skip.txt"), b"no");
        let tree = SourceTree::scan_uncached(d.path(), |r| r.starts_with("tasks/")).unwrap();
        assert_eq!(tree.paths().collect::<Vec<_>>(), ["tasks/a.json", "tasks/b.json"]);
        assert_eq!(tree.total_bytes(), 3);
        let mem = SourceTree::from_memory(d.path(), &[("tasks/b.json".into(), b"bb".to_vec()), ("tasks/a.json".into(), b"a".to_vec())]);
        assert_eq!(tree.content(), mem.content());
        assert_eq!(tree.read_file("tasks/b.json").unwrap(), b"bb");
        let e = tree.read_file("skip.txt").unwrap_err();
        assert!(e.to_string().contains("skip.txt"), "{e}");
        let e = SourceTree::scan_uncached(&d.path().join("nope"), |_| true).unwrap_err().to_string();
        assert!(e.ends_with("nope: no such folder"), "{e}");
    }

    #[test]
    fn a_changed_file_is_caught_on_read_and_changes_the_content() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("f"), b"before");
        let tree = SourceTree::scan_uncached(d.path(), |_| true).unwrap();
        fs::write(d.path().join("f"), b"after!").unwrap();
        let e = tree.read_file("f").unwrap_err();
        assert!(matches!(e, StoreError::SourceChanged { .. }) && e.to_string().contains("/f"), "{e}");
        assert_ne!(SourceTree::scan_uncached(d.path(), |_| true).unwrap().content(), tree.content());
        fs::remove_file(d.path().join("f")).unwrap();
        let e = tree.read_file("f").unwrap_err();
        assert!(matches!(&e, StoreError::Io { path, .. } if path.ends_with("f")), "{e}");
        assert!(std::error::Error::source(&e).is_some(), "the io error is kept as the source");
    }

    #[test]
    fn a_repeat_scan_of_an_unchanged_folder_reads_nothing() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("model");
        write(&src.join("model.safetensors"), &vec![1u8; 1 << 20]);
        write(&src.join("config.json"), b"{}");
        let cache = HashCache::load(d.path().join("cache.json"));
        let first = SourceTree::scan(&src, |_| true, &cache).unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 0, misses: 2 });
        let second = SourceTree::scan(&src, |_| true, &cache).unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 2, misses: 2 });
        assert_eq!(first.content(), second.content());
        assert_eq!(first.content(), SourceTree::scan_uncached(&src, |_| true).unwrap().content());
        // One file changes: only it is read again.
        write(&src.join("config.json"), b"{\"x\":1}");
        let third = SourceTree::scan(&src, |_| true, &cache).unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 3, misses: 3 });
        assert_ne!(third.content(), first.content());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_files_and_folders_are_followed_and_cycles_skipped() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        write(&outside.join("t.json"), b"t");
        let root = d.path().join("data");
        write(&root.join("tasks/a.json"), b"a");
        symlink(&outside, root.join("linked")).unwrap();
        symlink(outside.join("t.json"), root.join("tasks/t.json")).unwrap();
        symlink(&root, root.join("tasks/loop")).unwrap();
        symlink(d.path().join("gone"), root.join("dangling")).unwrap();
        let tree = SourceTree::scan_uncached(&root, |_| true).unwrap();
        assert_eq!(tree.paths().collect::<Vec<_>>(), ["linked/t.json", "tasks/a.json", "tasks/t.json"]);
        assert_eq!(tree.read_file("linked/t.json").unwrap(), b"t");
        // A second link to a folder that is no ancestor is followed as well.
        symlink(&outside, root.join("again")).unwrap();
        assert_eq!(SourceTree::scan_uncached(&root, |_| true).unwrap().files.len(), 4);
    }
}
