//! `collbench model noise RESULTS...`: the lab's host noise as a per-step delay distribution,
//! fitted from the spread of its runs' per-iteration times, with every point's evidence.

use anyhow::{bail, Result};
use scale_model::noise_fit::{fit_noise, NoiseFit};

use super::args::NoiseArgs;
use super::load::load;
use super::table::{bullets, bytes, sig, Table};
use super::{print_table, write_json};

pub fn run(args: &NoiseArgs) -> Result<()> {
    let loaded = load(&args.results, Some(args.max_size))?;
    let Some(fit) = fit_noise(&loaded.measurements, &loaded.build, args.max_size) else {
        bail!(
            "no point of {} file(s) at sizes up to {} has per-iteration samples that spread \
             (runs record them in their histograms; rows above --max-size are left out)",
            loaded.sources.len(),
            bytes(args.max_size)
        );
    };
    print_table(
        &render(&fit, loaded.sources.len(), args.max_size),
        &[args.json.as_deref()],
    )?;
    if let Some(path) = &args.json {
        write_json(path, &fit)?;
    }
    Ok(())
}

pub fn render(fit: &NoiseFit, files: usize, max_size: u64) -> String {
    let mut out = format!(
        "# collbench model noise: {files} results file(s), {} points at sizes up to {}: each \
         point's per-iteration times against its schedule's with exponential delays of 1 us \
         before every step's sends\n",
        fit.points.len(),
        bytes(max_size)
    );
    let mut t = Table::new(&[
        "case",
        "ranks",
        "size",
        "samples",
        "IQR (us)",
        "unit IQR (us)",
        "mean delay (us)",
        "from std (us)",
        "step (us)",
        "% of step",
    ]);
    for p in &fit.points {
        t.row(vec![
            p.case.to_string(),
            p.ranks.to_string(),
            bytes(p.bytes),
            p.samples.to_string(),
            sig(p.iqr_us),
            sig(p.unit_iqr_us),
            sig(p.mean_us),
            sig(p.mean_from_std_us),
            sig(p.step_us),
            sig(p.percent_of_step),
        ]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "# a fixed delay: {} (the median of the points' means from their interquartile ranges; \
         from their standard deviations: {} us{}); the points stray from it by a factor of {}\n",
        fit.fixed,
        sig(fit.mean_from_std_us),
        if fit.mean_from_std_us > 1.5 * fit.fixed.delay().mean_us() {
            ", a tail heavier than an exponential's"
        } else {
            ""
        },
        sig(fit.fixed_spread)
    ));
    out.push_str(&format!(
        "# a share of the step: {} (the median of the points' means over their mean step); the \
         points stray from it by a factor of {}\n",
        fit.scaled,
        sig(fit.scaled_spread)
    ));
    if let Some(slope) = fit.slope {
        out.push_str(&format!(
            "# the points' delays grow as step^{} (0: a fixed delay, 1: in proportion to the \
             step)\n",
            sig(slope)
        ));
    }
    out.push_str(&format!(
        "# fitted: {} ({})\n",
        fit.noise,
        if fit.noise.is_scaled() {
            "the points agree more on a share of the step: at a target, the same share of its \
             own steps"
        } else {
            "the points agree more on a fixed delay: at a target, the same delay whatever its \
             steps"
        }
    ));
    out.push_str(&format!(
        "# use it: --lab-noise {d} on fit, validate, predict, sweep and export (the lab's \
         times without it), or [noise] delay = \"{d}\" in a scenario (a target with this \
         lab's hosts)\n",
        d = fit.noise
    ));
    if !fit.skipped.is_empty() {
        out.push_str("# not fitted:\n");
        out.push_str(&bullets(&fit.skipped));
    }
    out
}
