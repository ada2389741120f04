//! `report.md`: a human-readable account of a run in Markdown, rewritten with the results
//! (its chart is `busbw.svg`, [`super::report_charts::busbw`]).

use std::fmt::Write;

use wire::results::{PingPongRow, ResultRow, ResultsFile};

use super::{report_charts, report_tables, report_text as text};

/// The run's title and what it was: sizes, iterations, the link rate, an unencrypted data plane
/// or a failure when there was one.
fn heading(file: &ResultsFile) -> String {
    let c = &file.config;
    let mut s = format!("# collbench run {}\n\n{}\n\n", c.run_id, text::summary(c));
    if let Some(rate) = text::link_rate(c) {
        let _ = writeln!(s, "{rate}\n");
    }
    if c.data_plane_unencrypted {
        let _ = writeln!(s, "**{}**\n", text::UNENCRYPTED);
    }
    if let Some(j) = text::jitter(c) {
        let _ = writeln!(s, "**{j}**\n");
    }
    if let Some(f) = &file.failure {
        let _ = writeln!(
            s,
            "**The run failed:** {}\n\n{}\n",
            f.message,
            text::MEASURED_BEFORE_FAILURE
        );
    }
    s
}

/// The rows a rank's CPU, not the network, set, with what the table printed under them.
fn host_bound_section(file: &ResultsFile) -> String {
    let warned = text::host_bound(file);
    if warned.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "\n## Rows the host's CPU or scheduler set\n\n{}\n\n",
        text::HOST_BOUND_INTRO
    );
    for w in warned {
        let _ = writeln!(s, "- {w}");
    }
    s
}

pub fn markdown(file: &ResultsFile) -> String {
    let c = &file.config;
    let mut s = heading(file);
    let _ = writeln!(
        s,
        "{}\n\n![busbw against size](busbw.svg)\n\nThe same with time, both placements and \
         each rank's every iteration: [report.html](report.html).\n",
        text::DEFINITIONS
    );
    if let Some(channels) = text::channels(c) {
        let _ = writeln!(s, "{channels}\n");
    }
    let cores = text::cores(c);
    let algos = report_charts::cases(&file.results);
    for a in &algos {
        let rows: Vec<&ResultRow> = file.results.iter().filter(|r| r.series() == *a).collect();
        let _ = writeln!(
            s,
            "## {}\n\n{}",
            report_charts::label(a, &file.results),
            report_tables::algorithm(&rows, &cores).markdown()
        );
    }
    for (title, rows) in report_tables::comparisons(&file.results) {
        let _ = writeln!(s, "## {title}\n\n{}\n", report_tables::COMPARISON);
        s.push_str(&report_tables::comparison(&rows).markdown());
    }
    s.push_str(&host_bound_section(file));
    if let Some(rows) = file.pingpong.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(&pingpong_section(rows));
    }
    s.push_str(&ranks_section(c));
    s
}

fn ranks_section(c: &wire::results::RunConfig) -> String {
    format!("\n## Ranks\n\n{}", report_tables::ranks(c).markdown())
}

/// The `--pingpong` sweep: one-way time (half the round trip) and bandwidth per size.
fn pingpong_section(rows: &[PingPongRow]) -> String {
    format!(
        "\n## {}\n\n{}\n\n{}",
        report_tables::pingpong_title(rows),
        report_tables::PINGPONG,
        report_tables::pingpong(rows).markdown()
    )
}
