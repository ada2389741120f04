//! Predicted against measured, log-log, with the y = x line and +-10% and +-20% bands.

use super::svg::{fmt_time, log_bounds, LogAxis, Pen, Svg, PALETTE};
use crate::row::ValidationRow;

pub fn scatter_svg(rows: &[ValidationRow], title: &str) -> String {
    let (w, h) = (560.0, 520.0);
    let (left, right, top, bottom) = (80.0, 420.0, 50.0, 440.0);
    let mut svg = Svg::new(w, h);
    svg.text(left, 24.0, "start", 15.0, title);
    let (lo, hi) = log_bounds(rows.iter().flat_map(|r| [r.time_us, r.measured_us]));
    let x = LogAxis {
        lo,
        hi,
        p0: left,
        p1: right,
    };
    let y = LogAxis {
        lo,
        hi,
        p0: bottom,
        p1: top,
    };
    for d in x.decades() {
        let (px, py) = (x.map(d), y.map(d));
        svg.line((px, bottom), (px, top), Pen::new("#dddddd", 1.0, None));
        svg.line((left, py), (right, py), Pen::new("#dddddd", 1.0, None));
        svg.text(px, bottom + 14.0, "middle", 10.0, &fmt_time(d));
        svg.text(left - 4.0, py + 4.0, "end", 10.0, &fmt_time(d));
    }
    svg.rect(left, top, right - left, bottom - top, "#333333");
    svg.text(
        (left + right) / 2.0,
        bottom + 32.0,
        "middle",
        11.0,
        "measured",
    );
    svg.text(left, top - 6.0, "start", 11.0, "predicted");
    for (factor, dash) in [
        (1.0, None),
        (1.1, Some("4,3")),
        (0.9, Some("4,3")),
        (1.2, Some("1,3")),
        (0.8, Some("1,3")),
    ] {
        let a = (lo, lo * factor);
        let b = (hi, hi * factor);
        let clip = |(m, p): (f64, f64)| (x.map(m), y.map(p.clamp(lo, hi)));
        let (p1, p2) = (clip(a), clip(b));
        svg.line((p1.0, p1.1), (p2.0, p2.1), Pen::new("#888888", 1.0, dash));
    }
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.algorithm.as_str()) {
            names.push(&r.algorithm);
        }
    }
    for r in rows {
        if !(r.time_us > 0.0 && r.measured_us > 0.0) {
            continue;
        }
        let i = names.iter().position(|n| *n == r.algorithm).unwrap_or(0);
        svg.circle(
            x.map(r.measured_us),
            y.map(r.time_us),
            3.0,
            PALETTE[i % PALETTE.len()],
        );
    }
    for (i, name) in names.iter().enumerate() {
        let ly = top + 12.0 + i as f64 * 14.0;
        svg.circle(right + 16.0, ly - 4.0, 4.0, PALETTE[i % PALETTE.len()]);
        svg.text(right + 26.0, ly, "start", 10.0, name);
    }
    svg.text(right + 10.0, bottom - 30.0, "start", 9.0, "dashed: ±10%");
    svg.text(right + 10.0, bottom - 16.0, "start", 9.0, "dotted: ±20%");
    svg.finish()
}
