//! The charts of a run's report, as SVG documents drawn by the project's one plot engine
//! (`scale_model::plot`): busbw and time against size on log axes (a line per collective and
//! algorithm, solid
//! out of place and dashed in place), and each rank's time per iteration as a heatmap.

use std::collections::BTreeMap;

use scale_model::plot::heatmap::{heatmap, Heatmap};
use scale_model::plot::svg::{chart, color, document, fmt_time, log_bounds, Chart, Series, Stroke};
use topologies::Case;
use wire::results::{Measured, ResultRow, ResultsFile};

use crate::sizes::format_size;

/// The cases (collective and algorithm) of the run, in the order they first ran.
pub fn cases(rows: &[ResultRow]) -> Vec<Case> {
    let mut order: Vec<Case> = Vec::new();
    for r in rows {
        if !order.contains(&r.case()) {
            order.push(r.case());
        }
    }
    order
}

/// `value` of a case's rows per size, the mean over the run's cycles (`-N`) where a size
/// ran more than once.
fn per_size(rows: &[ResultRow], case: Case, value: impl Fn(&ResultRow) -> f64) -> Vec<(f64, f64)> {
    let mut sums: BTreeMap<u64, (f64, u32)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.case() == case) {
        let e = sums.entry(r.size).or_default();
        e.0 += value(r);
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(size, (sum, n))| (size as f64, sum / f64::from(n)))
        .collect()
}

/// A line per case and placement of `value` (of a placement's measurement).
fn series(rows: &[ResultRow], value: fn(&Measured) -> f64) -> Vec<Series> {
    let mut out = Vec::new();
    for (i, a) in cases(rows).into_iter().enumerate() {
        out.push(Series {
            name: a.to_string(),
            points: per_size(rows, a, |r| value(&r.out_of_place)),
            color: color(i),
            stroke: Stroke::Line { width: 2 },
        });
        out.push(Series {
            name: format!("{a} in place"),
            points: per_size(rows, a, |r| value(&r.in_place)),
            color: color(i),
            stroke: Stroke::Dashed { width: 1 },
        });
    }
    out
}

fn size_range(rows: &[ResultRow]) -> (f64, f64) {
    let sizes = || rows.iter().map(|r| r.size as f64);
    (
        sizes().fold(f64::INFINITY, f64::min).min(1024.0) / 1.5,
        sizes().fold(1.0, f64::max) * 1.5,
    )
}

/// A bandwidth for a tick: three significant digits at most.
fn fmt_gbps(v: f64) -> String {
    let digits = if v > 0.0 {
        (2.0 - v.log10().floor()).clamp(0.0, 12.0) as usize
    } else {
        0
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn against_size(
    file: &ResultsFile,
    what: &str,
    y_desc: &str,
    value: fn(&Measured) -> f64,
) -> String {
    let rows = &file.results;
    let series = series(rows, value);
    let caption = format!(
        "all-reduce {what}, {} ranks, {} {}",
        file.config.nranks, file.config.dtype, file.config.redop
    );
    let y_range = log_bounds(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let y_tick: &dyn Fn(f64) -> String = if what == "time" { &fmt_time } else { &fmt_gbps };
    document(760, 440, |root| {
        chart(
            root,
            &Chart {
                caption: &caption,
                x_desc: "message size per rank (bytes)",
                y_desc,
                x_range: size_range(rows),
                y_range,
                y_log: true,
                series: &series,
                x_tick: &|x| format_size(x.round() as u64),
                y_tick,
                legend: true,
            },
        )
    })
}

/// busbw against size, log-log; also the run's `busbw.svg`.
pub fn busbw(file: &ResultsFile) -> String {
    against_size(file, "bus bandwidth", "busbw (GB/s)", |m| m.bus_bw)
}

/// Time against size (the slowest rank's, averaged as `-a` says), log-log.
pub fn time(file: &ResultsFile) -> String {
    against_size(file, "time", "time (us)", |m| m.time)
}

/// Each rank's time of each timed iteration of `r`, out of place, as a heatmap; `None` for
/// rows from files that did not keep them (before schema 4).
pub fn rank_heatmap(r: &ResultRow) -> Option<String> {
    let rows = &r.out_of_place.rank_iter_us;
    if rows.is_empty() {
        return None;
    }
    let caption = format!(
        "{} {}, out of place: each rank's time per iteration",
        r.case(),
        format_size(r.size)
    );
    let height = (140 + 16 * rows.len() as u32).min(720);
    Some(document(760, height, |root| {
        heatmap(
            root,
            &Heatmap {
                caption: &caption,
                x_desc: "timed iteration",
                y_desc: "rank",
                rows,
                value_tick: &fmt_time,
            },
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_ticks_keep_three_significant_digits_at_most() {
        assert_eq!(fmt_gbps(0.0123456), "0.0123");
        assert_eq!(fmt_gbps(0.5), "0.5");
        assert_eq!(fmt_gbps(2.346), "2.35");
        assert_eq!(fmt_gbps(10.0), "10");
        assert_eq!(fmt_gbps(250.4), "250");
    }
}
