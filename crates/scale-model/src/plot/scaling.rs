//! Time against ranks, log-log: an overview with every algorithm's total, then one panel per
//! algorithm with its total and each term.

use super::svg::{fmt_count, frame, log_bounds, LogAxis, Pen, Svg, PALETTE};
use crate::row::{PredictionRow, Term};
use crate::units::format_size;

const PANEL_W: f64 = 330.0;
const PANEL_H: f64 = 230.0;
const MARGIN_L: f64 = 60.0;
const MARGIN_T: f64 = 50.0;
const GAP_X: f64 = 80.0;
const GAP_Y: f64 = 70.0;
const COLS: usize = 3;

const TERM_COLORS: [(Term, &str); 5] = [
    (Term::Latency, "#1f77b4"),
    (Term::Bandwidth, "#2ca02c"),
    (Term::Reduction, "#ff7f0e"),
    (Term::Oversubscription, "#d62728"),
    (Term::Stragglers, "#9467bd"),
];

/// The rows of size `size`, one line per algorithm; x ticks at powers of 8 and the largest rank
/// count (8 .. 131,072 for the default sweep).
pub fn scaling_svg(rows: &[PredictionRow], size: u64, title: &str) -> String {
    let rows: Vec<&PredictionRow> = rows.iter().filter(|r| r.size == size).collect();
    let mut names: Vec<&str> = Vec::new();
    for r in &rows {
        if !names.contains(&r.algorithm.as_str()) {
            names.push(&r.algorithm);
        }
    }
    let panels = names.len() + 1;
    let nrows = panels.div_ceil(COLS);
    let width = MARGIN_L + COLS as f64 * (PANEL_W + GAP_X);
    let height = MARGIN_T + nrows as f64 * (PANEL_H + GAP_Y) + 20.0;
    let mut svg = Svg::new(width, height);
    svg.text(
        MARGIN_L,
        22.0,
        "start",
        15.0,
        &format!("{title} — all-reduce of {} per rank", format_size(size)),
    );

    let (xlo, xhi) = {
        let lo = rows.iter().map(|r| r.ranks).min().unwrap_or(8) as f64;
        let hi = rows.iter().map(|r| r.ranks).max().unwrap_or(131_072) as f64;
        (lo.max(1.0), hi.max(lo * 2.0))
    };
    let (ylo, yhi) = log_bounds(rows.iter().flat_map(|r| {
        let mut v = vec![r.time_us];
        v.extend(Term::ALL.iter().map(|t| r.terms.get(*t)));
        v
    }));
    let ylo = ylo.max(yhi / 1e9);
    let mut ticks: Vec<f64> = (0..)
        .map(|k| 8f64.powi(k))
        .skip_while(|t| *t < xlo)
        .take_while(|t| *t <= xhi)
        .collect();
    if ticks.last().is_none_or(|t| *t < xhi * 0.7) {
        ticks.push(xhi);
    }

    let panel = |i: usize| {
        let col = i % COLS;
        let row = i / COLS;
        let x0 = MARGIN_L + col as f64 * (PANEL_W + GAP_X);
        let y0 = MARGIN_T + row as f64 * (PANEL_H + GAP_Y);
        (
            LogAxis {
                lo: xlo,
                hi: xhi,
                p0: x0,
                p1: x0 + PANEL_W,
            },
            LogAxis {
                lo: ylo,
                hi: yhi,
                p0: y0 + PANEL_H,
                p1: y0,
            },
        )
    };
    let series = |name: &str, f: &dyn Fn(&PredictionRow) -> f64, x: &LogAxis, y: &LogAxis| {
        let mut pts: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.algorithm == name)
            .map(|r| (r.ranks as f64, f(r)))
            .filter(|(_, v)| v.is_finite() && *v >= ylo)
            .map(|(p, v)| (x.map(p), y.map(v.min(yhi))))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };

    // Overview.
    let (x, y) = panel(0);
    frame(&mut svg, &x, &y, "ranks", "time (all algorithms)", &ticks);
    for (i, name) in names.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        svg.polyline(
            &series(name, &|r| r.time_us, &x, &y),
            Pen::new(color, 1.6, None),
        );
        let ly = y.p1 + 12.0 + i as f64 * 12.0;
        if ly < y.p0 - 4.0 {
            svg.line(
                (x.p0 + 6.0, ly - 4.0),
                (x.p0 + 20.0, ly - 4.0),
                Pen::new(color, 2.0, None),
            );
            svg.text(x.p0 + 24.0, ly, "start", 9.0, name);
        }
    }

    // One panel per algorithm with its terms.
    for (i, name) in names.iter().enumerate() {
        let (x, y) = panel(i + 1);
        frame(&mut svg, &x, &y, "ranks", name, &ticks);
        svg.polyline(
            &series(name, &|r| r.time_us, &x, &y),
            Pen::new("#000000", 2.0, None),
        );
        for (term, color) in TERM_COLORS {
            let pts = series(name, &|r| r.terms.get(term), &x, &y);
            if !pts.is_empty() {
                svg.polyline(&pts, Pen::new(color, 1.2, Some("4,3")));
            }
        }
    }

    // Legend for the terms.
    let ly = height - 12.0;
    let mut lx = MARGIN_L;
    svg.line(
        (lx, ly - 4.0),
        (lx + 16.0, ly - 4.0),
        Pen::new("#000000", 2.0, None),
    );
    svg.text(lx + 20.0, ly, "start", 10.0, "total");
    lx += 70.0;
    for (term, color) in TERM_COLORS {
        svg.line(
            (lx, ly - 4.0),
            (lx + 16.0, ly - 4.0),
            Pen::new(color, 1.5, Some("4,3")),
        );
        svg.text(lx + 20.0, ly, "start", 10.0, term.name());
        lx += 120.0;
    }
    svg.text(
        width - 10.0,
        ly,
        "end",
        9.0,
        &format!("ranks {} .. {}", fmt_count(xlo), fmt_count(xhi)),
    );
    svg.finish()
}
