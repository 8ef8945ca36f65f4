//! `inscl`: the command line of the InsCL toolkit. It runs pipelines stage by stage through the content-keyed
//! artifact store, explains what is cached or stale, and inspects artifacts. Every error of every crate is
//! rendered here, once.

mod args;
mod commands;
mod error;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    match commands::dispatch(cli) {
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
