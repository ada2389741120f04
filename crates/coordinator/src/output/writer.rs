//! Keeps the results of a run on disk: after every completed size (and when a run fails) the
//! whole `results.json`, `results.csv`, `report.md`, `busbw.svg` and `report.html` (and with `--pingpong`,
//! `pingpong.csv`) are rewritten atomically, so a failure late in a sweep loses nothing that
//! was measured.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wire::results::{Failure, PingPongRow, ResultRow, ResultsFile};

use super::{atomic, csv, report, report_charts, report_html};

pub struct ResultsWriter {
    dir: PathBuf,
    pub file: ResultsFile,
}

impl ResultsWriter {
    /// Prepares `dir`. A directory that already holds a `results.json` is refused unless `force`.
    pub fn create(dir: &Path, force: bool, file: ResultsFile) -> Result<Self> {
        Self::ensure_free(dir, force)?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating output directory {}", dir.display()))?;
        let w = ResultsWriter {
            dir: dir.to_path_buf(),
            file,
        };
        w.flush()?;
        Ok(w)
    }

    /// Refuses a directory that already holds a run's results, unless `force`.
    pub fn ensure_free(dir: &Path, force: bool) -> Result<()> {
        if dir.join("results.json").exists() && !force {
            return Err(crate::usage::UsageError(format!(
                "{} already holds results of another run; choose another --out or pass --force to overwrite",
                dir.display()
            ))
            .into());
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn push(&mut self, row: ResultRow) -> Result<()> {
        self.file.results.push(row);
        self.flush()
    }

    pub fn push_pingpong(&mut self, row: PingPongRow) -> Result<()> {
        self.file.pingpong.get_or_insert_with(Vec::new).push(row);
        self.flush()
    }

    pub fn fail(&mut self, failure: Failure) -> Result<()> {
        self.file.failure = Some(failure);
        self.flush()
    }

    /// Rewrites both files from what is held now.
    pub fn flush(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.file).context("serialising results")?;
        atomic::write(&self.dir.join("results.json"), &json)?;
        let run_id = &self.file.config.run_id;
        atomic::write(
            &self.dir.join("results.csv"),
            csv::render(run_id, &self.file.results)?.as_bytes(),
        )?;
        if let Some(rows) = &self.file.pingpong {
            atomic::write(
                &self.dir.join("pingpong.csv"),
                csv::render_pingpong(run_id, rows)?.as_bytes(),
            )?;
        }
        atomic::write(
            &self.dir.join("report.md"),
            report::markdown(&self.file).as_bytes(),
        )?;
        atomic::write(
            &self.dir.join("busbw.svg"),
            report_charts::busbw(&self.file).as_bytes(),
        )?;
        atomic::write(
            &self.dir.join("report.html"),
            report_html::render(&self.file).as_bytes(),
        )
    }
}
