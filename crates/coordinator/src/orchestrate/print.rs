//! What the driver shows and writes as the run goes: the header once the ranks are up, each row
//! with its table's header and footer (and the warning when a host's CPU set it), the ping-pong's
//! rows, and the results files after each.

use run_core::Input;
use wire::results::{PingPongRow, RankHost, ResultRow};

use super::Driver;
use crate::output::table;
use crate::progress::Progress;

impl Driver {
    pub(super) fn println(&self, line: &str) {
        if let Some(pr) = &self.progress {
            pr.println(line);
        }
    }

    /// Every rank is up: where each runs goes into the results, the header is printed, and the
    /// progress bar starts.
    pub(super) fn started(
        &mut self,
        hosts: Vec<RankHost>,
        channels: u32,
        cores: Vec<f64>,
        poll_us: u32,
    ) -> Option<Input> {
        self.writer.file.config.hosts = hosts;
        self.writer.file.config.channels = Some(channels);
        self.writer.file.config.poll_us = Some(poll_us);
        self.cores = cores;
        if let Err(e) = self.writer.flush() {
            return Some(Input::Fatal(format!("writing results: {e:#}")));
        }
        print!("{}", table::run_header(&self.writer.file.config));
        let rows = (self.algorithms * self.sizes.len()) as u64;
        let pingpong = if self.pingpong {
            self.sizes.len() as u64
        } else {
            0
        };
        self.progress = Some(Progress::new(rows + pingpong));
        None
    }

    /// Prints a finished row (with its table's header and footer) and writes the results files.
    pub(super) fn emit(&mut self, row: ResultRow) -> Option<Input> {
        if self
            .algo_rows
            .first()
            .is_some_and(|r| r.series() != row.series())
        {
            self.algo_rows.clear();
        }
        if self.algo_rows.is_empty() {
            self.println(
                table::table_header(&row.case().to_string(), self.per_iter_columns).trim_end(),
            );
        }
        self.println(&if self.per_iter_columns {
            table::row_per_iter(&row)
        } else {
            table::row(&row)
        });
        if let Some(warning) = table::host_warning(&row, &self.cores) {
            self.println(&warning);
        }
        if let Some(pr) = &mut self.progress {
            pr.step(&format!(
                "{} {}",
                row.case(),
                crate::sizes::format_size(row.size)
            ));
        }
        self.algo_rows.push(row.clone());
        // A table is over after its last size (the row's size may be rounded to whole blocks).
        if self.algo_rows.len() == self.sizes.len() {
            let refs: Vec<&ResultRow> = self.algo_rows.iter().collect();
            self.println(table::footer(&refs, self.min_busbw).trim_end());
            if let Some(line) = table::link_efficiency(&refs) {
                self.println(&line);
            }
            // The next row starts a table of its own: the next algorithm, or the next cycle of -N.
            self.algo_rows.clear();
        }
        self.note_refusals();
        self.writer
            .push(row)
            .err()
            .map(|e| Input::Fatal(format!("writing results: {e:#}")))
    }

    /// Prints a ping-pong row (after the table's header, for the first) and writes the results.
    pub(super) fn emit_pingpong(&mut self, row: PingPongRow) -> Option<Input> {
        let first = self
            .writer
            .file
            .pingpong
            .as_ref()
            .is_none_or(|rows| rows.is_empty());
        if first {
            self.println(table::pingpong_header(row.ranks).trim_end());
        }
        self.println(&table::pingpong_row(&row));
        if let Some(pr) = &mut self.progress {
            pr.step(&format!(
                "ping-pong {}",
                crate::sizes::format_size(row.size)
            ));
        }
        self.note_refusals();
        self.writer
            .push_pingpong(row)
            .err()
            .map(|e| Input::Fatal(format!("writing results: {e:#}")))
    }

    /// Writes nccl-tests' JSON of the rows so far to `path` ("-": stdout).
    pub(super) fn write_nccl_json(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let file = &self.writer.file;
        let env: Vec<String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("NCCL_"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let value = crate::output::nccl_json::render(
            file,
            &crate::output::nccl_json::Context {
                args: file.config.command_line.as_deref().unwrap_or_default(),
                env: &env,
                ended_at: file.config.ended_at.as_deref().unwrap_or_default(),
                min_busbw: self.min_busbw,
                per_iter: self.per_iter_columns,
            },
        );
        let text = serde_json::to_string_pretty(&value).context("encoding nccl-tests' JSON")?;
        crate::output::atomic::write_or_stdout(path, &(text + "\n"))
            .with_context(|| format!("-J: writing {}", path.display()))
    }

    /// Puts the refusals counted so far into the results file (written with the next row):
    /// the coordinator's own and the latest total each node reported.
    pub(super) fn note_refusals(&mut self) {
        let mut refused = self.refused.totals();
        let live = self.run.liveness();
        let data: u64 = (0..self.nranks)
            .filter_map(|r| live.position(r).map(|h| h.refused))
            .sum();
        if data > 0 {
            refused.insert("data-plane connection".into(), data);
        }
        self.writer.file.refused = refused;
    }
}
