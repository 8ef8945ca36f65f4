//! `inscl-exec`: the `inscl` commands with libtorch linked. `inscl` hands it the commands that compute (`run`,
//! `report`, `ingest`, `encode`, `generate`, `score`); it serves every other command too.

mod tools;

use clap::Parser;
use inscl::CliError;
use inscl::args::Cli;
use inscl::commands::Linked;
use inscl_dag::DagError;
use inscl_pipeline::{Graph, RunOptions, RunSummary};
use inscl_store::Store;
use std::path::{Path, PathBuf};

struct Exec;

impl Linked for Exec {
    fn run(&self, store: &Store, pipeline: &str, graph: &Graph, opts: &RunOptions) -> Result<RunSummary, DagError> {
        inscl_exec::run(store, pipeline, graph, opts)
    }

    fn encode(&self, encoder: &str, model: Option<PathBuf>, device: &str, texts: &[String]) -> Result<i32, CliError> {
        tools::encode(encoder, model, device, texts)
    }

    fn generate(&self, model: &Path, chat: bool, max_new_tokens: usize, device: &str, prompt: &str) -> Result<i32, CliError> {
        tools::generate(model, chat, max_new_tokens, device, prompt)
    }

    fn score(&self, model: &Path, device: &str, texts: &[String]) -> Result<i32, CliError> {
        tools::score(model, device, texts)
    }
}

fn main() {
    inscl::finish(inscl::commands::dispatch(Cli::parse(), Some(&Exec)));
}
