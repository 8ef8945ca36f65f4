//! A pipeline file, read and checked whole: its dataset, orders and methods, and every stage section's values
//! (see [`crate::validate`]). What fails here fails before anything runs, `--dry-run` and `status` included.

use crate::error::PipelineError;
use crate::sections::{SECTION_NAMES, Sections};
use inscl_data::{CategoryMapping, IngestParams};
use inscl_sample::ReplayMethod;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetToml {
    path: PathBuf,
    /// The category mapping file; default: SuperNI's 16 InsCL categories, built into the binary.
    #[serde(default)]
    mapping: Option<PathBuf>,
    #[serde(default = "default_test_fraction")]
    test_fraction: f64,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default)]
    max_per_task: Option<usize>,
}

fn default_test_fraction() -> f64 {
    0.2
}

fn default_seed() -> u64 {
    1
}

// No deny_unknown_fields here: serde ignores it with `flatten`; unknown keys are rejected by name in parse().
#[derive(Debug, Clone, Deserialize)]
struct PipelineToml {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    methods: Vec<ReplayMethod>,
    #[serde(default)]
    experts: bool,
    /// Replicates: each seed sets `[replay] seed`, `[finetune] seed` and `[model] init_seed` of its stages.
    #[serde(default)]
    seeds: Option<Vec<u64>>,
    /// Also train one multi-task model per order and seed on all of the order's categories at once.
    #[serde(default)]
    joint: bool,
    dataset: DatasetToml,
    #[serde(default)]
    orders: BTreeMap<String, Vec<String>>,
    /// `[executor.slurm]`: a runtime choice, in no stage key ([`crate::executor`]).
    #[serde(default)]
    executor: Option<toml::Value>,
    /// Sections of the stages after ingest (`replay`, `insinfo`, `model`, `finetune`, ...), typed by
    /// [`Sections::parse`].
    #[serde(flatten)]
    stage_sections: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone)]
pub struct DatasetConfig {
    /// Resolved against the pipeline file's folder.
    pub path: PathBuf,
    pub mapping_path: PathBuf,
    pub mapping: CategoryMapping,
    pub ingest: IngestParams,
}

/// A parsed and checked pipeline file.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub file: PathBuf,
    pub description: String,
    pub dataset: DatasetConfig,
    pub orders: BTreeMap<String, Vec<String>>,
    pub methods: Vec<ReplayMethod>,
    pub experts: bool,
    /// The replicates, in the file's order: each seed runs every method, expert and joint model again.
    pub seeds: Vec<u64>,
    /// Whether `seeds` was given: then each replicate's sections take its seed, and stage ids name it.
    pub seeded: bool,
    pub joint: bool,
    /// Every stage section, defaults filled in, values checked.
    pub sections: Sections,
    /// Where the model folders and tables the sections do not name are found ([`crate::models`]).
    pub models: PathBuf,
    /// Where the instances run besides locally (`[executor.slurm]`); never part of a key.
    pub executor: crate::executor::ExecutorConfig,
}

impl Pipeline {
    /// Reads and checks `file`, with the default models folder ([`crate::models::default_models_dir`]).
    pub fn load(file: &Path) -> Result<Pipeline, PipelineError> {
        Pipeline::load_in(file, &crate::models::default_models_dir())
    }

    /// Reads and checks `file`, finding unnamed model folders and tables under `models`.
    pub fn load_in(file: &Path, models: &Path) -> Result<Pipeline, PipelineError> {
        let text = std::fs::read_to_string(file).map_err(|source| PipelineError::Io { path: file.to_path_buf(), source })?;
        Pipeline::parse_in(file, &text, models)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Pipeline, PipelineError> {
        Pipeline::parse_in(file, text, &crate::models::default_models_dir())
    }

    pub fn parse_in(file: &Path, text: &str, models: &Path) -> Result<Pipeline, PipelineError> {
        let err = |problem: String| PipelineError::Config { path: file.to_path_buf(), problem };
        let raw: PipelineToml = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        let name = match raw.name {
            Some(n) => n,
            None => file.file_stem().and_then(|s| s.to_str()).unwrap_or("pipeline").to_string(),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(err(format!("name '{name}' must be letters, digits, '-', '_' or '.'")));
        }
        for (i, m) in raw.methods.iter().enumerate() {
            if raw.methods[..i].contains(m) {
                return Err(err(format!("methods names '{m}' twice")));
            }
        }
        for key in raw.stage_sections.keys() {
            if !SECTION_NAMES.contains(&key.as_str()) {
                return Err(err(format!("unknown key '{key}' (stage sections: {})", SECTION_NAMES.join(", "))));
            }
        }
        let sections = Sections::parse(&raw.stage_sections).map_err(|p| err(p.to_string()))?;
        let seeds = match &raw.seeds {
            Some(seeds) => {
                check_seeds(seeds, &raw.stage_sections).map_err(err)?;
                seeds.clone()
            }
            // One replicate, named by the seed its replay draws from.
            None => vec![sections.replay.seed],
        };
        let trains = !raw.orders.is_empty() && (!raw.methods.is_empty() || raw.experts);
        crate::validate::check_sections(&sections, base, models, &raw.methods, trains).map_err(|p| err(p.to_string()))?;
        let d = &raw.dataset;
        if !(d.test_fraction.is_finite() && d.test_fraction > 0.0 && d.test_fraction < 1.0) {
            return Err(err(format!("[dataset] test_fraction: {} must be in (0, 1)", d.test_fraction)));
        }
        if d.max_per_task == Some(0) {
            return Err(err("[dataset] max_per_task: 0 must be at least 1".into()));
        }
        let data_dir = base.join(&d.path);
        if !data_dir.is_dir() {
            return Err(err(format!("[dataset] path: {}: no such folder", data_dir.display())));
        }
        let (mapping_path, mapping) = match &raw.dataset.mapping {
            Some(rel) => {
                let path = base.join(rel);
                let text = std::fs::read_to_string(&path).map_err(|source| PipelineError::Io { path: path.clone(), source })?;
                let mapping = CategoryMapping::from_toml(&path.display().to_string(), &text)?;
                (path, mapping)
            }
            None => (PathBuf::from(inscl_data::SUPERNI16_NAME), CategoryMapping::superni16()),
        };
        let categories = mapping.inscl_categories();
        for (order, cats) in &raw.orders {
            if cats.is_empty() {
                return Err(err(format!("order '{order}' is empty")));
            }
            for (i, c) in cats.iter().enumerate() {
                if !categories.contains(c) {
                    return Err(err(format!("order '{order}' names '{c}', which the mapping never produces (it has: {})", categories.join(", "))));
                }
                if cats[..i].contains(c) {
                    return Err(err(format!("order '{order}' names '{c}' twice")));
                }
            }
        }
        let executor = match &raw.executor {
            Some(v) => crate::executor::parse_executor(v, crate::executor::STAGE_NAMES).map_err(err)?,
            None => Default::default(),
        };
        Ok(Pipeline {
            executor,
            name,
            file: file.to_path_buf(),
            description: raw.description,
            dataset: DatasetConfig {
                path: base.join(&raw.dataset.path),
                mapping_path,
                mapping,
                ingest: IngestParams {
                    test_fraction: raw.dataset.test_fraction,
                    seed: raw.dataset.seed,
                    max_per_task: raw.dataset.max_per_task,
                },
            },
            orders: raw.orders,
            methods: raw.methods,
            experts: raw.experts,
            seeded: raw.seeds.is_some(),
            seeds,
            joint: raw.joint,
            models: models.to_path_buf(),
            sections,
        })
    }
}

/// The seeds of `seeds = [...]`: at least one, none twice, and no section seed beside them (each replicate's seed
/// is written into those keys, so a value there would be silently overridden).
fn check_seeds(seeds: &[u64], sections: &BTreeMap<String, toml::Value>) -> Result<(), String> {
    if seeds.is_empty() {
        return Err("seeds is empty; give at least one seed, or leave seeds out for one replicate".into());
    }
    for (i, s) in seeds.iter().enumerate() {
        if seeds[..i].contains(s) {
            return Err(format!("seeds names {s} twice"));
        }
    }
    for (section, key) in [("replay", "seed"), ("finetune", "seed"), ("model", "init_seed")] {
        if sections.get(section).and_then(|t| t.get(key)).is_some() {
            return Err(format!(
                "[{section}] {key} is set, but seeds = {seeds:?} sets it for each replicate; remove one of them"
            ));
        }
    }
    Ok(())
}

impl Pipeline {
    /// This pipeline with `seeds` set, as if the file had said `seeds = [...]` (tests and scripts).
    pub fn with_seeds(mut self, seeds: &[u64]) -> Pipeline {
        self.seeds = seeds.to_vec();
        self.seeded = true;
        self
    }

    /// The sections of replicate `seed`: with `seeds` given, its seed in every seeded key; else the file's own.
    pub fn sections_for(&self, seed: u64) -> Sections {
        let mut s = self.sections.clone();
        if self.seeded {
            s.replay.seed = seed;
            s.finetune.seed = seed;
            s.model.init_seed = seed as i64;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, body: &str) -> PathBuf {
        std::fs::write(dir.join("m.toml"), "default = \"Misc\"\n[categories]\nA = [\"x\"]\n").unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let p = dir.join("p.toml");
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn parses_and_resolves_paths_against_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "methods = [\"none\"]\n[dataset]\npath = \"data\"\nmapping = \"m.toml\"\n[orders]\nx = [\"A\", \"Misc\"]\n[replay]\nalpha = 5\n");
        let pl = Pipeline::load(&p).unwrap();
        assert_eq!(pl.name, "p");
        assert_eq!(pl.dataset.path, d.path().join("data"));
        assert_eq!(pl.dataset.ingest, IngestParams::default());
        assert_eq!(pl.sections.replay.alpha, 5);
    }

    #[test]
    fn rejects_bad_orders_methods_and_keys() {
        let d = tempfile::tempdir().unwrap();
        let base = "[dataset]\npath = \"data\"\nmapping = \"m.toml\"\n";
        let e = Pipeline::load(&write(d.path(), &format!("{base}[orders]\nx = [\"A\", \"Nope\"]\n"))).unwrap_err();
        assert!(e.to_string().contains("order 'x' names 'Nope'"), "{e}");
        let e = Pipeline::load(&write(d.path(), &format!("methods = [\"magic\"]\n{base}"))).unwrap_err();
        assert!(e.to_string().contains("unknown variant `magic`"), "{e}");
        let e = Pipeline::load(&write(d.path(), &format!("methods = [\"none\", \"none\"]\n{base}"))).unwrap_err();
        assert!(e.to_string().contains("'none' twice"), "{e}");
        let e = Pipeline::load(&write(d.path(), &format!("{base}test_fraction = 1.0\n"))).unwrap_err();
        assert!(e.to_string().contains("[dataset] test_fraction"), "{e}");
        let e = Pipeline::load(&write(d.path(), "[dataset]\npath = \"nowhere\"\nmapping = \"m.toml\"\n")).unwrap_err();
        assert!(e.to_string().contains("[dataset] path"), "{e}");
        let e = Pipeline::load(&write(d.path(), &format!("{base}[finetune]\nlr = -1.0\n"))).unwrap_err();
        assert!(e.to_string().contains("p.toml: [finetune] lr: -1 must be a positive number"), "{e}");
        let e = Pipeline::load(&write(d.path(), &format!("{base}[bogus]\na = 1\n"))).unwrap_err();
        assert!(e.to_string().contains("unknown key 'bogus'"), "{e}");
        let e = Pipeline::load(&write(d.path(), &format!("{base}[orders]\nx = [\"A\", \"A\"]\n"))).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn seeds_make_replicates_and_refuse_section_seeds() {
        let d = tempfile::tempdir().unwrap();
        let base = "[dataset]\npath = \"data\"\nmapping = \"m.toml\"\n";
        let pl = Pipeline::load(&write(d.path(), base)).unwrap();
        assert_eq!((pl.seeds.clone(), pl.seeded), (vec![1], false));
        assert_eq!(pl.sections_for(1).finetune.seed, 1);
        let pl = Pipeline::load(&write(d.path(), &format!("seeds = [3, 4]\njoint = true\n{base}"))).unwrap();
        assert_eq!((pl.seeds.clone(), pl.seeded, pl.joint), (vec![3, 4], true, true));
        let s = pl.sections_for(4);
        assert_eq!((s.replay.seed, s.finetune.seed, s.model.init_seed), (4, 4, 4));
        for (top, section, want) in [
            ("seeds = []\n", "", "seeds is empty"),
            ("seeds = [2, 2]\n", "", "seeds names 2 twice"),
            ("seeds = [1]\n", "[replay]\nseed = 3\n", "[replay] seed is set"),
            ("seeds = [1]\n", "[model]\ninit_seed = 3\n", "[model] init_seed is set"),
        ] {
            let body = format!("{top}{base}{section}");
            let e = Pipeline::load(&write(d.path(), &body)).unwrap_err();
            assert!(e.to_string().contains(want), "{body}: {e}");
        }
    }
}
