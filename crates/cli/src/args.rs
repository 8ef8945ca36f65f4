use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "inscl", version, about = "InsCL: instruction-based continual learning, stage by stage, cached by content")]
pub struct Cli {
    /// The artifact store.
    #[arg(long, global = true, default_value = "artifacts", env = "INSCL_STORE")]
    pub store: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: build every stage instance the store lacks.
    Run {
        pipeline: PathBuf,
        /// Run only this stage's instances (their inputs must be cached).
        #[arg(long)]
        only: Option<String>,
        /// Rebuild this stage's instances even if cached (repeatable).
        #[arg(long)]
        force: Vec<String>,
        /// Show what would run; run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show each stage instance of a pipeline as cached, missing or stale, and why.
    Status { pipeline: PathBuf },
    /// Show an artifact (by key prefix, stage/key prefix, or path) or a Parquet file: schema, provenance, rows.
    Show {
        target: String,
        #[arg(long, default_value_t = 5)]
        head: usize,
    },
    /// Check every artifact's files against its manifest; quarantine damaged ones. Exits 1 if any was damaged.
    Verify,
    /// Remove artifacts that no pipeline's last run references.
    Gc {
        #[arg(long)]
        dry_run: bool,
    },
    /// Ingest a dataset folder into the store.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// Wasserstein distance between two embedding sets (Parquet: `embedding` list column, optional `weight`),
    /// with cosine cost, as the paper's `ot.emd2(a, b, ot.dist(A, B, metric='cosine'))`.
    Emd {
        #[arg(long)]
        a: PathBuf,
        #[arg(long)]
        b: PathBuf,
        /// Ignore the `weight` columns: every point weighs 1/n.
        #[arg(long)]
        uniform: bool,
        /// exact (network simplex) or sinkhorn (log-domain, entropic).
        #[arg(long, default_value = "exact")]
        solver: String,
        /// Entropic regularisation of the sinkhorn solver.
        #[arg(long, default_value_t = 0.05)]
        reg: f64,
    },
    /// Write the generated CPU default dataset (natural-instructions format) to a folder.
    Synth {
        /// Generator params (TOML); defaults when absent.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// A folder in natural-instructions format (tasks/*.json, splits/default/*_tasks.txt).
    Superni {
        dir: PathBuf,
        /// SuperNI category → InsCL category mapping.
        #[arg(long, default_value = "pipelines/categories/superni16.toml")]
        mapping: PathBuf,
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        max_per_task: Option<usize>,
    },
}
