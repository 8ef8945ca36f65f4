//! `inscl`: the command line of the InsCL toolkit. It runs pipelines stage by stage through the content-keyed
//! artifact store, explains what is cached or stale, and inspects artifacts. Every error of every crate is
//! rendered here, once.
//!
//! Two binaries share these commands. `inscl` plans: it builds and keys the graph, and serves `status`,
//! `--dry-run`, `show`, `verify`, `gc` and the tools without loading libtorch (loading it costs about a second
//! and 500 MB). Commands that compute hand the same arguments to `inscl-exec`, which links libtorch and
//! implements [`commands::Linked`].

pub mod args;
pub mod commands;
mod error;

pub use error::CliError;

/// Prints `result`'s error and its causes once each, and exits with the command's code (2 on an error).
pub fn finish(result: Result<i32, CliError>) -> ! {
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let text = s.to_string();
                if !e.to_string().contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                source = s.source();
            }
            std::process::exit(2);
        }
    }
}
