//! `collbench model sweep`: what-if tables. Every combination of the `--vary` values is a
//! scenario of its own (checked as a scenario file is), predicted like `predict` does; the best
//! strategy per rank count and size is kept.

use std::path::Path;

use anyhow::{Context, Result};
use scale_model::plot::svg::{chart, color, document, fmt_time, log_bounds, Chart, Series, Stroke};
use scale_model::scenario::vary::{combinations, with_values};
use scale_model::{predict, PredictInput, Scenario};
use serde::Serialize;
use toml::Value;
use topologies::Collective;

use super::args::SweepArgs;
use super::predict_cmd::{row_label, target_pricing};
use super::table::{self, bytes, count, sig, Table};
use super::{print_table, read_scenario, write_file, write_json};
use crate::usage::UsageError;

/// The best strategy of one collective at one point of the sweep.
#[derive(Clone, Debug, Serialize)]
struct SweepRow {
    /// The value each varied field took, in `--vary` order.
    values: Vec<Value>,
    collective: Collective,
    ranks: usize,
    size: u64,
    best: String,
    time_us: f64,
    bus_bw: f64,
    dominant: String,
}

#[derive(Serialize)]
struct SweepJson<'a> {
    tool: String,
    scenario: &'a str,
    /// The varied fields, in `--vary` order.
    varied: Vec<&'a str>,
    rows: &'a [SweepRow],
    /// The assumptions of the first point's prediction (the others differ only in the values).
    assumptions: &'a [String],
}

pub fn run(args: &SweepArgs) -> Result<()> {
    let (lab, lab_ref, opts) = target_pricing(&args.target)?;
    let base = read_scenario(&args.scenario)?;
    let mut rows = Vec::new();
    let mut assumptions = Vec::new();
    for combo in combinations(&args.vary) {
        let scenario = with_values(&base, &combo).map_err(|e| UsageError(format!("--vary {e}")))?;
        let ranks = match &args.ranks {
            Some(r) => r.0.clone(),
            None => vec![scenario.cluster.gpus],
        };
        let input = PredictInput {
            fits: &lab.fits,
            scenario: &scenario,
            lab: lab_ref,
            stragglers: lab.stragglers.as_ref(),
        };
        let p = predict(&input, &ranks, &args.sizes.0, &opts)
            .with_context(|| format!("predicting {}", describe(&combo)))?;
        if assumptions.is_empty() {
            assumptions = p.assumptions.clone();
        }
        rows.extend(p.best.iter().map(|b| SweepRow {
            values: combo.iter().map(|(_, v)| v.clone()).collect(),
            collective: b.collective,
            ranks: b.ranks,
            size: b.size,
            best: row_label(b.collective, &b.algorithm),
            time_us: b.time_us,
            bus_bw: b.bus_bw,
            dominant: b.dominant.name().to_string(),
        }));
    }
    let varied: Vec<&str> = args.vary.iter().map(|v| v.path.as_str()).collect();
    print_table(
        &render(&base, &varied, &rows, lab.is_none()),
        &[args.json.as_deref(), args.svg.as_deref()],
    )?;
    if let Some(path) = &args.json {
        write_json(
            path,
            &SweepJson {
                tool: format!("collbench {}", env!("CARGO_PKG_VERSION")),
                scenario: &base.name,
                varied: varied.clone(),
                rows: &rows,
                assumptions: &assumptions,
            },
        )?;
    }
    if let Some(path) = &args.svg {
        write_svg(path, &base, &varied, &rows)?;
    }
    Ok(())
}

fn describe(combo: &[(String, Value)]) -> String {
    combo
        .iter()
        .map(|(p, v)| format!("{p} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render(base: &Scenario, varied: &[&str], rows: &[SweepRow], hardware: bool) -> String {
    let mut out = format!(
        "# collbench model sweep: scenario '{}', {} point(s){}\n",
        base.name,
        rows.len(),
        if hardware {
            ", every algorithm from the hardware alone (no lab)"
        } else {
            ""
        }
    );
    let mut head: Vec<&str> = varied.to_vec();
    head.extend(["ranks", "size", "best", "time", "busbw GB/s", "dominant"]);
    let mut t = Table::new(&head).left(&[varied.len() + 2, varied.len() + 5]);
    for r in rows {
        let mut cells: Vec<String> = r.values.iter().map(value_text).collect();
        cells.extend([
            count(r.ranks),
            bytes(r.size),
            r.best.clone(),
            table::time(r.time_us),
            sig(r.bus_bw),
            r.dominant.clone(),
        ]);
        t.row(cells);
    }
    out.push_str(&t.render());
    out
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Best time against the first varied field, a line per combination of the rest, rank count
/// and size.
fn write_svg(path: &Path, base: &Scenario, varied: &[&str], rows: &[SweepRow]) -> Result<()> {
    if rows
        .iter()
        .any(|r| r.values.first().and_then(number).is_none_or(|x| x <= 0.0))
    {
        return Err(UsageError(format!(
            "--svg: the first --vary ({}) must take positive numbers to be an axis",
            varied.first().copied().unwrap_or("")
        ))
        .into());
    }
    let mut series: Vec<Series> = Vec::new();
    for r in rows {
        let rest: Vec<String> = varied
            .iter()
            .zip(&r.values)
            .skip(1)
            .map(|(p, v)| format!("{p}={}", value_text(v)))
            .chain((r.collective != Collective::AllReduce).then(|| r.collective.to_string()))
            .chain([format!("{} ranks", count(r.ranks)), bytes(r.size)])
            .collect();
        let name = rest.join(", ");
        let x = r.values.first().and_then(number).unwrap_or(1.0);
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push((x, r.time_us)),
            None => series.push(Series {
                name,
                points: vec![(x, r.time_us)],
                color: color(series.len()),
                stroke: Stroke::Line { width: 2 },
            }),
        }
    }
    let xs = || {
        rows.iter()
            .filter_map(|r| r.values.first().and_then(number))
    };
    let x_range = (
        xs().fold(f64::INFINITY, f64::min) / 1.2,
        xs().fold(0.0, f64::max) * 1.2,
    );
    let caption = if rows.iter().all(|r| r.collective == Collective::AllReduce) {
        format!("{}: best all-reduce time per point", base.name)
    } else {
        format!("{}: best time per collective and point", base.name)
    };
    let svg = document(760, 480, |root| {
        chart(
            root,
            &Chart {
                caption: &caption,
                x_desc: varied.first().copied().unwrap_or(""),
                y_desc: "best time",
                x_range,
                y_range: log_bounds(rows.iter().map(|r| r.time_us)),
                y_log: true,
                series: &series,
                x_tick: &|x| {
                    let s = sig(x);
                    if s.contains('.') {
                        s.trim_end_matches('0').trim_end_matches('.').to_string()
                    } else {
                        s
                    }
                },
                y_tick: &fmt_time,
                legend: series.len() <= 12,
            },
        )
    });
    write_file(path, &svg)
}
