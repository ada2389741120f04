//! Progress over a sweep: a bar on a terminal, plain lines otherwise (both on stderr, so the
//! table on stdout stays clean).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub enum Progress {
    Bar(ProgressBar),
    Lines { total: u64, done: u64 },
}

impl Progress {
    pub fn new(total: u64) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            ) {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            Progress::Lines { total, done: 0 }
        }
    }

    /// One more (algorithm, size) finished.
    pub fn step(&mut self, what: &str) {
        match self {
            Progress::Bar(b) => {
                b.set_message(what.to_string());
                b.inc(1);
            }
            Progress::Lines { total, done } => {
                *done += 1;
                eprintln!("collbench: {done}/{total} done ({what})");
            }
        }
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match self {
            Progress::Bar(b) => b.suspend(|| println!("{line}")),
            Progress::Lines { .. } => println!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
