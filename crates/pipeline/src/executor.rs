//! `[executor.slurm]`: where a pipeline's stage instances run when `inscl run --executor slurm` puts them on a
//! Slurm cluster. A runtime choice, like `--jobs`: it enters no stage key, so a cluster run and a local run
//! build the same artifacts, byte for byte.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The sbatch resources of a job; a per-stage table (`[executor.slurm.finetune]`) overrides the defaults key
/// by key.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmResources {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// `--time`, as sbatch takes it (`1:00:00`).
    pub time: Option<String>,
    /// `--mem` (`8G`).
    pub mem: Option<String>,
    /// `--cpus-per-task`; the worker runs this many bundled instances at once.
    pub cpus: Option<u32>,
    /// `--gres` (`gpu:1`).
    pub gres: Option<String>,
    /// `--gpus` (`1`, `a100:2`).
    pub gpus: Option<String>,
    /// More sbatch arguments, passed as they are.
    pub extra: Option<Vec<String>>,
    /// Instances of this stage per job (default 1): small ones (sample, evaluate, metrics) share a job.
    pub bundle: Option<usize>,
}

impl SlurmResources {
    /// `self`, with `over`'s keys where it sets them.
    pub fn merged(&self, over: &SlurmResources) -> SlurmResources {
        SlurmResources {
            partition: over.partition.clone().or_else(|| self.partition.clone()),
            account: over.account.clone().or_else(|| self.account.clone()),
            qos: over.qos.clone().or_else(|| self.qos.clone()),
            time: over.time.clone().or_else(|| self.time.clone()),
            mem: over.mem.clone().or_else(|| self.mem.clone()),
            cpus: over.cpus.or(self.cpus),
            gres: over.gres.clone().or_else(|| self.gres.clone()),
            gpus: over.gpus.clone().or_else(|| self.gpus.clone()),
            extra: over.extra.clone().or_else(|| self.extra.clone()),
            bundle: over.bundle.or(self.bundle),
        }
    }
}

/// The whole `[executor.slurm]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmConfig {
    pub defaults: SlurmResources,
    /// Jobs in flight at most (default 100).
    pub max_jobs: usize,
    /// Resubmissions of a failed job's unbuilt instances before the run fails (default 0).
    pub retries: u32,
    /// Per-stage overrides, by stage name.
    pub stages: BTreeMap<String, SlurmResources>,
}

impl SlurmConfig {
    /// The resources of `stage`'s jobs.
    pub fn for_stage(&self, stage: &str) -> SlurmResources {
        self.stages.get(stage).map_or_else(|| self.defaults.clone(), |o| self.defaults.merged(o))
    }
}

/// `[executor]`: only `slurm` so far (local needs no section).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutorConfig {
    pub slurm: Option<SlurmConfig>,
}

use crate::stages::{
    Ingest, annotate::Annotate, base::{Convert, Init0, Tokenizer}, distance::Distance, embed::Embed,
    evaluate::{Evaluate, Metrics, Testset}, insinfo::InsInfo, report::Report, sample::ReplayMix, train::Finetune,
};
use inscl_dag::Stage;

/// The stages a per-stage table may name, from the stages' own names.
pub const STAGE_NAMES: &[&str] = &[
    Ingest::NAME, Tokenizer::NAME, Init0::NAME, Convert::NAME, Annotate::NAME, Embed::NAME, Distance::NAME, InsInfo::NAME,
    ReplayMix::NAME, Finetune::NAME, Testset::NAME, Evaluate::NAME, Metrics::NAME, Report::NAME,
];

const RESOURCE_KEYS: [&str; 10] = ["partition", "account", "qos", "time", "mem", "cpus", "gres", "gpus", "extra", "bundle"];

/// Parses `[executor]`; `stages` are the pipeline's stage names, the only tables `[executor.slurm]` may hold.
pub fn parse_executor(value: &toml::Value, stages: &[&str]) -> Result<ExecutorConfig, String> {
    let table = value.as_table().ok_or("[executor] must be a table")?;
    let mut out = ExecutorConfig::default();
    for (k, v) in table {
        match k.as_str() {
            "slurm" => out.slurm = Some(parse_slurm(v, stages)?),
            other => return Err(format!("[executor] unknown key '{other}' (executors: slurm)")),
        }
    }
    Ok(out)
}

fn parse_slurm(value: &toml::Value, stages: &[&str]) -> Result<SlurmConfig, String> {
    let table = value.as_table().ok_or("[executor.slurm] must be a table")?;
    let (mut defaults, mut per_stage) = (toml::Table::new(), BTreeMap::new());
    let (mut max_jobs, mut retries) = (100usize, 0u32);
    let resources = |where_: &str, t: toml::Table| -> Result<SlurmResources, String> {
        let r: SlurmResources = toml::Value::Table(t).try_into().map_err(|e| format!("[{where_}] {e}"))?;
        if r.cpus == Some(0) || r.bundle == Some(0) {
            return Err(format!("[{where_}] cpus and bundle must be at least 1"));
        }
        Ok(r)
    };
    for (k, v) in table {
        match (k.as_str(), v) {
            ("max_jobs", toml::Value::Integer(n)) if *n >= 1 => max_jobs = *n as usize,
            ("max_jobs", _) => return Err("[executor.slurm] max_jobs must be an integer of at least 1".into()),
            ("retries", toml::Value::Integer(n)) if *n >= 0 => retries = *n as u32,
            ("retries", _) => return Err("[executor.slurm] retries must be an integer of at least 0".into()),
            // One job per order's chain is designed but not built: refuse rather than run it another way.
            ("chain", _) => return Err("[executor.slurm] chain: running a whole chain as one job is not implemented".into()),
            (s, toml::Value::Table(t)) if stages.contains(&s) => {
                per_stage.insert(s.to_string(), resources(&format!("executor.slurm.{s}"), t.clone())?);
            }
            (key, _) if RESOURCE_KEYS.contains(&key) => {
                defaults.insert(key.to_string(), v.clone());
            }
            (key, _) => {
                return Err(format!(
                    "[executor.slurm] unknown key '{key}' (keys: max_jobs, retries, {}; tables: {})",
                    RESOURCE_KEYS.join(", "),
                    stages.join(", ")
                ));
            }
        }
    }
    Ok(SlurmConfig { defaults: resources("executor.slurm", defaults)?, max_jobs, retries, stages: per_stage })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExecutorConfig, String> {
        let v: toml::Table = toml::from_str(text).unwrap();
        parse_executor(&v["executor"], &["finetune", "evaluate"])
    }

    #[test]
    fn stage_tables_override_the_defaults_key_by_key() {
        let c = parse("[executor.slurm]\npartition = \"gpu\"\ntime = \"1:00:00\"\nmax_jobs = 7\nretries = 2\n[executor.slurm.finetune]\ngres = \"gpu:1\"\ntime = \"4:00:00\"\n[executor.slurm.evaluate]\nbundle = 8\n")
            .unwrap()
            .slurm
            .unwrap();
        assert_eq!((c.max_jobs, c.retries), (7, 2));
        let f = c.for_stage("finetune");
        assert_eq!((f.partition.as_deref(), f.time.as_deref(), f.gres.as_deref()), (Some("gpu"), Some("4:00:00"), Some("gpu:1")));
        assert_eq!(c.for_stage("evaluate").bundle, Some(8));
        assert_eq!(c.for_stage("evaluate").time.as_deref(), Some("1:00:00"));
        assert_eq!(c.for_stage("sample"), c.defaults);
    }

    #[test]
    fn unknown_keys_and_unbuilt_options_are_refused_by_name() {
        let e = parse("[executor.slurm]\npartitoin = \"x\"\n").unwrap_err();
        assert!(e.contains("unknown key 'partitoin'"), "{e}");
        let e = parse("[executor.slurm.finetune]\ngress = \"gpu:1\"\n").unwrap_err();
        assert!(e.contains("[executor.slurm.finetune]") && e.contains("gress"), "{e}");
        let e = parse("[executor.slurm]\nchain = true\n").unwrap_err();
        assert!(e.contains("chain") && e.contains("not implemented"), "{e}");
        let e = parse("[executor.kubernetes]\n").unwrap_err();
        assert!(e.contains("unknown key 'kubernetes'"), "{e}");
        let e = parse("[executor.slurm]\nmax_jobs = 0\n").unwrap_err();
        assert!(e.contains("max_jobs"), "{e}");
    }
}
