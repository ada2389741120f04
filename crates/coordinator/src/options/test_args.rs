//! Run flags for the option checks' tests, parsed by the real command line.

use clap::Parser;

use super::kinds::OptionError;
use crate::cli::{Cli, Command, RunArgs};

/// `collbench run LINE` parsed (LINE split on spaces); panics on what clap itself refuses.
pub fn args(line: &str) -> RunArgs {
    let argv = ["collbench", "run"]
        .into_iter()
        .chain(line.split_whitespace());
    match Cli::try_parse_from(argv).map(|c| c.command) {
        Ok(Command::Run(a)) => *a,
        Ok(_) => panic!("not a run"),
        Err(e) => panic!("clap refused '{line}': {e}"),
    }
}

/// The flag and the reason of a refusal; panics when the flags were accepted.
pub fn refused<T>(r: Result<T, OptionError>) -> (&'static str, String) {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => (e.flag, e.message),
    }
}
