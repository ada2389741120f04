//! Validation: fit on the runs with at most k ranks, predict the measured runs with more, and
//! report how far off the predictions are, per collective and algorithm. Each collective's runs
//! are predicted from its own fits.

use serde::{Deserialize, Serialize};
use topologies::Collective;

use crate::error::ModelError;
use crate::fit::{fit_all, FitOptions, FitReport};
use crate::measurement::Measurement;
use crate::noise::NoiseCost;
use crate::predict::{strategy::terms_of, LevelLink};
use crate::row::ValidationRow;
use crate::straggler::{StragglerModel, StragglerOptions};
use crate::units::alg_bw_gbps;

/// Sizes at or below this are "small" (latency-bound) in the summary.
pub const SMALL_MAX: u64 = 16 * 1024;
/// Sizes at or above this are "large" (bandwidth-bound).
pub const LARGE_MIN: u64 = 256 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct ValidateOptions {
    /// Fit on measurements with at most this many ranks; predict the others.
    pub fit_max_ranks: usize,
    pub fit: FitOptions,
    /// Add the straggler increment from the fitted runs' samples.
    pub stragglers: bool,
    pub straggler: StragglerOptions,
}

impl ValidateOptions {
    pub fn new(fit_max_ranks: usize) -> Self {
        ValidateOptions {
            fit_max_ranks,
            fit: FitOptions::default(),
            stragglers: true,
            straggler: StragglerOptions::default(),
        }
    }
}

/// Geometric mean of |error| over a set of points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorSummary {
    /// The collective summarised; none for the summary over every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collective: Option<Collective>,
    /// `all`, or an algorithm's name.
    pub algorithm: String,
    pub points: usize,
    pub geomean_abs_error: Option<f64>,
    /// Over sizes <= 16 KiB.
    pub geomean_abs_error_small: Option<f64>,
    /// Over sizes >= 256 KiB.
    pub geomean_abs_error_large: Option<f64>,
    pub max_abs_error: Option<f64>,
    /// Points whose run said a rank's CPU or its host's scheduler set them.
    #[serde(default)]
    pub host_bound_points: usize,
    /// Over the points the run did not say so of (where the links set the time, as far as the
    /// run could tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geomean_abs_error_not_host_bound: Option<f64>,
    /// The same over the sizes <= 16 KiB among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geomean_abs_error_small_not_host_bound: Option<f64>,
    /// The same over the sizes >= 256 KiB among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geomean_abs_error_large_not_host_bound: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub fit_max_ranks: usize,
    pub rows: Vec<ValidationRow>,
    /// Over every row; then, where several collectives were predicted, over each collective's;
    /// then per collective and algorithm.
    pub summary: Vec<ErrorSummary>,
    /// The fits used (on the runs with at most `fit_max_ranks` ranks).
    pub fits: FitReport,
    pub assumptions: Vec<String>,
}

impl ValidationReport {
    /// The summary over all rows.
    pub fn overall(&self) -> Option<&ErrorSummary> {
        self.summary.first()
    }
}

pub fn validate(
    measurements: &[Measurement],
    opts: &ValidateOptions,
) -> Result<ValidationReport, ModelError> {
    let k = opts.fit_max_ranks;
    let (train, test): (Vec<Measurement>, Vec<Measurement>) =
        measurements.iter().cloned().partition(|m| m.nranks <= k);
    if train.is_empty() {
        return Err(ModelError::NoMeasurements {
            what: format!("fitting (no run has at most {k} ranks)"),
        });
    }
    if test.is_empty() {
        return Err(ModelError::NoMeasurements {
            what: format!("validation (no run has more than {k} ranks)"),
        });
    }
    let fits = fit_all(&train, &opts.fit);
    let mut assumptions = vec![format!(
        "fitted on {} runs with at most {k} ranks; predicting {} runs with more",
        train.len(),
        test.len()
    )];
    assumptions.extend(fits.skipped.iter().cloned());
    let mut noise = opts
        .fit
        .lab_noise
        .map(|d| NoiseCost::new(d, opts.fit.build));
    if let Some(n) = &noise {
        assumptions.push(format!(
            "the lab's noise: every rank waited a draw from {} before each step's sends; its \
             expected cost (Monte Carlo on each schedule) is taken off the fitted runs and added \
             to the predicted ones, in place of the straggler term",
            n.noise()
        ));
    }
    let straggler = if opts.stragglers && noise.is_none() {
        match StragglerModel::from_measurements(&train, &opts.straggler) {
            Ok(m) => {
                assumptions.push(m.describe());
                Some(m)
            }
            Err(e) => {
                assumptions.push(format!("no straggler term: {e}"));
                None
            }
        }
    } else {
        None
    };

    let mut delays: std::collections::HashMap<usize, f64> = std::collections::HashMap::new();
    let mut rows = Vec::new();
    let mut unpredicted = 0usize;
    for m in &test {
        let Some(fit) = fits.get_case_at(m.case(), m.bytes as f64) else {
            unpredicted += 1;
            continue;
        };
        let build = m.build(&opts.fit.build);
        let Ok(c) = m
            .collective
            .try_cost_looped(m.algorithm, m.nranks, m.bytes as f64, &build)
        else {
            unpredicted += 1;
            continue;
        };
        let p = fit.params();
        let link = LevelLink {
            alpha_us: p.alpha_us,
            beta_us_per_byte: p.beta_us_per_byte,
            gamma_us_per_byte: p.gamma_us_per_byte,
        };
        let mut terms = terms_of(&c, link, 1.0);
        if let Some(n) = noise.as_mut() {
            terms.straggler_us = n.looped_us(
                m.case(),
                m.nranks,
                (m.bytes as f64, build.segment_bytes),
                terms.total(),
            );
        } else if let Some(s) = &straggler {
            terms.straggler_us = *delays
                .entry(m.nranks)
                .or_insert_with(|| s.estimate(m.nranks).delay_us);
        }
        let time_us = terms.total();
        let bus_bw = |t: f64| alg_bw_gbps(m.bytes as f64, t) * m.collective.bus_factor(m.nranks);
        rows.push(ValidationRow {
            collective: m.collective,
            algorithm: m.algorithm.name().to_string(),
            ranks: m.nranks,
            size: m.bytes,
            time_us,
            measured_us: m.time_us,
            error: (time_us - m.time_us) / m.time_us,
            bus_bw: bus_bw(time_us),
            alg_bw: alg_bw_gbps(m.bytes as f64, time_us),
            measured_bus_bw: bus_bw(m.time_us),
            terms,
            host_bound: m.host_bound,
        });
    }
    if unpredicted > 0 {
        assumptions.push(format!(
            "{unpredicted} held-out run(s) not predicted: their collective and algorithm had no \
             fit at <= {k} ranks or the cost form rejects the shape"
        ));
    }
    let summary = summaries(&rows);
    Ok(ValidationReport {
        fit_max_ranks: k,
        rows,
        summary,
        fits,
        assumptions,
    })
}

/// The summary over every row; each collective's, where the rows hold several; then each
/// collective's algorithms' (collectives in [`Collective::ALL`] order, algorithms in each
/// collective's order).
pub fn summaries(rows: &[ValidationRow]) -> Vec<ErrorSummary> {
    let mut summary = vec![summarise(None, "all", rows.iter().collect())];
    let present: Vec<Collective> = Collective::ALL
        .into_iter()
        .filter(|c| rows.iter().any(|r| r.collective == *c))
        .collect();
    for &c in &present {
        let of_c: Vec<&ValidationRow> = rows.iter().filter(|r| r.collective == c).collect();
        if present.len() > 1 {
            summary.push(summarise(Some(c), "all", of_c.clone()));
        }
        for a in c.algorithms() {
            let mine: Vec<&ValidationRow> = of_c
                .iter()
                .copied()
                .filter(|r| r.algorithm == a.name())
                .collect();
            if !mine.is_empty() {
                summary.push(summarise(Some(c), a.name(), mine));
            }
        }
    }
    summary
}

fn summarise(
    collective: Option<Collective>,
    algorithm: &str,
    rows: Vec<&ValidationRow>,
) -> ErrorSummary {
    let errors_of = |keep: &dyn Fn(&ValidationRow) -> bool| -> Vec<f64> {
        rows.iter()
            .filter(|r| keep(r) && r.error.is_finite())
            .map(|r| r.error.abs())
            .collect()
    };
    let errors = |keep: &dyn Fn(u64) -> bool| errors_of(&|r| keep(r.size));
    let rest = |keep: &dyn Fn(u64) -> bool| errors_of(&|r| !r.host_bound && keep(r.size));
    let all = errors(&|_| true);
    let host_bound_points = rows.iter().filter(|r| r.host_bound).count();
    let if_marked = |errors: Vec<f64>| {
        if host_bound_points > 0 {
            geomean(&errors)
        } else {
            None
        }
    };
    ErrorSummary {
        collective,
        algorithm: algorithm.to_string(),
        points: rows.len(),
        geomean_abs_error: geomean(&all),
        geomean_abs_error_small: geomean(&errors(&|s| s <= SMALL_MAX)),
        geomean_abs_error_large: geomean(&errors(&|s| s >= LARGE_MIN)),
        max_abs_error: all.iter().copied().reduce(f64::max),
        host_bound_points,
        geomean_abs_error_not_host_bound: if_marked(rest(&|_| true)),
        geomean_abs_error_small_not_host_bound: if_marked(rest(&|s| s <= SMALL_MAX)),
        geomean_abs_error_large_not_host_bound: if_marked(rest(&|s| s >= LARGE_MIN)),
    }
}

/// Geometric mean, with each value floored at 1e-6 so one exact prediction does not make it 0.
pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let s: f64 = values.iter().map(|v| v.max(1e-6).ln()).sum();
    Some((s / values.len() as f64).exp())
}
