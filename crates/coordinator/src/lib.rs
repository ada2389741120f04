//! The collbench command line: `run` (the coordinator) and `node` (a bench-node).
//!
//! `main` only parses arguments and calls [`cli_main`]; tests drive the same code.

pub mod cli;
pub mod clock;
pub mod compare;
pub mod compare_cmd;
pub mod control_server;
pub mod credentials_io;
pub mod dry_run;
pub mod events;
pub mod exit;
pub mod k8s;
pub mod launcher;
pub mod model;
pub mod nccl_flags;
pub mod node_addr;
pub mod node_cmd;
pub mod node_env;
pub mod options;
pub mod orchestrate;
pub mod output;
pub mod probe;
pub mod progress;
pub mod rate;
pub mod regression;
pub mod results_file;
pub mod sizes;
#[cfg(test)]
mod test_rows;
pub mod topology_file;
pub mod usage;

use anyhow::{Context, Result};

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::options::RunOptions;

/// Runs a parsed command line to completion on a single-threaded runtime (one core per process
/// is what a node needs, and several nodes share a machine's cores).
pub fn cli_main(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Run(args) => {
            let opts = RunOptions::from_args(&args)?;
            for note in &opts.nccl.notes {
                eprintln!("collbench: note: {note}");
            }
            if opts.dry_run {
                print!("{}", dry_run::describe(&opts));
                return Ok(());
            }
            let min_busbw = opts.min_busbw;
            let done = runtime.block_on(orchestrate::run(opts))?;
            let dir = done.dir.display();
            eprintln!("collbench: results written to {dir}");
            output::verdict::check(&done.rows, min_busbw)
                .with_context(|| format!("the run finished; its results are in {dir}"))
        }
        Command::Node(args) => runtime.block_on(node_cmd::run(args)),
        Command::Model(args) => model::run(*args),
        Command::K8s(args) => k8s::run(&args),
        Command::Compare(args) => compare_cmd::run(&args),
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cli::Cli::command(), "collbench", &mut text);
            to_stdout(&text)
        }
        Command::Man { subcommand } => {
            let top = cli::Cli::command();
            let page = match &subcommand {
                None => top,
                Some(name) => top
                    .find_subcommand(name)
                    .cloned()
                    .map(|c| {
                        c.display_name(format!("collbench-{name}"))
                            .bin_name(format!("collbench {name}"))
                    })
                    .ok_or_else(|| {
                        usage::UsageError(format!(
                            "man {name}: no such subcommand (run, compare, model, k8s, node)"
                        ))
                    })?,
            };
            let mut text = Vec::new();
            clap_mangen::Man::new(page)
                .render(&mut text)
                .context("writing the manual page")?;
            to_stdout(&text)
        }
        Command::Probe(args) => probe::send(&args),
    }
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is not an error.
fn to_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}
