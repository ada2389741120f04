//! Time against ranks, log-log: an overview with every algorithm's total, then one panel per
//! algorithm with its total and each term.

use plotters::prelude::*;

use super::svg::{chart, color, document, fmt_count, fmt_time, log_bounds, Chart, Series, Stroke};
use crate::row::{PredictionRow, Term};
use crate::units::format_size;

const PANEL_W: u32 = 400;
const PANEL_H: u32 = 300;
const COLS: usize = 3;

const TERM_COLORS: [(Term, RGBColor); 5] = [
    (Term::Latency, RGBColor(0x1f, 0x77, 0xb4)),
    (Term::Bandwidth, RGBColor(0x2c, 0xa0, 0x2c)),
    (Term::Reduction, RGBColor(0xff, 0x7f, 0x0e)),
    (Term::Oversubscription, RGBColor(0xd6, 0x27, 0x28)),
    (Term::Stragglers, RGBColor(0x94, 0x67, 0xbd)),
];

/// The rows of size `size`, one line per algorithm.
pub fn scaling_svg(rows: &[PredictionRow], size: u64, title: &str) -> String {
    let rows: Vec<&PredictionRow> = rows.iter().filter(|r| r.size == size).collect();
    let mut names: Vec<&str> = Vec::new();
    for r in &rows {
        if !names.contains(&r.algorithm.as_str()) {
            names.push(&r.algorithm);
        }
    }
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
    let line = |name: &str, f: &dyn Fn(&PredictionRow) -> f64| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r.algorithm == name)
            .map(|r| (r.ranks as f64, f(r)))
            .filter(|(_, v)| v.is_finite() && *v >= ylo)
            .map(|(p, v)| (p, v.min(yhi)))
            .collect()
    };
    let overview: Vec<Series> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Series {
            name: (*name).to_string(),
            points: line(name, &|r| r.time_us),
            color: color(i),
            stroke: Stroke::Line { width: 2 },
        })
        .collect();
    let panels: Vec<Vec<Series>> = names.iter().map(|name| terms_of(name, &line)).collect();
    let nrows = (names.len() + 1).div_ceil(COLS);
    let heading = format!(
        "{title} — all-reduce of {} per rank, ranks {} .. {}",
        format_size(size),
        fmt_count(xlo),
        fmt_count(xhi)
    );
    document(COLS as u32 * PANEL_W, nrows as u32 * PANEL_H + 40, |root| {
        let body = root
            .titled(&heading, ("sans-serif", 16))
            .map_err(|e| e.to_string())?;
        let areas = body.split_evenly((nrows, COLS));
        let ranges = ((xlo, xhi), (ylo, yhi));
        chart(
            &areas[0],
            &panel("time (all algorithms)", &overview, ranges),
        )?;
        for (i, (name, series)) in names.iter().zip(&panels).enumerate() {
            chart(&areas[i + 1], &panel(name, series, ranges))?;
        }
        Ok(())
    })
}

/// A panel of time against ranks, log-log.
fn panel<'a>(
    caption: &'a str,
    series: &'a [Series],
    (x, y): ((f64, f64), (f64, f64)),
) -> Chart<'a> {
    Chart {
        caption,
        x_desc: "ranks",
        y_desc: "time",
        x_range: x,
        y_range: y,
        y_log: true,
        series,
        x_tick: &fmt_count,
        y_tick: &fmt_time,
        legend: true,
    }
}

type Line<'a> = dyn Fn(&str, &dyn Fn(&PredictionRow) -> f64) -> Vec<(f64, f64)> + 'a;

/// One algorithm's panel: its total and every term (one that is zero throughout is in the
/// legend and draws no line).
fn terms_of(name: &str, line: &Line<'_>) -> Vec<Series> {
    let mut s = vec![Series {
        name: "total".into(),
        points: line(name, &|r| r.time_us),
        color: BLACK,
        stroke: Stroke::Line { width: 2 },
    }];
    for (term, col) in TERM_COLORS {
        s.push(Series {
            name: term.name().to_string(),
            points: line(name, &|r| r.terms.get(term)),
            color: col,
            stroke: Stroke::Dashed { width: 1 },
        });
    }
    s
}
