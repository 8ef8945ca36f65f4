//! The `inscl` planner binary: every command that plans or inspects runs here, without libtorch; a command
//! that computes is handed, with the same arguments, to `inscl-exec` next to this binary.

use clap::Parser;
use inscl::args::Cli;
use inscl::{CliError, finish};

fn main() {
    let cli = Cli::parse();
    if cli.command.computes() {
        finish(Err(exec_linked()));
    }
    finish(inscl::commands::dispatch(cli, None));
}

/// Replaces this process by `inscl-exec` with the same arguments; returns only if that fails.
fn exec_linked() -> CliError {
    use std::os::unix::process::CommandExt;
    let here = std::env::current_exe().unwrap_or_else(|_| "inscl".into());
    let path = here.with_file_name("inscl-exec");
    let source = std::process::Command::new(&path).arg0("inscl").args(std::env::args_os().skip(1)).exec();
    CliError::Exec { path, source }
}
