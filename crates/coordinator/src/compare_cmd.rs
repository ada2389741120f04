//! `collbench compare A B`: two runs' results side by side, ratios per row, and exit status 5
//! when a row regressed beyond the threshold (a CI job's gate).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::regression::{compare, parse_threshold, table, Regressed};
use crate::usage::UsageError;

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The baseline: a results.json, or a directory holding one.
    pub a: PathBuf,
    /// The run to judge against it, likewise.
    pub b: PathBuf,
    /// How far busbw may fall, or the p50 time rise, before a row counts as a regression:
    /// a percentage ("5%" or "5").
    #[arg(long, default_value = "5%")]
    pub threshold: String,
    /// Also write the comparison as JSON to this file ("-" for stdout, in place of the table).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(args: &CompareArgs) -> Result<()> {
    let threshold =
        parse_threshold(&args.threshold).map_err(|e| UsageError(format!("--threshold: {e}")))?;
    let [a, b] = [&args.a, &args.b].map(one_file);
    let (a, b) = (a?, b?);
    let (fa, fb) = (
        crate::results_file::read(&a)?,
        crate::results_file::read(&b)?,
    );
    let c = compare(&fa.results, &fb.results, threshold);
    if c.rows.is_empty() {
        return Err(UsageError(format!(
            "{} and {} have no row in common (same algorithm, rank count, size, type and \
             operator)",
            a.display(),
            b.display()
        ))
        .into());
    }
    let to_stdout = args.json.as_deref() == Some(std::path::Path::new("-"));
    if !to_stdout {
        let names = [a.display().to_string(), b.display().to_string()];
        print!("{}", table(&c, [&names[0], &names[1]]));
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&c).context("encoding the comparison")?;
        crate::output::atomic::write_or_stdout(path, &(text + "\n"))
            .with_context(|| format!("--json: writing {}", path.display()))?;
    }
    match c.regressions() {
        0 => Ok(()),
        regressed => Err(Regressed {
            regressed,
            compared: c.rows.len(),
            threshold: threshold * 100.0,
        }
        .into()),
    }
}

/// The results file a path names: itself, or the one results.json under a directory.
fn one_file(path: &PathBuf) -> Result<PathBuf> {
    let files = crate::results_file::find_results(std::slice::from_ref(path))?;
    match files.as_slice() {
        [one] => Ok(one.clone()),
        many => Err(UsageError(format!(
            "{} holds {} results files; name one",
            path.display(),
            many.len()
        ))
        .into()),
    }
}
