//! A persistent cache of file hashes, so that keying a stage by a 500 MB model folder costs a `stat` per file
//! instead of reading it: `(absolute path, size, mtime, ctime, inode, device) → blake3`, kept in
//! `<store>/.hashcache/sources.json`.
//!
//! A hit needs every field of the stat to match. ctime is part of it because no tool can set it: a file whose
//! bytes change while size and mtime are put back (`touch -r`) still misses. Files modified within the last
//! [`RACY_SECS`] are hashed but not cached (git's "racy" problem: a write in the same timestamp tick as the
//! hash would leave the stat unchanged and the cached hash wrong).
//!
//! Loaded once per process and store; written with [`crate::atomic::write_atomic`] after a scan that hashed
//! something, merged with what other processes wrote meanwhile. Two processes that flush at once lose at most
//! the other's new entries (last writer wins), which only costs a rehash later. A damaged cache file reads as
//! empty: the cache can make a scan faster, never wrong.

use crate::atomic::write_atomic;
use crate::error::StoreError;
use crate::hash::ContentHash;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

const CACHE_DIR: &str = ".hashcache";
const CACHE_FILE: &str = "sources.json";
const FORMAT: u32 = 1;
/// How old a file's mtime must be for its hash to be cached.
pub const RACY_SECS: i64 = 2;

/// What a `stat` says about a file; equal stamps mean (by assumption) equal bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    ino: u64,
    dev: u64,
}

impl Stamp {
    #[cfg(unix)]
    fn of(meta: &fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            size: meta.len(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
            ctime_ns: meta.ctime().saturating_mul(1_000_000_000).saturating_add(meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    #[cfg(not(unix))]
    fn of(meta: &fs::Metadata) -> Stamp {
        let ns = |t: std::io::Result<SystemTime>| {
            t.ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_nanos() as i64).unwrap_or(0)
        };
        Stamp { size: meta.len(), mtime_ns: ns(meta.modified()), ctime_ns: ns(meta.created()), ino: 0, dev: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    stamp: Stamp,
    blake3: ContentHash,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    entries: BTreeMap<String, Entry>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Entries hashed by this process since the last flush.
    fresh: HashMap<String, Entry>,
    stats: CacheStats,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Files whose hash came from the cache (a `stat`, no read).
    pub hits: u64,
    /// Files read and hashed.
    pub misses: u64,
}

struct Inner {
    /// None: a cache that remembers nothing (tools and tests that want every file hashed).
    file: Option<PathBuf>,
    state: Mutex<State>,
}

/// A handle on a hash cache; clones share it.
#[derive(Clone)]
pub struct HashCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HashCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HashCache({:?})", self.inner.file)
    }
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(i64::MAX)
}

fn read_cache_file(path: &Path) -> HashMap<String, Entry> {
    let Ok(text) = fs::read(path) else { return HashMap::new() };
    match serde_json::from_slice::<CacheFile>(&text) {
        Ok(c) if c.format == FORMAT => c.entries.into_iter().collect(),
        _ => HashMap::new(),
    }
}

impl HashCache {
    /// A cache that remembers nothing: every file is read and hashed.
    pub fn disabled() -> HashCache {
        HashCache { inner: Arc::new(Inner { file: None, state: Mutex::default() }) }
    }

    /// The cache kept in `file`, loaded now. Prefer [`Store::hash_cache`], which loads it once per process.
    pub fn load(file: PathBuf) -> HashCache {
        let entries = read_cache_file(&file);
        let state = State { entries, ..Default::default() };
        HashCache { inner: Arc::new(Inner { file: Some(file), state: Mutex::new(state) }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the maps consistent (each update is one insert).
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> CacheStats {
        self.state().stats
    }

    /// The size and blake3 of the file at `path` (symlinks followed), from the cache when its stat is
    /// unchanged, else by streaming it through the hasher. Errors name the file.
    pub fn hash_file(&self, path: &Path) -> Result<(u64, ContentHash), StoreError> {
        let key = self.inner.file.as_ref().and_then(|_| std::path::absolute(path).ok()).and_then(|p| p.to_str().map(String::from));
        let before = Stamp::of(&fs::metadata(path).map_err(StoreError::io(path))?);
        if let Some(key) = &key {
            let mut state = self.state();
            if let Some(e) = state.entries.get(key).filter(|e| e.stamp == before).copied() {
                state.stats.hits += 1;
                return Ok((e.stamp.size, e.blake3));
            }
        }
        let file = fs::File::open(path).map_err(StoreError::io(path))?;
        let opened = Stamp::of(&file.metadata().map_err(StoreError::io(path))?);
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(&file).map_err(StoreError::io(path))?;
        let (size, hash) = (hasher.count(), ContentHash::from(hasher.finalize()));
        let after = Stamp::of(&file.metadata().map_err(StoreError::io(path))?);
        let mut state = self.state();
        state.stats.misses += 1;
        // Cache only what provably stayed still while it was read, and is old enough not to be racy.
        let settled = opened == after && after.size == size && now_ns() - after.mtime_ns >= RACY_SECS * 1_000_000_000;
        if let (Some(key), true) = (key, settled) {
            let entry = Entry { stamp: after, blake3: hash };
            state.entries.insert(key.clone(), entry);
            state.fresh.insert(key, entry);
        }
        Ok((size, hash))
    }

    /// Writes the entries hashed since the last flush, merged with the file's current entries (another
    /// process may have added some), dropping entries of files that no longer exist. A no-op when nothing new
    /// was hashed, so an unchanged folder costs no write.
    pub fn flush(&self) -> Result<(), StoreError> {
        let Some(file) = &self.inner.file else { return Ok(()) };
        let mut state = self.state();
        if state.fresh.is_empty() {
            return Ok(());
        }
        let mut merged = read_cache_file(file);
        merged.extend(state.fresh.drain());
        merged.retain(|path, _| Path::new(path).exists());
        state.entries.extend(merged.iter().map(|(k, v)| (k.clone(), *v)));
        let out = CacheFile { format: FORMAT, entries: merged.into_iter().collect() };
        let dir = file.parent().expect("the cache file lies in a folder");
        fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        write_atomic(file, &serde_json::to_vec(&out).expect("the cache serialises"))
    }
}

impl Store {
    /// The store's hash cache, loaded on the first call of the process and shared after: every `Store` opened
    /// on the same folder gets the same cache.
    pub fn hash_cache(&self) -> HashCache {
        static CACHES: OnceLock<Mutex<HashMap<PathBuf, HashCache>>> = OnceLock::new();
        let root = std::path::absolute(self.root()).unwrap_or_else(|_| self.root().to_path_buf());
        let mut caches = CACHES.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
        caches.entry(root.clone()).or_insert_with(|| HashCache::load(root.join(CACHE_DIR).join(CACHE_FILE))).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Sets a file's mtime into the past, so that its hash is not racy and gets cached.
    pub(crate) fn age(path: &Path) {
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn a_second_hash_is_a_stat_and_survives_the_process() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("weights.bin");
        fs::write(&f, vec![7u8; 100_000]).unwrap();
        age(&f);
        let cache = HashCache::load(d.path().join("cache/sources.json"));
        let first = cache.hash_file(&f).unwrap();
        assert_eq!(first, (100_000, ContentHash::of(&[7u8; 100_000])));
        assert_eq!(cache.hash_file(&f).unwrap(), first);
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
        cache.flush().unwrap();
        let reloaded = HashCache::load(d.path().join("cache/sources.json"));
        assert_eq!(reloaded.hash_file(&f).unwrap(), first);
        assert_eq!(reloaded.stats(), CacheStats { hits: 1, misses: 0 });
    }

    #[test]
    fn a_changed_file_misses_even_with_its_mtime_put_back() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a");
        fs::write(&f, b"one").unwrap();
        age(&f);
        let mtime = fs::metadata(&f).unwrap().modified().unwrap();
        let cache = HashCache::load(d.path().join("c.json"));
        cache.hash_file(&f).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&f, b"two").unwrap();
        fs::File::options().write(true).open(&f).unwrap().set_modified(mtime).unwrap();
        assert_eq!(cache.hash_file(&f).unwrap().1, ContentHash::of(b"two"), "size and mtime agree, ctime does not");
        assert_eq!(cache.stats().misses, 2);
    }

    #[test]
    fn fresh_files_are_hashed_every_time_and_damaged_caches_read_as_empty() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("new");
        fs::write(&f, b"just written").unwrap();
        let cache = HashCache::load(d.path().join("c.json"));
        cache.hash_file(&f).unwrap();
        cache.hash_file(&f).unwrap();
        assert_eq!(cache.stats(), CacheStats { hits: 0, misses: 2 }, "a racy file is not cached");
        fs::write(d.path().join("bad.json"), b"{ not json").unwrap();
        let bad = HashCache::load(d.path().join("bad.json"));
        assert_eq!(bad.hash_file(&f).unwrap().1, ContentHash::of(b"just written"));
        let err = cache.hash_file(&d.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn stores_on_one_folder_share_one_cache() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x");
        fs::write(&f, b"x").unwrap();
        age(&f);
        let a = Store::open(d.path().join("store")).unwrap().hash_cache();
        let b = Store::open(d.path().join("store")).unwrap().hash_cache();
        a.hash_file(&f).unwrap();
        b.hash_file(&f).unwrap();
        assert_eq!(b.stats(), CacheStats { hits: 1, misses: 1 });
    }
}
