//! Reading collbench's results files back: finding them under directories, and parsing one with
//! its schema version checked (every reader of results files goes through here).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use wire::results::{ResultsFile, OLDEST_SCHEMA_VERSION, SCHEMA_VERSION};

/// The `results.json` files named by `paths`: files as given, directories searched recursively;
/// sorted, each once.
pub fn find_results(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        bail!("no results given: name results.json files or directories that hold them");
    }
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .with_context(|| format!("results path {}: cannot read it", p.display()))?;
        if meta.is_dir() {
            let before = out.len();
            walk(p, &mut out)
                .with_context(|| format!("searching {} for results.json", p.display()))?;
            if out.len() == before {
                bail!(
                    "{}: no results.json in this directory or below it",
                    p.display()
                );
            }
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() && e.file_name() == "results.json" {
            out.push(path);
        }
    }
    Ok(())
}

/// One results file, its schema version checked and its contents typed.
pub fn read(file: &Path) -> Result<ResultsFile> {
    let name = file.display();
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{name}: not JSON (expected a collbench results.json)"))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if (u64::from(OLDEST_SCHEMA_VERSION)..=u64::from(SCHEMA_VERSION)).contains(&v) => {}
        Some(v) => bail!(
            "{name}: schema_version {v} is not a supported version \
             ({OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}; results/schema.json)"
        ),
        None => bail!(
            "{name}: not a collbench results file (no schema_version; see results/schema.json)"
        ),
    }
    serde_json::from_value(value)
        .with_context(|| format!("{name}: does not follow results/schema.json"))
}
