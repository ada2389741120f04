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
        ]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "# fitted: {} (the median of the points' means from their interquartile ranges; from \
         their standard deviations: {} us{})\n",
        fit.delay,
        sig(fit.mean_from_std_us),
        if fit.mean_from_std_us > 1.5 * fit.delay.mean_us() {
            ", a tail heavier than an exponential's"
        } else {
            ""
        }
    ));
    out.push_str(&format!(
        "# use it: --lab-noise {d} on fit, validate, predict, sweep and export (the lab's \
         times without it), or [noise] delay = \"{d}\" in a scenario (a target with this \
         lab's hosts)\n",
        d = fit.delay
    ));
    if !fit.skipped.is_empty() {
        out.push_str("# not fitted:\n");
        out.push_str(&bullets(&fit.skipped));
    }
    out
}
