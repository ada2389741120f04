//! `collbench model validate RESULTS... --fit-max-ranks K`: fit on the runs with at most K ranks,
//! predict the others, and report predicted against measured.

use anyhow::{Context, Result};
use scale_model::plot::scatter_svg;
use scale_model::validate::{ErrorSummary, LARGE_MIN, SMALL_MAX};
use scale_model::{validate, ValidateOptions, ValidationReport};
use serde::Serialize;
use topologies::Algorithm;

use super::args::ValidateArgs;
use super::load::load;
use super::predict_cmd::row_label;
use super::table::{self, bullets, bytes, pct, Table};
use super::{print_table, straggler_samples, write_file, write_json};
use crate::usage::UsageError;

#[derive(Serialize)]
struct ValidateJson<'a> {
    tool: String,
    sources: Vec<String>,
    #[serde(flatten)]
    report: &'a ValidationReport,
    notes: &'a [String],
}

pub fn run(args: &ValidateArgs) -> Result<()> {
    if args.fit_max_ranks < 2 {
        return Err(UsageError(format!(
            "--fit-max-ranks {}: fitting needs runs with at least 2 ranks",
            args.fit_max_ranks
        ))
        .into());
    }
    let samples = straggler_samples(args.no_stragglers, args.straggler_max_size);
    let mut loaded = load(&args.results, samples)?;
    loaded.notes.extend(args.fitting.notes());
    if let Some(max) = samples.filter(|m| *m < u64::MAX) {
        loaded.notes.push(format!(
            "straggler tail from the rows of at most {} (--straggler-max-size)",
            crate::sizes::format_size(max)
        ));
    }
    let mut opts = ValidateOptions::new(args.fit_max_ranks);
    // A fitted noise comes from the runs the model is fitted on, not from those it predicts.
    let fitted_on = loaded
        .measurements
        .iter()
        .filter(|m| m.nranks <= args.fit_max_ranks);
    let (fit, noise_note) = args.fitting.options(loaded.build, fitted_on)?;
    opts.fit = fit;
    loaded.notes.extend(noise_note);
    opts.stragglers = !args.no_stragglers;
    let mut report = validate(&loaded.measurements, &opts).with_context(|| {
        let mut ranks: Vec<usize> = loaded.measurements.iter().map(|m| m.nranks).collect();
        ranks.sort_unstable();
        ranks.dedup();
        format!(
            "validating with --fit-max-ranks {} (the runs have {} ranks)",
            args.fit_max_ranks,
            ranks
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let order = |name: &str| {
        Algorithm::ALL_REDUCE
            .iter()
            .position(|a| a.name() == name)
            .unwrap_or(usize::MAX)
    };
    report.rows.sort_by(|a, b| {
        (a.collective, order(&a.algorithm), a.size, a.ranks).cmp(&(
            b.collective,
            order(&b.algorithm),
            b.size,
            b.ranks,
        ))
    });
    print_table(
        &render(&report, &loaded.notes),
        &[args.json.as_deref(), args.svg.as_deref()],
    )?;
    if let Some(path) = &args.json {
        write_json(
            path,
            &ValidateJson {
                tool: format!("collbench {}", env!("CARGO_PKG_VERSION")),
                sources: loaded
                    .sources
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                report: &report,
                notes: &loaded.notes,
            },
        )?;
    }
    if let Some(path) = &args.svg {
        let title = format!(
            "collbench model validate: fitted on p <= {}, predicted vs measured",
            report.fit_max_ranks
        );
        // One series per collective and algorithm: the plot keys its series on the name.
        let mut rows = report.rows.clone();
        for r in &mut rows {
            r.algorithm = row_label(r.collective, &r.algorithm);
        }
        write_file(path, &scatter_svg(&rows, &title))?;
    }
    Ok(())
}

pub fn render(report: &ValidationReport, notes: &[String]) -> String {
    let mut out = format!(
        "# collbench model validate: fitted on runs with at most {} ranks, predicting the runs \
         with more\n",
        report.fit_max_ranks
    );
    let mut t = Table::new(&[
        "algorithm",
        "ranks",
        "size",
        "predicted",
        "measured",
        "error",
        "pred busbw",
        "meas busbw",
        "host-bound",
    ]);
    for r in &report.rows {
        t.row(vec![
            row_label(r.collective, &r.algorithm),
            r.ranks.to_string(),
            bytes(r.size),
            table::time(r.time_us),
            table::time(r.measured_us),
            pct(r.error),
            table::sig(r.bus_bw),
            table::sig(r.measured_bus_bw),
            if r.host_bound { "yes" } else { "-" }.to_string(),
        ]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "# geometric-mean |error| (small: sizes <= {}, large: sizes >= {})\n",
        bytes(SMALL_MAX),
        bytes(LARGE_MIN)
    ));
    out.push_str(&summary_table(&report.summary).render());
    if report.summary.iter().any(|s| s.host_bound_points > 0) {
        out.push_str(
            "# host-bound: points whose run said a rank's CPU or its host's scheduler, not the \
             link, set the time (results' cpu_bound_ranks, sched_bound_ranks); rest: the error \
             over the others (rest small, rest large: at the sizes of small and large)\n",
        );
    }
    let mut all = report.assumptions.clone();
    all.extend(report.fits.fits.iter().map(|f| {
        format!(
            "{} fitted on {} points at {:?} ranks: alpha {} us, beta {} ns/B, gamma {} ns/B, rms \
             error {:.1}%",
            f.label(),
            f.points,
            f.nranks,
            table::sig(f.alpha_us.value),
            table::sig(f.beta_us_per_byte.value * 1e3),
            table::sig(f.gamma_us_per_byte.value * 1e3),
            f.rms_rel_error * 100.0
        )
    }));
    // The points a fit set aside, so that a prediction's reader sees what its fit left out.
    all.extend(report.fits.fits.iter().flat_map(|f| {
        f.notes
            .iter()
            .filter(|n| n.contains(scale_model::outliers::NOTE))
            .map(move |n| format!("{}: {n}", f.label()))
    }));
    all.extend(notes.iter().cloned());
    out.push_str("# assumptions and notes\n");
    out.push_str(&bullets(&all));
    out
}

fn summary_table(summary: &[ErrorSummary]) -> Table {
    let opt = |v: Option<f64>| {
        v.map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or("-".into())
    };
    let mut t = Table::new(&[
        "algorithm",
        "points",
        "all",
        "small",
        "large",
        "max |error|",
        "host-bound",
        "rest",
        "rest small",
        "rest large",
    ]);
    for s in summary {
        let name = match s.collective {
            None => s.algorithm.clone(),
            Some(c) if s.algorithm == "all" => format!("{c} (all)"),
            Some(c) => row_label(c, &s.algorithm),
        };
        t.row(vec![
            name,
            s.points.to_string(),
            opt(s.geomean_abs_error),
            opt(s.geomean_abs_error_small),
            opt(s.geomean_abs_error_large),
            opt(s.max_abs_error),
            s.host_bound_points.to_string(),
            opt(s.geomean_abs_error_not_host_bound),
            opt(s.geomean_abs_error_small_not_host_bound),
            opt(s.geomean_abs_error_large_not_host_bound),
        ]);
    }
    t
}
