//! `collbench model fit | predict | validate | export | sweep | noise`: the CLI of the `scale-model` crate.
//! This module reads results and scenario files, calls the model, and prints and writes what
//! it returns.

pub mod args;
pub mod export_cmd;
pub mod fit_cmd;
pub mod lab;
pub mod lists;
pub mod load;
pub mod noise_cmd;
pub mod predict_cmd;
pub mod sweep_cmd;
pub mod table;
pub mod validate_cmd;

use std::path::Path;

use anyhow::{Context, Result};
use scale_model::predict::LabReference;
use scale_model::{Mode, Scenario};

use args::{ModeArg, ModelArgs, ModelCommand};

pub fn run(args: ModelArgs) -> Result<()> {
    match args.command {
        ModelCommand::Fit(a) => fit_cmd::run(&a),
        ModelCommand::Predict(a) => predict_cmd::run(&a),
        ModelCommand::Validate(a) => validate_cmd::run(&a),
        ModelCommand::Export(a) => export_cmd::run(&a),
        ModelCommand::Sweep(a) => sweep_cmd::run(&a),
        ModelCommand::Noise(a) => noise_cmd::run(&a),
    }
}

/// Reads and checks a scenario file; errors name the file, line and field.
pub fn read_scenario(path: &Path) -> Result<Scenario> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading scenario {name}"))?;
    Scenario::parse(&text, &name).map_err(|e| anyhow::anyhow!("scenario {e}"))
}

/// What target mode carries the lab's efficiency and overhead relative to: the `--lab` scenario,
/// or (without one) the link rate the runs recorded and no wire latency.
pub fn lab_reference(lab: Option<&Path>) -> Result<LabReference> {
    match lab {
        Some(p) => Ok(LabReference::from_scenario(&read_scenario(p)?)),
        None => Ok(LabReference::default()),
    }
}

/// The largest size whose latency histograms feed the straggler tail; `None` without the term.
pub fn straggler_samples(no_stragglers: bool, max_size: u64) -> Option<u64> {
    (!no_stragglers).then_some(max_size)
}

pub fn mode(m: ModeArg) -> Mode {
    match m {
        ModeArg::Lab => Mode::Lab,
        ModeArg::Target => Mode::Target,
    }
}

/// Whether an output flag's value is `-`: standard output, as every output flag takes it.
pub fn is_stdout(path: Option<&Path>) -> bool {
    path == Some(Path::new("-"))
}

/// Prints a command's table: on stdout, unless one of `outputs` is stdout (`-`), which then
/// holds that output alone and the table goes to stderr. Two outputs on stdout are refused.
pub fn print_table(text: &str, outputs: &[Option<&Path>]) -> Result<()> {
    if stdout_output(outputs)? {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    Ok(())
}

/// Whether one of `outputs` is stdout; more than one is a usage error.
pub fn stdout_output(outputs: &[Option<&Path>]) -> Result<bool> {
    match outputs.iter().filter(|p| is_stdout(**p)).count() {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(
            crate::usage::UsageError("only one output can be '-' (standard output)".into()).into(),
        ),
    }
}

/// Writes an output file, creating its directory, or to stdout when `path` is `-`; errors name
/// the file.
pub fn write_file(path: &Path, contents: &str) -> Result<()> {
    if is_stdout(Some(path)) {
        return crate::output::atomic::write_or_stdout(path, contents);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the directory of {}", path.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("collbench: wrote {}", path.display());
    Ok(())
}

/// Serialises `value` as pretty JSON into `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .with_context(|| format!("encoding JSON for {}", path.display()))?;
    write_file(path, &(text + "\n"))
}
