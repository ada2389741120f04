//! `report.html`: the run in one self-contained page (no script, no fetched resource; the
//! charts are inline SVG from the project's one plot engine): what ran, the rows a rank's CPU
//! set, busbw and time against size, the comparison of algorithms, a table per algorithm, each
//! rank's time per iteration as heatmaps, the ping-pong sweep and where each rank ran.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use topologies::Series;
use wire::results::{ResultRow, ResultsFile};

use super::report_tables::{self, Table};
use super::{report_charts as charts, report_text as text};
use crate::sizes::format_size;

/// The most heatmap cells (ranks x iterations, summed over the drawn rows) one page draws: the
/// page stays about 6 MB at most (a cell is about 100 bytes of SVG); every value is in
/// results.json either way.
pub const HEATMAP_CELL_BUDGET: usize = 60_000;

const STYLE: &str = "
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; }
th { background: #f0f0f0; } td.num, th.num { text-align: right; }
tr.host-bound td { background: #fde8e8; }
.warning, .failure { background: #fde8e8; border-left: 4px solid #c00; padding: 0.5em 1em; }
figure.chart { margin: 1em 0; } figure.chart svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #555; }
code { background: #f4f4f4; padding: 0.1em 0.3em; }
";

fn table(t: &Table) -> Markup {
    html! {
        table {
            thead { tr { @for (h, n) in t.head.iter().zip(&t.numeric) { th.num[*n] { (h) } } } }
            tbody {
                @for r in &t.rows {
                    tr."host-bound"[r.host_bound] {
                        @for (c, n) in r.cells.iter().zip(&t.numeric) { td.num[*n] { (c) } }
                    }
                }
            }
        }
    }
}

fn figure(id: &str, svg: String, caption: &str) -> Markup {
    html! {
        figure.chart id=(id) {
            (PreEscaped(svg))
            figcaption { (caption) }
        }
    }
}

fn heading(file: &ResultsFile) -> Markup {
    let c = &file.config;
    html! {
        h1 { "collbench run " (c.run_id) }
        p { (text::summary(c)) }
        @if let Some(cmd) = &c.command_line { p { "Command: " code { (cmd.join(" ")) } } }
        p { (file.tool) @if let Some(end) = &c.ended_at { " · ended " (end) } }
        @if let Some(rate) = text::link_rate(c) { p { (rate) } }
        @if let Some(channels) = text::channels(c) { p { (channels) } }
        @if c.data_plane_unencrypted { p.warning { (text::UNENCRYPTED) } }
        @if let Some(j) = text::jitter(c) { p.warning { (j) } }
        @if let Some(f) = &file.failure {
            div.failure { p { strong { "The run failed: " } (f.message) } p { (text::MEASURED_BEFORE_FAILURE) } }
        }
    }
}

fn host_bound(file: &ResultsFile) -> Markup {
    let warned = text::host_bound(file);
    html! {
        @if !warned.is_empty() {
            section #host-bound .warning {
                h2 { "Rows the host's CPU or scheduler set" }
                p { (text::HOST_BOUND_INTRO) }
                ul { @for w in &warned { li { (w) } } }
            }
        }
    }
}

fn against_size(file: &ResultsFile) -> Markup {
    html! {
        section #charts {
            h2 { "Bandwidth and time against size" }
            p { (text::DEFINITIONS) " Solid lines are out of place, dashed lines in place." }
            (figure("busbw", charts::busbw(file), "Bus bandwidth against message size, log-log."))
            (figure("time", charts::time(file), "Time against message size, log-log."))
        }
    }
}

/// Which rows of an algorithm get a heatmap: the largest size shown, the others folded.
struct Heatmaps<'a> {
    shown: Vec<&'a ResultRow>,
    folded: Vec<&'a ResultRow>,
    /// Rows beyond [`HEATMAP_CELL_BUDGET`].
    left_out: usize,
}

fn cells(r: &ResultRow) -> usize {
    r.out_of_place.rank_iter_us.iter().map(Vec::len).sum()
}

/// Each algorithm's largest size first, then every other row in sweep order, while the page's
/// cell budget lasts.
fn choose_heatmaps<'a>(rows: &'a [ResultRow], algos: &[Series]) -> Heatmaps<'a> {
    let mut h = Heatmaps {
        shown: Vec::new(),
        folded: Vec::new(),
        left_out: 0,
    };
    let kept: Vec<&ResultRow> = rows.iter().filter(|r| cells(r) > 0).collect();
    let mut budget = HEATMAP_CELL_BUDGET;
    let mut take = |r: &'a ResultRow, into: &mut Vec<&'a ResultRow>, left_out: &mut usize| {
        if cells(r) <= budget {
            budget -= cells(r);
            into.push(r);
        } else {
            *left_out += 1;
        }
    };
    for a in algos {
        let largest = kept
            .iter()
            .filter(|r| r.series() == *a)
            .max_by_key(|r| r.size);
        if let Some(r) = largest {
            take(r, &mut h.shown, &mut h.left_out);
        }
    }
    for r in &kept {
        if !h.shown.iter().any(|s| std::ptr::eq(*s, *r)) {
            take(r, &mut h.folded, &mut h.left_out);
        }
    }
    h
}

fn heatmap_figure(r: &ResultRow) -> Markup {
    // "ranks-ring-1024" for a float sum all-reduce, "ranks-all_gather-ring-1024" for the other
    // collectives, "ranks-ring-1024-half-max" in another type or operator: one id per row.
    let mut id = format!(
        "ranks-{}-{}",
        r.case().to_string().replace(' ', "-"),
        r.size
    );
    if (r.dtype, r.redop) != (topologies::DataType::Float, topologies::ReduceOp::Sum) {
        id.push_str(&format!("-{}-{}", r.dtype, r.redop));
    }
    let caption = format!(
        "{} {}: rows are ranks, columns timed iterations; brighter is slower.",
        r.case(),
        format_size(r.size)
    );
    html! { @if let Some(svg) = charts::rank_heatmap(r) { (figure(&id, svg, &caption)) } }
}

fn heatmaps(file: &ResultsFile, algos: &[Series]) -> Markup {
    let h = choose_heatmaps(&file.results, algos);
    html! {
        section #heatmaps {
            h2 { "Each rank's time per iteration" }
            @if h.shown.is_empty() {
                p { "This file keeps no per-rank iteration times (written before schema 4)." }
            } @else {
                p { "Out of place, each rank's own time of each timed iteration, from the end of \
                     its previous one. An iteration slow everywhere (a stall, a retransmission) \
                     is a bright column; ranks out of step are rows that differ. Back to back, \
                     every rank's iteration lasts as long as the slowest rank's, so a rank that \
                     is slow in every iteration does not stand out here." }
                @for r in &h.shown { (heatmap_figure(r)) }
                @if !h.folded.is_empty() {
                    details {
                        summary { "Every other size (" (h.folded.len()) ")" }
                        @for r in &h.folded { (heatmap_figure(r)) }
                    }
                }
                @if h.left_out > 0 {
                    p { (h.left_out) " more rows are not drawn, to keep this page small; \
                        results.json has every rank's every iteration (rank_iter_us)." }
                }
            }
        }
    }
}

/// The whole page.
pub fn render(file: &ResultsFile) -> String {
    let c = &file.config;
    let cores = text::cores(c);
    let algos = charts::cases(&file.results);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "collbench run " (c.run_id) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (heading(file))
                (host_bound(file))
                @if file.results.is_empty() {
                    p { "No size has completed yet." }
                } @else {
                    (against_size(file))
                    @for (title, rows) in report_tables::comparisons(&file.results) {
                        section.comparison {
                            h2 { (title) }
                            p { (report_tables::COMPARISON) }
                            (table(&report_tables::comparison(&rows)))
                        }
                    }
                    @for a in &algos {
                        section.algorithm {
                            h2 { (charts::label(a, &file.results)) }
                            (table(&report_tables::algorithm(
                                &file.results.iter().filter(|r| r.series() == *a).collect::<Vec<_>>(),
                                &cores,
                            )))
                        }
                    }
                    (heatmaps(file, &algos))
                }
                @if let Some(rows) = file.pingpong.as_deref().filter(|r| !r.is_empty()) {
                    section #pingpong {
                        h2 { (report_tables::pingpong_title(rows)) }
                        p { (report_tables::PINGPONG) }
                        (table(&report_tables::pingpong(rows)))
                    }
                }
                section #ranks { h2 { "Ranks" } (table(&report_tables::ranks(c))) }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rows::{measured, row};
    use topologies::Algorithm;

    const fn float_sum(algorithm: Algorithm) -> Series {
        Series {
            case: topologies::Case {
                collective: topologies::Collective::AllReduce,
                algorithm,
            },
            dtype: topologies::DataType::Float,
            op: topologies::ReduceOp::Sum,
        }
    }
    const RING: Series = float_sum(Algorithm::Ring);
    const TREE: Series = float_sum(Algorithm::Tree);

    /// A row of `algorithm` at `size` whose out-of-place measurement kept `ranks` x `iters`
    /// iteration times.
    fn kept(algorithm: Algorithm, size: u64, ranks: usize, iters: usize) -> ResultRow {
        let mut m = measured(1.0, 10.0, 12.0, Some(0));
        m.rank_iter_us = vec![vec![10.0; iters]; ranks];
        row(algorithm, size, m.clone(), m)
    }

    #[test]
    fn each_algorithms_largest_size_comes_first_and_the_budget_holds() {
        // 4 ranks x 10 iterations = 40 cells a row.
        let rows: Vec<ResultRow> = [Algorithm::Ring, Algorithm::Tree]
            .into_iter()
            .flat_map(|a| [1024, 4096, 16384].map(|s| kept(a, s, 4, 10)))
            .collect();
        let h = choose_heatmaps(&rows, &[RING, TREE]);
        let shown: Vec<(Algorithm, u64)> = h.shown.iter().map(|r| (r.algorithm, r.size)).collect();
        assert_eq!(shown, [(Algorithm::Ring, 16384), (Algorithm::Tree, 16384)]);
        assert_eq!(h.folded.len(), 4);
        assert_eq!(h.left_out, 0);
        // Rows too many for the budget: drawn up to it, the rest counted.
        let per_row = HEATMAP_CELL_BUDGET / 3;
        let big: Vec<ResultRow> = [1024, 2048, 4096, 8192]
            .map(|s| kept(Algorithm::Ring, s, 1, per_row))
            .into();
        let h = choose_heatmaps(&big, &[RING]);
        assert_eq!((h.shown.len(), h.folded.len(), h.left_out), (1, 2, 1));
        let drawn: usize = h.shown.iter().chain(&h.folded).map(|r| cells(r)).sum();
        assert!(drawn <= HEATMAP_CELL_BUDGET);
    }

    #[test]
    fn table_cells_are_escaped_and_host_bound_rows_marked() {
        let t = Table {
            head: vec!["host".into(), "n".into()],
            numeric: vec![false, true],
            rows: vec![report_tables::Row {
                cells: vec!["<script>alert(1)</script>".into(), "1".into()],
                host_bound: true,
            }],
        };
        let html = table(&t).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<tr class=\"host-bound\">"), "{html}");
        assert!(html.contains("<td class=\"num\">1</td>"), "{html}");
    }
}
