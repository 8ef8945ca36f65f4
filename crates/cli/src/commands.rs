use crate::args::{Cli, Command, IngestCommand};
use crate::error::CliError;
use inscl_dag::DagError;
use inscl_data::{CategoryMapping, IngestParams};
use inscl_pipeline::{Graph, Pipeline, RunOptions, RunSummary, build_graph, ingest_node};
use inscl_store::Store;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod emd;
mod show;
mod slurm;
mod status;
mod tools;

/// What the binary that links libtorch (`inscl-exec`) adds to the commands: computing stage instances, and
/// the tools that load a model.
pub trait Linked {
    fn run(&self, store: &Store, pipeline: &str, graph: &Graph, opts: &RunOptions) -> Result<RunSummary, DagError>;
    fn encode(&self, encoder: &str, model: Option<PathBuf>, device: &str, texts: &[String]) -> Result<i32, CliError>;
    fn generate(&self, model: &Path, chat: bool, max_new_tokens: usize, device: &str, prompt: &str) -> Result<i32, CliError>;
    fn score(&self, model: &Path, device: &str, texts: &[String]) -> Result<i32, CliError>;
}

/// Runs `cli`'s command. Without `linked` (the planner binary), the commands that compute refuse; `main`
/// hands them to `inscl-exec` before they get here.
pub fn dispatch(cli: Cli, linked: Option<&dyn Linked>) -> Result<i32, CliError> {
    let store = || Store::open(&cli.store);
    let verbose = cli.verbose;
    let models = cli.models.clone().unwrap_or_else(inscl_pipeline::models::default_models_dir);
    let needs = |what: &str| linked.ok_or_else(|| CliError::NeedsExec(what.to_string()));
    // A dry run computes nothing, so the planner serves it without libtorch.
    let plan_only = |s: &Store, name: &str, g: &Graph, o: &RunOptions| {
        let refuse = |node: &inscl_dag::Node, _: &inscl_dag::StageCtx| -> Result<inscl_store::Outputs, inscl_dag::StageError> {
            Err(format!("{}: a dry run computes nothing", node.id).into())
        };
        inscl_dag::run(s, name, g, o, &refuse)
    };
    let runner = |dry_run: bool| -> Result<Box<Runner<'_>>, CliError> {
        Ok(match (dry_run, linked) {
            (_, Some(l)) => Box::new(move |s, n, g, o| l.run(s, n, g, o)),
            (true, None) => Box::new(plan_only),
            (false, None) => return Err(CliError::NeedsExec("run".into())),
        })
    };
    match cli.command {
        Command::Run { pipeline, only, force, dry_run, order, method, jobs, executor } => {
            if executor == "slurm" && !dry_run {
                let refused = [("--only", only.is_some()), ("--force", !force.is_empty()), ("--order", order.is_some()), ("--method", method.is_some())];
                if let Some((flag, _)) = refused.iter().find(|(_, given)| *given) {
                    return Err(CliError::Usage(format!("{flag} is not implemented with --executor slurm")));
                }
                let p = Pipeline::load_in(&pipeline, &models)?;
                let s = store()?;
                let graph = build_graph(&p, &s)?;
                slurm::drive(&s, &p, &pipeline, cli.models.as_deref(), &graph)?;
                // Every instance is committed now: a plan-only pass records the run and prints the summary.
                run_graph(&plan_only, &s, &p.name, &graph, RunOptions::default(), verbose)?;
                return Ok(0);
            }
            let run = runner(dry_run)?;
            let jobs = jobs.unwrap_or_else(inscl_pipeline::default_jobs);
            let p = Pipeline::load_in(&pipeline, &models)?;
            let graph = build_graph(&p, &store()?)?;
            if (order.is_some() || method.is_some()) && only.is_none() {
                return Err(CliError::Usage("--order and --method narrow --only STAGE; give the stage too".into()));
            }
            let filter = order.into_iter().chain(method).collect();
            let progress = std::io::stderr().is_terminal();
            run_graph(&*run, &store()?, &p.name, &graph, RunOptions { only, force, dry_run, progress, filter, jobs, ..Default::default() }, verbose)?;
            Ok(0)
        }
        Command::Build { pipeline, instances, jobs } => {
            let run = runner(false)?;
            let p = Pipeline::load_in(&pipeline, &models)?;
            let graph = build_graph(&p, &store()?)?;
            let opts = RunOptions { instances, jobs: jobs.unwrap_or(1), ..Default::default() };
            run_graph(&*run, &store()?, &p.name, &graph, opts, true)?;
            Ok(0)
        }
        Command::Report { pipeline, out, jobs } => {
            let run = runner(false)?;
            let p = Pipeline::load_in(&pipeline, &models)?;
            let graph = build_graph(&p, &store()?)?;
            let progress = std::io::stderr().is_terminal();
            let jobs = jobs.unwrap_or_else(inscl_pipeline::default_jobs);
            let summary = run_graph(&*run, &store()?, &p.name, &graph, RunOptions { progress, jobs, ..Default::default() }, verbose)?;
            let Some(report) = summary.nodes.iter().find(|n| n.stage == "report") else {
                return Err(CliError::Usage(format!("{}: no report (the pipeline has no orders or methods)", pipeline.display())));
            };
            let files: Vec<(String, Vec<u8>)> = report
                .outputs
                .iter()
                .map(|(_, path)| {
                    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                    std::fs::read(path).map(|b| (name, b)).map_err(|source| CliError::Io { path: path.clone(), source })
                })
                .collect::<Result<_, _>>()?;
            let dir = out.join(&p.name);
            inscl_store::atomic::write_folder_atomically(&dir, &files)?;
            println!("{}", dir.join("report.md").display());
            Ok(0)
        }
        Command::Encode { encoder, model, device, texts } => {
            let model = match (encoder.as_str(), model) {
                ("minilm", None) => Some(models.join(inscl_pipeline::models::MINILM)),
                (_, model) => model,
            };
            needs("encode")?.encode(&encoder, model, &device, &texts)
        }
        Command::Generate { model, chat, max_new_tokens, device, prompt } => {
            needs("generate")?.generate(&model, chat, max_new_tokens, &device, &prompt)
        }
        Command::Score { model, device, texts } => needs("score")?.score(&model, &device, &texts),
        Command::ConvertGguf { file, out_dir, dtype } => tools::convert_gguf(&file, &out_dir, &dtype),
        Command::Dbscan { input, eps, min_samples } => tools::dbscan(&input, eps, min_samples),
        Command::Rouge { input } => tools::rouge(&input),
        Command::Status { pipeline, json } => {
            let p = Pipeline::load_in(&pipeline, &models)?;
            let graph = build_graph(&p, &store()?)?;
            status::print_status(&inscl_pipeline::status(&store()?, &p.name, &graph)?, json, verbose)
        }
        Command::Dag { pipeline, mermaid: _, dot, instances } => {
            let p = Pipeline::load_in(&pipeline, &models)?;
            status::print_dag(&build_graph(&p, &store()?)?, dot, instances);
            Ok(0)
        }
        Command::Show { target, head } => show::show(&store()?, &target, head),
        Command::Verify => {
            let report = store()?.verify()?;
            for (dir, why, moved) in &report.damaged {
                println!("DAMAGED {}: {why}\n        moved to {}; the next run rebuilds it", dir.display(), moved.display());
            }
            println!("{} artifacts checked, {} damaged", report.checked, report.damaged.len());
            Ok(if report.damaged.is_empty() { 0 } else { 1 })
        }
        Command::Gc { dry_run } => {
            let s = store()?;
            let keep = s.referenced_keys()?;
            let removed = s.gc(&keep, dry_run)?;
            for r in &removed {
                println!("{} {}", if dry_run { "would remove" } else { "removed" }, r.display());
            }
            println!("{} kept, {} {}", keep.len(), removed.len(), if dry_run { "to remove" } else { "removed" });
            Ok(0)
        }
        Command::Ingest(IngestCommand::Superni { dir, mapping, test_fraction, seed, max_per_task }) => {
            let run = runner(false)?;
            let mapping = match mapping {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|source| CliError::Io { path: path.clone(), source })?;
                    CategoryMapping::from_toml(&path.display().to_string(), &text)?
                }
                None => CategoryMapping::superni16(),
            };
            let params = IngestParams { test_fraction, seed, max_per_task };
            let mut graph = Graph::default();
            graph.push(ingest_node(&dir, &mapping, &params, &store()?.hash_cache())?);
            let summary = run_graph(&*run, &store()?, "ingest", &graph, RunOptions { progress: false, ..Default::default() }, verbose)?;
            for (name, path) in &summary.nodes[0].outputs {
                println!("{name}\t{}", path.display());
            }
            Ok(0)
        }
        Command::Emd { a, b, uniform, solver, reg } => {
            let solver = match solver.as_str() {
                "exact" => inscl_distance::Solver::Exact,
                "sinkhorn" => inscl_distance::Solver::Sinkhorn { reg, max_iter: 100_000, tol: 1e-9 },
                other => return Err(CliError::Usage(format!("--solver must be exact or sinkhorn, not '{other}'"))),
            };
            emd::emd(&a, &b, uniform, &solver)
        }
        Command::Synth { config, out } => {
            let params = match &config {
                None => inscl_data::synth::SynthParams::default(),
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io { path: path.clone(), source })?;
                    toml::from_str(&text).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?
                }
            };
            let files = inscl_data::synth::generate(&params);
            let changed = inscl_store::atomic::write_folder_atomically(&out, &files)?;
            eprintln!(
                "{} {} files ({} bytes) in {}",
                if changed { "wrote" } else { "unchanged:" },
                files.len(),
                files.iter().map(|f| f.1.len()).sum::<usize>(),
                out.display()
            );
            Ok(0)
        }
    }
}

type Runner<'a> = dyn Fn(&Store, &str, &Graph, &RunOptions) -> Result<RunSummary, DagError> + 'a;

/// Runs a graph and prints a summary (`built 12 (finetune 4, evaluate 8), cached 1571, failed 0 in 0.31 s`);
/// `verbose` lists every instance first. A failed run prints what it had done, then returns the failure.
fn run_graph(run: &Runner, store: &Store, name: &str, graph: &Graph, opts: RunOptions, verbose: bool) -> Result<RunSummary, CliError> {
    let started = Instant::now();
    let (summary, failure) = match run(store, name, graph, &opts) {
        Ok(s) => (s, None),
        Err(DagError::Stopped { done, not_run, source }) => (*done, Some((not_run, *source))),
        Err(e) => return Err(e.into()),
    };
    for n in &summary.nodes {
        // A damaged artifact that was rebuilt is worth a line even in the quiet output.
        if verbose || matches!(n.outcome, inscl_dag::Outcome::Rebuilt(_)) {
            let key = n.key.as_deref().map(|k| &k[..12]).unwrap_or("(unknown)");
            eprintln!("{:<32} {key}  {:<9} {:.2}s", n.id, n.outcome.describe(), n.wall_s);
        }
        print_notes(n);
    }
    let secs = started.elapsed().as_secs_f64();
    if opts.dry_run {
        eprintln!("dry run: nothing was built; {} to build, {} cached", summary.would_build(), summary.cached());
        return Ok(summary);
    }
    let by_stage: Vec<String> = summary.built_by_stage().iter().map(|(s, n)| format!("{s} {n}")).collect();
    let built = match summary.built() {
        0 => "built 0".to_string(),
        n => format!("built {n} ({})", by_stage.join(", ")),
    };
    let skipped = summary.nodes.iter().filter(|n| n.outcome == inscl_dag::Outcome::Skipped).count();
    let skipped = if skipped > 0 { format!(", skipped {skipped} (--only)") } else { String::new() };
    match failure {
        None => {
            eprintln!("{built}, cached {}{skipped}, failed 0 in {secs:.2} s", summary.cached());
            Ok(summary)
        }
        Some((not_run, e)) => {
            eprintln!("{built}, cached {}{skipped}, failed 1, not run {not_run} in {secs:.2} s", summary.cached());
            Err(e.into())
        }
    }
}

/// A freshly built ingest says what it read: counts per category and its warnings.
fn print_notes(n: &inscl_pipeline::NodeReport) {
    if !n.outcome.did_work() {
        return;
    }
    let Some(report) = n.notes.get("ingest_report") else { return };
    if let Some(cats) = report.get("per_category").and_then(|c| c.as_object()) {
        eprintln!("  {} tasks in {} categories:", report["tasks"], cats.len());
        for (cat, v) in cats {
            eprintln!("    {cat:<24} tasks {:>4}  train {:>6}  test {:>6}", v[0], v[1], v[2]);
        }
    }
    for key in ["dropped_empty_input", "dropped_no_output"] {
        if report[key].as_u64().unwrap_or(0) > 0 {
            eprintln!("  {key}: {}", report[key]);
        }
    }
    for w in report["warnings"].as_array().into_iter().flatten() {
        eprintln!("  warning: {}", w.as_str().unwrap_or_default());
    }
}

