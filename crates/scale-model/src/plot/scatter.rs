//! Predicted against measured, log-log, with the y = x line and +-10% and +-20% bands.

use plotters::prelude::*;

use super::svg::{chart, color, document, fmt_time, log_bounds, Chart, Series, Stroke};
use crate::row::ValidationRow;

pub fn scatter_svg(rows: &[ValidationRow], title: &str) -> String {
    let (lo, hi) = log_bounds(rows.iter().flat_map(|r| [r.time_us, r.measured_us]));
    let grey = RGBColor(0x88, 0x88, 0x88);
    let band = |name: &str, factor: f64, stroke| Series {
        name: name.to_string(),
        points: vec![(lo, lo * factor), (hi, hi * factor)],
        color: grey,
        stroke,
    };
    let mut series = vec![
        band("predicted = measured", 1.0, Stroke::Line { width: 1 }),
        band("±10%", 1.1, Stroke::Dashed { width: 1 }),
        band("", 0.9, Stroke::Dashed { width: 1 }),
        band("±20%", 1.2, Stroke::Dashed { width: 1 }),
        band("", 0.8, Stroke::Dashed { width: 1 }),
    ];
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.algorithm.as_str()) {
            names.push(&r.algorithm);
        }
    }
    for (i, name) in names.iter().enumerate() {
        series.push(Series {
            name: (*name).to_string(),
            points: rows
                .iter()
                .filter(|r| r.algorithm == *name && r.time_us > 0.0 && r.measured_us > 0.0)
                .map(|r| (r.measured_us, r.time_us))
                .collect(),
            color: color(i),
            stroke: Stroke::Markers,
        });
    }
    document(600, 540, |root| {
        chart(
            root,
            &Chart {
                caption: title,
                x_desc: "measured",
                y_desc: "predicted",
                x_range: (lo, hi),
                y_range: (lo, hi),
                y_log: true,
                series: &series,
                x_tick: &fmt_time,
                y_tick: &fmt_time,
                legend: true,
            },
        )
    })
}
