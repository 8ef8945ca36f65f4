//! `inscl run --executor slurm` on a real single-node Slurm cluster that this test starts itself (Slurm 22.05
//! from apt, munge, two fake GPUs), and stops by pid at the end, also on failure. Where Slurm cannot be
//! installed (not root, no apt-get), it says so and skips.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn have(program: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success())
}

fn sh(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(cmd).status().is_ok_and(|s| s.success())
}

/// The daemons this test started, stopped by their pid files when dropped.
struct Cluster {
    dir: PathBuf,
    pid_files: Vec<PathBuf>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in self.pid_files.iter().rev() {
            if let Ok(pid) = std::fs::read_to_string(p) {
                let _ = Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
}

fn start_cluster(dir: &Path) -> Option<Cluster> {
    if !have("sbatch") || !have("slurmctld") || !have("munged") {
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if !root || !have("apt-get") {
            eprintln!("SKIPPED: Slurm is not installed and cannot be (needs root and apt-get)");
            return None;
        }
        assert!(
            sh("DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null \
                || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null)"),
            "apt-get install slurm-wlm munge failed"
        );
    }
    let d = dir.display();
    for sub in ["spool", "state", "log"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let ncpu = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let conf = format!(
        "ClusterName=inscltest\nSlurmctldHost=localhost\nSlurmUser=root\nAuthType=auth/munge\n\
         ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
         AccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none\nReturnToService=2\nMinJobAge=600\n\
         GresTypes=gpu\nSlurmdSpoolDir={d}/spool\nStateSaveLocation={d}/state\nSlurmctldPidFile={d}/slurmctld.pid\n\
         SlurmdPidFile={d}/slurmd.pid\nSlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd.log\n\
         NodeName=localhost NodeAddr=127.0.0.1 CPUs={ncpu} RealMemory=1024 Gres=gpu:2 State=UNKNOWN\n\
         PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n"
    );
    std::fs::write(dir.join("slurm.conf"), conf).unwrap();
    std::fs::write(dir.join("gres.conf"), "AutoDetect=off\nNodeName=localhost Name=gpu File=/dev/null\nNodeName=localhost Name=gpu File=/dev/zero\n").unwrap();
    // SAFETY of the env: the clients of this process (and the jobs, which inherit it) find the conf here.
    unsafe { std::env::set_var("SLURM_CONF", dir.join("slurm.conf")) };
    let mut cluster = Cluster { dir: dir.to_path_buf(), pid_files: vec![] };
    let munge_alive = std::fs::read_to_string("/run/munge/munged.pid").is_ok_and(|p| Path::new(&format!("/proc/{}", p.trim())).exists());
    if !munge_alive {
        assert!(sh("mkdir -p /run/munge && chown munge:munge /run/munge && runuser -u munge -- /usr/sbin/munged"), "munged");
        cluster.pid_files.push("/run/munge/munged.pid".into());
    }
    let conf = dir.join("slurm.conf");
    assert!(Command::new("/usr/sbin/slurmctld").arg("-f").arg(&conf).status().unwrap().success(), "slurmctld");
    cluster.pid_files.push(dir.join("slurmctld.pid"));
    assert!(Command::new("/usr/sbin/slurmd").args(["-N", "localhost", "-f"]).arg(&conf).status().unwrap().success(), "slurmd");
    cluster.pid_files.push(dir.join("slurmd.pid"));
    let t = Instant::now();
    while !sh("sinfo --noheader -o %t | grep -q idle") {
        assert!(t.elapsed() < Duration::from_secs(30), "the node never became idle: {}", cluster.dir.display());
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(cluster)
}

/// The small instances go 8 to a job; `INSCL_SLURM_TEST_BUNDLE=1` runs the same test unbundled, to count the
/// jobs bundling saves (the `slurm: N jobs for M instances` line of the CLOSING NOTE output).
fn pipeline(dir: &Path) -> PathBuf {
    let bundle: usize = std::env::var("INSCL_SLURM_TEST_BUNDLE").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let body = tiny_pipeline_toml("sl", &["Classification", "Code", "Summarization", "Generation"])
        + &format!(
            "[executor.slurm]\nmax_jobs = 8\n[executor.slurm.finetune]\ngres = \"gpu:1\"\n\
             [executor.slurm.evaluate]\nbundle = {bundle}\n[executor.slurm.sample]\nbundle = {bundle}\n"
        );
    let p = dir.join("sl.toml");
    std::fs::write(&p, body).unwrap();
    p
}

fn files(store: &Path, stage: &str, name: &str) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = artifact_dirs(store, stage)
        .into_iter()
        .map(|d| (d.file_name().unwrap().to_string_lossy().to_string(), std::fs::read(d.join(name)).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn slurm_runs_every_instance_in_a_job_byte_identical_to_local() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_cluster) = start_cluster(&tmp.path().join("slurm")) else { return };
    // libtorch's float sums depend on its thread count: both sides use one thread per instance.
    unsafe { std::env::set_var("INSCL_CPU_THREADS", "1") };
    let cfg = tmp.path().join("synth.toml");
    std::fs::write(&cfg, "seed = 1\ninstances_per_task = 12\n").unwrap();
    let (local, remote) = (tmp.path().join("local"), tmp.path().join("remote"));
    assert!(run(&local, &["synth", "--config", cfg.to_str().unwrap(), "--out", tmp.path().join("data").to_str().unwrap()]).status.success());
    let p = pipeline(tmp.path());
    let p = p.to_str().unwrap();
    let t = Instant::now();
    let out = run(&local, &["run", p]);
    assert!(out.status.success(), "{}", text(&out));
    let local_s = t.elapsed().as_secs_f64();

    // First Slurm run: a finetune job is cancelled while it runs; the failure names instance, job and log.
    let store = remote.clone();
    let watcher = std::thread::spawn(move || {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(120) {
            let out = Command::new("squeue").args(["--noheader", "--states=RUNNING", "--format=%i"]).output().unwrap();
            for job in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let show = Command::new("scontrol").args(["show", "job", job]).output().unwrap();
                if String::from_utf8_lossy(&show.stdout).contains("/logs/slurm/finetune/") {
                    assert!(Command::new("scancel").arg(job).status().unwrap().success());
                    return Some(job.to_string());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = store;
        None
    });
    let first = inscl().arg("--store").arg(&remote).args(["run", p, "--executor", "slurm"]).env("INSCL_TEST_WRITE_DELAY_MS", "300").output().unwrap();
    let first_text = text(&first);
    eprintln!("{first_text}");
    let cancelled = watcher.join().unwrap().expect("a finetune job was seen running and cancelled");
    assert!(!first.status.success(), "{first_text}");
    assert!(first_text.contains(&format!("Slurm job {cancelled} ended CANCELLED")), "{first_text}");
    assert!(first_text.contains("finetune/") && first_text.contains("/logs/slurm/finetune/"), "{first_text}");

    // Ctrl-C on the driver cancels the run's jobs: none is left queued or running under the run's job name.
    let child = inscl()
        .arg("--store")
        .arg(&remote)
        .args(["run", p, "--executor", "slurm"])
        .env("INSCL_TEST_WRITE_DELAY_MS", "300")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let name = format!("--name=inscl-sl-{}", child.id());
    let listed = |states: &str| {
        let out = Command::new("squeue").args(["--noheader", states, "--format=%i", &name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).split_whitespace().count()
    };
    let t = Instant::now();
    while listed("--states=PENDING,RUNNING") == 0 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let interrupted = child.wait_with_output().unwrap();
    let interrupted_text = text(&interrupted);
    assert!(!interrupted.status.success(), "{interrupted_text}");
    assert!(interrupted_text.contains("interrupted: scancel"), "{interrupted_text}");
    let t = Instant::now();
    while listed("--states=PENDING,RUNNING,CONFIGURING,COMPLETING") > 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(listed("--states=PENDING,RUNNING,CONFIGURING,COMPLETING"), 0, "jobs left after Ctrl-C: {interrupted_text}");

    let t = Instant::now();
    let second = run(&remote, &["run", p, "--executor", "slurm"]);
    assert!(second.status.success(), "{}", text(&second));
    let slurm_s = t.elapsed().as_secs_f64();
    eprintln!("CLOSING NOTE: local run {local_s:.1} s; Slurm rerun after the cancel {slurm_s:.1} s; {}", text(&second).lines().find(|l| l.starts_with("slurm:")).unwrap_or(""));

    // Byte-identical metrics, every instance built inside a job, fake GPUs reached the finetune jobs.
    let (lm, rm) = (files(&local, "metrics", "metrics.parquet"), files(&remote, "metrics", "metrics.parquet"));
    assert_eq!(lm.len(), 3);
    assert!(lm == rm, "metrics differ between local and Slurm runs");
    let stages = ["ingest", "annotate", "embed", "distance", "insinfo", "sample", "finetune", "testset", "evaluate", "metrics", "report"];
    for stage in stages {
        for (key, bytes) in files(&remote, stage, "manifest.json") {
            let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let by = &m["built_by"];
            assert!(by["slurm_job_id"].as_str().is_some_and(|j| !j.is_empty()), "{stage}/{key} was not built in a job: {by}");
            if stage == "finetune" {
                assert!(matches!(by["cuda_visible_devices"].as_str(), Some("0" | "1")), "{stage}/{key}: {by}");
            }
        }
    }
}
