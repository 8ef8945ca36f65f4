//! Atomic writes, the only way files of the workspace reach the disk: a reader (or a process that starts after
//! a `kill -9` or a power cut) sees the old bytes or the new ones, never a mix.
//!
//! Every writer follows the same steps: write a temp file in the target's own folder (a rename is only atomic
//! within one file system), fsync it (else the rename may reach the disk before the data and leave an empty
//! file after a crash), rename it over the target, and fsync the folder (else the rename itself may be lost).

use crate::error::StoreError;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temp names are unique per process and call: two threads replacing one file must not share a temp file.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// The prefix of every temp file that stands in for `name` (`.name.tmp-`), for cleaning up after killed writers.
pub fn temp_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

/// A fresh temp path beside `target`.
fn temp_beside(target: &Path) -> Result<(PathBuf, PathBuf), StoreError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| StoreError::Io { path: target.to_path_buf(), source: io::Error::other("not a file path") })?;
    let parent = parent_of(target);
    let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    let tmp = parent.join(format!("{}{}-{n}", temp_prefix(&name), std::process::id()));
    Ok((parent, tmp))
}

/// The folder a path lives in; `.` for a bare name.
fn parent_of(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// fsyncs a folder, so that the renames and creations inside it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(StoreError::io(dir))
}

/// fsyncs a file someone else wrote (a staged output written by a stage or a library); fsync covers every
/// write to the inode, whichever descriptor made it.
/// Gives a file written by a third-party writer the usual `rw-r--r--`: writers that go through their own temp
/// file (the safetensors crate's) leave it owner-only, which would hide artifacts from the other users of a
/// shared store.
pub(crate) fn make_readable(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(StoreError::io(path))?.permissions().mode();
        if mode & 0o044 != 0o044 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o644)).map_err(StoreError::io(path))?;
        }
    }
    Ok(())
}

pub fn sync_file(path: &Path) -> Result<(), StoreError> {
    File::open(path).and_then(|f| f.sync_all()).map_err(StoreError::io(path))
}

/// Writes a file that is about to be published as part of a temp folder: the folder's rename is the atomic
/// step, so the file only needs to be on the disk before it.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut f = File::create(path).map_err(StoreError::io(path))?;
    f.write_all(bytes).map_err(StoreError::io(path))?;
    f.sync_all().map_err(StoreError::io(path))
}

/// Replaces `path` by `bytes` atomically (temp file, fsync, rename, fsync of the folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(StoreError::io(f.temp_path()))?;
    f.commit()
}

/// Replaces `path` atomically with a file that `fill` writes at the temp path it is given (for third-party
/// writers that want a path, not a `Write`, such as the safetensors crate's streaming serialiser). The temp file
/// is fsynced, made readable, renamed over `path`, and the folder fsynced; when `fill` fails it is removed.
pub fn replace_file_with<T, E: From<StoreError>>(path: &Path, fill: impl FnOnce(&Path) -> Result<T, E>) -> Result<T, E> {
    let (parent, tmp) = temp_beside(path)?;
    fs::create_dir_all(&parent).map_err(StoreError::io(&parent))?;
    let result = fill(&tmp).and_then(|value| {
        make_readable(&tmp)?;
        sync_file(&tmp)?;
        fs::rename(&tmp, path).map_err(StoreError::io(path))?;
        sync_dir(&parent)?;
        Ok(value)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A file written by streaming and published by [`AtomicFile::commit`]. Dropped without a commit (an error,
/// a panic), it removes its temp file and leaves the target as it was.
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
    /// Set once the rename succeeded; until then, dropping removes the temp file.
    published: bool,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile, StoreError> {
        let (parent, tmp) = temp_beside(path)?;
        fs::create_dir_all(&parent).map_err(StoreError::io(&parent))?;
        let file = File::create(&tmp).map_err(StoreError::io(&tmp))?;
        Ok(AtomicFile { target: path.to_path_buf(), tmp, file: Some(BufWriter::with_capacity(1 << 20, file)), published: false })
    }

    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Flushes and fsyncs the temp file, renames it over the target and fsyncs the folder.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let writer = self.file.take().expect("an uncommitted AtomicFile holds its file");
        let file = writer.into_inner().map_err(|e| StoreError::Io { path: self.tmp.clone(), source: e.into_error() })?;
        file.sync_all().map_err(StoreError::io(&self.tmp))?;
        drop(file);
        fs::rename(&self.tmp, &self.target).map_err(StoreError::io(&self.target))?;
        self.published = true;
        sync_dir(&parent_of(&self.target))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("an uncommitted AtomicFile holds its file").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("an uncommitted AtomicFile holds its file").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.published {
            self.file.take();
            // Best effort: the temp name marks it as garbage anyway, and `remove_stale_temps` finds it later.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Removes the temp files of `name` in `dir` that killed writers left behind; returns how many. Only call it
/// where no other process writes `name` at the same time (under a lock, or in a folder owned by one build).
pub fn remove_stale_temps(dir: &Path, name: &str) -> Result<usize, StoreError> {
    let prefix = temp_prefix(name);
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::Io { path: dir.to_path_buf(), source: e }),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(StoreError::io(dir))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            fs::remove_file(entry.path()).map_err(StoreError::io(entry.path()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Publishes the complete folder `tmp` as `target`: the folder is fsynced, an existing `target` is first moved
/// to `aside` (a path on the same file system that nobody reads) and removed once the new one is in place, and
/// the parent folder is fsynced so that the rename survives a crash. Readers see the old or the new folder.
pub fn publish_dir(tmp: &Path, target: &Path, aside: &Path) -> Result<(), StoreError> {
    sync_dir(tmp)?;
    let parent = parent_of(target);
    if !parent.is_dir() {
        // A new folder (the first artifact of a stage) is itself an entry of its parent, to be fsynced too.
        fs::create_dir_all(&parent).map_err(StoreError::io(&parent))?;
        sync_dir(&parent_of(&parent))?;
    }
    let had_old = target.exists();
    if had_old {
        fs::rename(target, aside).map_err(StoreError::io(target))?;
    }
    fs::rename(tmp, target).map_err(StoreError::io(target))?;
    sync_dir(&parent)?;
    if had_old {
        fs::remove_dir_all(aside).map_err(StoreError::io(aside))?;
    }
    Ok(())
}

/// Whether `dir` holds exactly `files` (relative `/`-separated paths and their bytes), and nothing else.
fn folder_holds(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<bool, StoreError> {
    let on_disk = crate::source::SourceTree::scan_uncached(dir, |_| true)?;
    if on_disk.files.len() != files.len() {
        return Ok(false);
    }
    let mut wanted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    wanted.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(on_disk.files.iter().zip(wanted).all(|(have, (rel, bytes))| {
        have.rel == *rel && have.size == bytes.len() as u64 && have.blake3 == crate::ContentHash::of(bytes)
    }))
}

/// Builds the folder `out` atomically: `fill` writes into a fresh sibling temp folder (streaming large files
/// there is fine; it need not fsync them), which is then fsynced file by file and published by rename. When
/// `fill` fails, the temp folder is removed and `out` stays as it was.
pub fn build_folder_atomically<T, E: From<StoreError>>(out: &Path, fill: impl FnOnce(&Path) -> Result<T, E>) -> Result<T, E> {
    let (parent, tmp) = temp_beside(out)?;
    fs::create_dir_all(&tmp).map_err(StoreError::io(&tmp))?;
    let result = fill(&tmp).and_then(|value| {
        sync_tree(&tmp)?;
        let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let aside = parent.join(format!(".{name}.old-{}-{}", std::process::id(), NEXT_TEMP.fetch_add(1, Ordering::Relaxed)));
        publish_dir(&tmp, out, &aside)?;
        Ok(value)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// fsyncs every file and folder below `dir` (not `dir` itself: [`publish_dir`] does that).
fn sync_tree(dir: &Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let path = entry.map_err(StoreError::io(dir))?.path();
        let meta = fs::symlink_metadata(&path).map_err(StoreError::io(&path))?;
        if meta.is_dir() {
            sync_tree(&path)?;
            sync_dir(&path)?;
        } else if meta.is_file() {
            make_readable(&path)?;
            sync_file(&path)?;
        }
    }
    Ok(())
}

/// Writes `files` as the folder `out`, atomically (see [`build_folder_atomically`]). When `out` already holds
/// exactly these files, nothing is written (its mtimes stay, so tools that watch it see no change) and it
/// returns false.
pub fn write_folder_atomically(out: &Path, files: &[(String, Vec<u8>)]) -> Result<bool, StoreError> {
    if out.is_dir() && folder_holds(out, files)? {
        return Ok(false);
    }
    build_folder_atomically(out, |tmp| {
        for (rel, bytes) in files {
            let path = tmp.join(rel);
            let dir = parent_of(&path);
            fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
            fs::write(&path, bytes).map_err(StoreError::io(&path))?;
        }
        Ok::<_, StoreError>(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(names(d.path()), ["f.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        write_atomic(&p, b"old").unwrap();
        // Dropped before its commit, as on an error half-way through a stream.
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"half of the new").unwrap();
        assert_eq!(names(d.path()).len(), 2, "the temp file exists while writing");
        drop(f);
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(names(d.path()), ["f"]);
        // A rename that cannot happen (the target is a non-empty folder) fails and leaves no temp either.
        let blocked = d.path().join("dir");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(names(d.path()), ["dir", "f"]);
    }

    #[test]
    fn stale_temps_are_found_by_name() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(format!("{}999-0", temp_prefix("state"))), b"x").unwrap();
        fs::write(d.path().join("state"), b"kept").unwrap();
        assert_eq!(remove_stale_temps(d.path(), "state").unwrap(), 1);
        assert_eq!(names(d.path()), ["state"]);
        assert_eq!(remove_stale_temps(&d.path().join("missing"), "state").unwrap(), 0);
    }

    #[test]
    #[cfg(unix)]
    fn owner_only_files_are_published_readable() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("model");
        build_folder_atomically::<_, StoreError>(&out, |tmp| {
            let f = tmp.join("model.safetensors");
            fs::write(&f, b"w").unwrap();
            fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
            Ok(())
        })
        .unwrap();
        let mode = fs::metadata(out.join("model.safetensors")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn folders_are_replaced_whole_and_only_when_they_differ() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("report");
        let files = vec![("a.md".to_string(), b"a".to_vec()), ("sub/b.svg".to_string(), b"b".to_vec())];
        assert!(write_folder_atomically(&out, &files).unwrap());
        assert!(!write_folder_atomically(&out, &files).unwrap(), "same bytes: nothing written");
        let fewer = vec![("a.md".to_string(), b"A".to_vec())];
        assert!(write_folder_atomically(&out, &fewer).unwrap());
        assert_eq!(fs::read(out.join("a.md")).unwrap(), b"A");
        assert!(!out.join("sub").exists(), "the old folder is replaced, not merged");
        assert_eq!(names(d.path()), ["report"], "no temp or old folder is left");
        let failed = build_folder_atomically(&out, |tmp| {
            fs::write(tmp.join("half"), b"x").unwrap();
            Err::<(), _>(StoreError::BadOutputName("stop".into()))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read(out.join("a.md")).unwrap(), b"A", "a failed build keeps the old folder");
        assert_eq!(names(d.path()), ["report"]);
    }
}
