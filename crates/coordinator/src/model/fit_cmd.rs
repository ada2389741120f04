//! `collbench model fit RESULTS...`: each algorithm's alpha, beta and gamma with their standard
//! errors and the fit's residuals.

use anyhow::Result;
use scale_model::fit::{Estimate, ParamStatus, PARAM_NAMES};
use scale_model::params::gbps_of;
use scale_model::AlgorithmFit;

use super::args::FitArgs;
use super::lab::Lab;
use super::table::{self, bullets, bytes, pct, sig, Table};
use super::{print_table, straggler_samples, write_json};

pub fn run(args: &FitArgs) -> Result<()> {
    let samples = straggler_samples(args.no_stragglers, args.straggler_max_size);
    let lab = Lab::from_results(&args.results, samples, &args.fitting)?;
    print_table(&render(&lab, args.residuals), &[args.json.as_deref()])?;
    if let Some(path) = &args.json {
        write_json(path, &lab.document())?;
    }
    Ok(())
}

pub fn render(lab: &Lab, residuals: bool) -> String {
    let mut out = format!(
        "# collbench model fit: {} results file(s), {} points, segment {}\n",
        lab.sources.len(),
        lab.measurements.len(),
        bytes(lab.build.segment_bytes as u64)
    );
    out.push_str(
        "# time = alpha x messages + beta x bytes sent + gamma x bytes reduced, per the \
         algorithm's cost form; +- is one standard error\n",
    );
    out.push_str(&fit_table(&lab.fits.fits).render());
    let mut notes: Vec<String> = Vec::new();
    for f in &lab.fits.fits {
        notes.extend(f.notes.iter().map(|n| format!("{}: {n}", f.label())));
    }
    notes.extend(lab.fits.skipped.iter().map(|s| format!("not fitted: {s}")));
    if let Some(s) = &lab.stragglers {
        notes.push(s.describe());
    }
    notes.extend(lab.link_summary());
    notes.extend(lab.notes.iter().cloned());
    if !notes.is_empty() {
        out.push_str("# notes:\n");
        out.push_str(&bullets(&notes));
    }
    if residuals {
        for f in &lab.fits.fits {
            out.push_str(&format!("# residuals of {}\n", f.label()));
            let mut t = Table::new(&["ranks", "size", "measured", "fitted", "error"]);
            for r in &f.residuals {
                t.row(vec![
                    r.nranks.to_string(),
                    bytes(r.bytes),
                    table::time(r.measured_us),
                    table::time(r.fitted_us),
                    pct(r.rel_error),
                ]);
            }
            out.push_str(&t.render());
        }
    }
    out
}

fn fit_table(fits: &[AlgorithmFit]) -> Table {
    let mut t = Table::new(&[
        "algorithm",
        "alpha (us)",
        "beta (ns/B)",
        "gamma (ns/B)",
        "link GB/s",
        "rms err",
        "max err",
        "points",
        "ranks",
        "status",
    ])
    .left(&[0, 8, 9]);
    for f in fits {
        let ranks: Vec<String> = f.nranks.iter().map(|r| r.to_string()).collect();
        t.row(vec![
            f.label(),
            estimate(&f.alpha_us, 1.0),
            estimate(&f.beta_us_per_byte, 1e3),
            estimate(&f.gamma_us_per_byte, 1e3),
            sig(gbps_of(f.beta_us_per_byte.value)),
            format!("{:.1}%", f.rms_rel_error * 100.0),
            format!("{:.1}%", f.max_abs_rel_error * 100.0),
            f.points.to_string(),
            ranks.join(","),
            status(f),
        ]);
    }
    t
}

/// `value ± err` in the unit `scale` converts to; `-` for a parameter the collective has not.
fn estimate(e: &Estimate, scale: f64) -> String {
    if e.status == ParamStatus::NotApplicable {
        return "-".to_string();
    }
    let v = sig(e.value * scale);
    match e.std_err {
        Some(s) => format!("{v} ± {}", sig(s * scale)),
        None => v,
    }
}

/// `fitted`, or which parameters the fit could not estimate and why.
fn status(f: &AlgorithmFit) -> String {
    let est = [&f.alpha_us, &f.beta_us_per_byte, &f.gamma_us_per_byte];
    let odd: Vec<String> = est
        .iter()
        .zip(PARAM_NAMES)
        .filter_map(|(e, name)| match e.status {
            ParamStatus::Fitted | ParamStatus::NotApplicable => None,
            ParamStatus::AtBound => Some(format!("{name}=0 (bound)")),
            ParamStatus::NotIdentifiable => Some(format!("{name} not identifiable")),
        })
        .collect();
    if odd.is_empty() {
        "fitted".to_string()
    } else {
        odd.join(", ")
    }
}
