//! `collbench model fit | predict | validate | export`: the CLI of the `scale-model` crate.
//! This module reads results and scenario files, calls the model, and prints and writes what
//! it returns.

pub mod args;
pub mod export_cmd;
pub mod fit_cmd;
pub mod lab;
pub mod lists;
pub mod load;
pub mod predict_cmd;
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

/// Writes an output file, creating its directory; errors name the file.
pub fn write_file(path: &Path, contents: &str) -> Result<()> {
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
