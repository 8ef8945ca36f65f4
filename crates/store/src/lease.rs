//! Build leases: which process is building a key right now, in a form that works on shared filesystems.
//!
//! flock is emulated, node-local or absent on NFS and Lustre, so the build lock of a key is a lease file
//! `<store>/.locks/<key>.lease` naming its holder (host, pid, Slurm job id, a nonce) and a heartbeat that a
//! thread of the holder refreshes. It is created by `link(2)` of a fully written temp file, which is atomic on
//! NFS too. A lease whose heartbeat is older than [`stale_after`], or whose holder is a dead process on this
//! host, is broken. Correctness never rests on the lease: artifacts are published by rename of a unique temp
//! dir on the same filesystem, so two builders that both believe they hold a key waste work, nothing more.

use crate::error::StoreError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Heartbeat period in seconds; a runtime knob (tests shorten it), never part of a key.
const HEARTBEAT_ENV: &str = "INSCL_LEASE_HEARTBEAT_S";

/// Who holds a lease, and when it last said it was alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseHolder {
    pub host: String,
    pub pid: u32,
    /// `SLURM_JOB_ID` of the holder, when it runs inside a Slurm job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job_id: Option<String>,
    /// Distinguishes two leases of one process (a lease broken and taken again).
    pub nonce: String,
    pub heartbeat_unix_s: u64,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// This machine's name, as the kernel knows it (the lease and the manifest record it).
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

pub fn heartbeat() -> Duration {
    let secs = std::env::var(HEARTBEAT_ENV).ok().and_then(|v| v.parse::<f64>().ok()).filter(|s| *s > 0.0).unwrap_or(10.0);
    Duration::from_secs_f64(secs)
}

/// A lease whose heartbeat is older than this is abandoned: six missed heartbeats.
pub fn stale_after() -> Duration {
    heartbeat() * 6
}

impl LeaseHolder {
    pub fn this_process() -> LeaseHolder {
        LeaseHolder {
            host: host_name(),
            pid: std::process::id(),
            slurm_job_id: std::env::var("SLURM_JOB_ID").ok().filter(|j| !j.is_empty()),
            nonce: format!("{}-{}", std::process::id(), nanos()),
            heartbeat_unix_s: now_unix(),
        }
    }

    /// Why this lease may be broken, or `None` while its holder may still be alive.
    pub fn stale_reason(&self, now_unix_s: u64) -> Option<String> {
        let age = now_unix_s.saturating_sub(self.heartbeat_unix_s);
        if age > stale_after().as_secs() {
            return Some(format!("no heartbeat for {age} s"));
        }
        // A holder on this host whose process is gone will never heartbeat again: no need to wait.
        if self.host == host_name() && !Path::new(&format!("/proc/{}", self.pid)).exists() {
            return Some(format!("process {} on {} is gone", self.pid, self.host));
        }
        None
    }
}

fn read_holder(path: &Path) -> Option<LeaseHolder> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Writes `holder` to a temp file beside `path` and returns the temp file's path.
fn write_temp(path: &Path, holder: &LeaseHolder) -> Result<PathBuf, StoreError> {
    let tmp = path.with_extension(format!("lease.tmp-{}", holder.nonce));
    crate::atomic::write_synced(&tmp, &serde_json::to_vec(holder).expect("a lease serialises"))?;
    Ok(tmp)
}

/// A held lease: heartbeats until dropped, then removes its file (if nobody broke it meanwhile).
pub(crate) struct Lease {
    path: PathBuf,
    holder: LeaseHolder,
    stop: Arc<(Mutex<bool>, Condvar)>,
    // Set by the heartbeat thread; read by the tests (the build itself needs no answer: the publish is atomic).
    #[cfg_attr(not(test), allow(dead_code))]
    lost: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Lease {
    /// Takes the lease at `path`, waiting while a live holder has it. Returns the lease and whether it waited
    /// (another process was building the key).
    pub(crate) fn acquire(path: &Path) -> Result<(Lease, bool), StoreError> {
        let mut waited = false;
        let mut pause = Duration::from_millis(20);
        loop {
            let holder = LeaseHolder::this_process();
            let tmp = write_temp(path, &holder)?;
            // link(2) fails if the lease exists, and the lease appears whole: it is the temp file.
            let linked = fs::hard_link(&tmp, path);
            let _ = fs::remove_file(&tmp);
            match linked {
                Ok(()) => return Ok((Lease::start(path.to_path_buf(), holder), waited)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::Io { path: path.to_path_buf(), source: e }),
            }
            match read_holder(path) {
                Some(other) if other.stale_reason(now_unix()).is_none() => {
                    waited = true;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                // Stale, unreadable (a writer killed between create and write cannot happen with link, but a
                // damaged file can) or gone meanwhile: break it by renaming it aside, which only one breaker wins.
                _ => {
                    let aside = path.with_extension(format!("lease.broken-{}", nanos()));
                    if fs::rename(path, &aside).is_ok() {
                        let _ = fs::remove_file(&aside);
                    }
                }
            }
        }
    }

    fn start(path: PathBuf, holder: LeaseHolder) -> Lease {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let lost = Arc::new(AtomicBool::new(false));
        let (p, h, s, l) = (path.clone(), holder.clone(), stop.clone(), lost.clone());
        let thread = std::thread::spawn(move || beat(&p, h, &s, &l));
        Lease { path, holder, stop, lost, thread: Some(thread) }
    }

    /// Who holds this lease (recorded in the manifest of what it builds).
    pub(crate) fn holder(&self) -> &LeaseHolder {
        &self.holder
    }

    /// Whether another process broke this lease (the holder was too slow to heartbeat).
    #[cfg(test)]
    pub(crate) fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    fn ours(&self) -> bool {
        read_holder(&self.path).is_some_and(|h| h.nonce == self.holder.nonce)
    }
}

/// The heartbeat thread: rewrites the lease by rename every period while it is still ours.
fn beat(path: &Path, mut holder: LeaseHolder, stop: &(Mutex<bool>, Condvar), lost: &AtomicBool) {
    let period = heartbeat();
    let mut stopped = stop.0.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let (guard, _) = stop.1.wait_timeout(stopped, period).unwrap_or_else(|e| e.into_inner());
        stopped = guard;
        if *stopped {
            return;
        }
        if !read_holder(path).is_some_and(|h| h.nonce == holder.nonce) {
            lost.store(true, Ordering::SeqCst);
            return;
        }
        holder.heartbeat_unix_s = now_unix();
        if let Ok(tmp) = write_temp(path, &holder) {
            if fs::rename(&tmp, path).is_err() {
                let _ = fs::remove_file(&tmp);
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        *self.stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.ours() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether a live holder has the lease at `path` now (for `gc`, which must not remove a live build's temp dir).
pub(crate) fn is_held(path: &Path) -> bool {
    read_holder(path).is_some_and(|h| h.stale_reason(now_unix()).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lease");
        let (first, waited) = Lease::acquire(&path).unwrap();
        assert!(!waited);
        let held = read_holder(&path).unwrap();
        assert_eq!((held.pid, held.host.clone()), (std::process::id(), host_name()));
        assert!(is_held(&path));
        let p = path.clone();
        let second = std::thread::spawn(move || Lease::acquire(&p).map(|(l, w)| (l.holder().nonce.clone(), w)).unwrap());
        std::thread::sleep(Duration::from_millis(150));
        assert!(!second.is_finished(), "the second taker waits while the first holds the lease");
        drop(first);
        let (nonce, waited) = second.join().unwrap();
        assert!(waited);
        assert_ne!(nonce, held.nonce);
        assert!(!path.exists(), "the second lease was dropped too");
    }

    #[test]
    fn stale_and_dead_leases_are_broken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lease");
        // A holder on another host whose heartbeat is an hour old.
        let old = LeaseHolder {
            host: "some-other-node".into(),
            pid: 1,
            slurm_job_id: Some("77".into()),
            nonce: "x".into(),
            heartbeat_unix_s: now_unix() - 3600,
        };
        fs::write(&path, serde_json::to_vec(&old).unwrap()).unwrap();
        assert!(old.stale_reason(now_unix()).unwrap().contains("no heartbeat"));
        assert!(!is_held(&path));
        let (lease, waited) = Lease::acquire(&path).unwrap();
        assert!(!waited, "a stale lease is broken, not waited for");
        assert_eq!(read_holder(&path).unwrap().nonce, lease.holder().nonce);
        drop(lease);
        // A fresh heartbeat from a process of this host that no longer exists.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = LeaseHolder { host: host_name(), pid, slurm_job_id: None, nonce: "y".into(), heartbeat_unix_s: now_unix() };
        assert!(dead.stale_reason(now_unix()).unwrap().contains("is gone"));
        fs::write(&path, serde_json::to_vec(&dead).unwrap()).unwrap();
        let (lease, waited) = Lease::acquire(&path).unwrap();
        assert!(!waited);
        assert!(!lease.lost());
    }
}
