//! Fitting an algorithm's alpha-beta-gamma cost form to measurements.
//!
//! For each measured point the algorithm's cost form gives the coefficients of alpha, beta and
//! gamma ([`Algorithm::cost`]); the time is modelled as their weighted sum, and the weights are
//! found by non-negative least squares over all sizes and rank counts measured. Residuals are
//! relative (each point divided by its measured time) so that a 1 KiB point counts as much as a
//! 64 MiB one. Standard errors come from the residual variance and the inverse normal matrix.
//!
//! Some forms cannot tell beta and gamma apart: ring moves twice the bytes it reduces at every
//! p, and so does the binomial tree (2D n through its root's two links, D n reduced there), so
//! the two columns are proportional. The fit then keeps gamma at zero, folds the reduction
//! cost into beta, and says so in the fit's notes.

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, BuildOptions};

use crate::error::ModelError;
use crate::measurement::Measurement;
use crate::nnls::nnls;
use crate::params::{terms_array, CostParams};
use crate::regime::{bic, candidate_splits, RegimeChoice, SizeRange};

/// Names of the three parameters, in column order.
pub const PARAM_NAMES: [&str; 3] = ["alpha", "beta", "gamma"];

#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    /// Options the cost forms take (segment size, hier group size, torus grid), as the runs used;
    /// a measurement's recorded [`Shape`](crate::Shape) takes the place of this one's.
    pub build: BuildOptions,
    /// Relative residuals (true, the default) or absolute ones.
    pub relative: bool,
    /// One form over every size, or one below and one above a split (see [`crate::regime`]).
    pub regimes: RegimeChoice,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            build: BuildOptions::default(),
            relative: true,
            regimes: RegimeChoice::Auto,
        }
    }
}

/// How a parameter came out of the fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamStatus {
    /// Estimated freely (positive).
    Fitted,
    /// Held at zero by the non-negativity bound.
    AtBound,
    /// Proportional to other parameters' coefficients in every measured point: left at zero, its
    /// cost folded into those parameters.
    NotIdentifiable,
}

/// One parameter with its standard error (`None` when there were no spare degrees of freedom or
/// the parameter was not estimated).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub std_err: Option<f64>,
    pub status: ParamStatus,
}

/// One measured point against the fitted form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Residual {
    pub nranks: usize,
    pub bytes: u64,
    pub measured_us: f64,
    pub fitted_us: f64,
    /// (fitted - measured) / measured.
    pub rel_error: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlgorithmFit {
    pub algorithm: Algorithm,
    /// The buffer sizes these parameters price: every size, or one side of a regime split.
    #[serde(default, skip_serializing_if = "SizeRange::is_all")]
    pub sizes: SizeRange,
    /// Microseconds per message.
    pub alpha_us: Estimate,
    /// Microseconds per byte on a link.
    pub beta_us_per_byte: Estimate,
    /// Microseconds per byte reduced.
    pub gamma_us_per_byte: Estimate,
    pub points: usize,
    /// The rank counts the fit saw.
    pub nranks: Vec<usize>,
    /// Root mean square of the relative residuals.
    pub rms_rel_error: f64,
    /// Largest |relative residual|.
    pub max_abs_rel_error: f64,
    /// Coefficient of determination on the times themselves.
    pub r_squared: f64,
    pub residuals: Vec<Residual>,
    /// The link rate the runs were configured with (median over points that had one), bits/s.
    pub link_rate_bps: Option<f64>,
    /// What the reader should know: unidentifiable parameters, skipped points, mixed link rates.
    pub notes: Vec<String>,
}

impl AlgorithmFit {
    /// A fit with given parameters and no points: for parameters known from elsewhere (a saved
    /// profile, a vendor's numbers) and for tests.
    pub fn from_params(
        algorithm: Algorithm,
        params: CostParams,
        link_rate_bps: Option<f64>,
    ) -> Self {
        let given = |value: f64| Estimate {
            value,
            std_err: None,
            status: ParamStatus::Fitted,
        };
        AlgorithmFit {
            algorithm,
            sizes: SizeRange::ALL,
            alpha_us: given(params.alpha_us),
            beta_us_per_byte: given(params.beta_us_per_byte),
            gamma_us_per_byte: given(params.gamma_us_per_byte),
            points: 0,
            nranks: Vec::new(),
            rms_rel_error: 0.0,
            max_abs_rel_error: 0.0,
            r_squared: 1.0,
            residuals: Vec::new(),
            link_rate_bps,
            notes: vec!["parameters given, not fitted".to_string()],
        }
    }

    /// The algorithm's name, with the sizes it prices where it is one side of a regime split:
    /// `ring`, `tree (<= 128K)`.
    pub fn label(&self) -> String {
        self.sizes.label(self.algorithm)
    }

    pub fn params(&self) -> CostParams {
        CostParams {
            alpha_us: self.alpha_us.value,
            beta_us_per_byte: self.beta_us_per_byte.value,
            gamma_us_per_byte: self.gamma_us_per_byte.value,
        }
    }

    /// The fitted time for `nranks` and `bytes`, or NaN where the cost form rejects the shape.
    pub fn time_us(&self, nranks: usize, bytes: f64, build: &BuildOptions) -> f64 {
        self.params()
            .time_us(&self.algorithm.cost(nranks, bytes, build))
    }
}

/// Fits of every algorithm that had usable measurements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub fits: Vec<AlgorithmFit>,
    /// Algorithms that had measurements but no fit, and why.
    pub skipped: Vec<String>,
}

impl FitReport {
    /// The algorithm's first fit (its smallest sizes where it has regimes).
    pub fn get(&self, algorithm: Algorithm) -> Option<&AlgorithmFit> {
        self.fits.iter().find(|f| f.algorithm == algorithm)
    }

    /// The algorithm's fit for a buffer of `bytes` bytes per rank.
    pub fn get_at(&self, algorithm: Algorithm, bytes: f64) -> Option<&AlgorithmFit> {
        self.fits
            .iter()
            .find(|f| f.algorithm == algorithm && f.sizes.contains(bytes))
    }
}

/// Fits every algorithm present in `measurements`, in [`Algorithm::ALL`] order.
pub fn fit_all(measurements: &[Measurement], opts: &FitOptions) -> FitReport {
    let mut report = FitReport::default();
    for algorithm in Algorithm::ALL {
        let mine: Vec<&Measurement> = measurements
            .iter()
            .filter(|m| m.algorithm == algorithm)
            .collect();
        if mine.is_empty() {
            continue;
        }
        match fit_regimes(algorithm, &mine, opts) {
            Ok(f) => report.fits.extend(f),
            Err(e) => report.skipped.push(format!("{algorithm}: {e}")),
        }
    }
    report
}

/// Fits one algorithm as [`FitOptions::regimes`] says: one form, or one per side of a split
/// (the smaller sizes first).
pub fn fit_regimes(
    algorithm: Algorithm,
    measurements: &[&Measurement],
    opts: &FitOptions,
) -> Result<Vec<AlgorithmFit>, ModelError> {
    let single = || fit_algorithm(algorithm, measurements, opts);
    match opts.regimes {
        RegimeChoice::Single => Ok(vec![single()?]),
        RegimeChoice::SplitAt(at) => split_at(algorithm, measurements, opts, at),
        RegimeChoice::Auto => {
            let whole = single()?;
            let n = whole.points;
            let scale = weighted_total(&whole, opts);
            let mut best = (
                bic(weighted_rss(&whole, opts), scale, n, free_params(&whole)),
                None,
            );
            let mut sizes: Vec<u64> = whole.residuals.iter().map(|r| r.bytes).collect();
            sizes.sort_unstable();
            sizes.dedup();
            for at in candidate_splits(&sizes) {
                let Ok(parts) = split_at(algorithm, measurements, opts, at) else {
                    continue;
                };
                let rss = parts.iter().map(|f| weighted_rss(f, opts)).sum();
                // The split point is a parameter too.
                let k = parts.iter().map(free_params).sum::<usize>() + 1;
                let score = bic(rss, scale, n, k);
                if score < best.0 {
                    best = (score, Some(parts));
                }
            }
            Ok(match best.1 {
                None => vec![whole],
                Some(mut parts) => {
                    for (i, f) in parts.iter_mut().enumerate() {
                        let other = if i == 0 { "larger" } else { "smaller" };
                        f.notes.push(format!(
                            "sizes {} fitted apart from the {other} sizes: two forms fit the {n} \
                             points better than one, by the Bayesian information criterion",
                            f.sizes.describe()
                        ));
                    }
                    parts
                }
            })
        }
    }
}

/// One fit for the sizes up to `at` (inclusive) and one for those above.
fn split_at(
    algorithm: Algorithm,
    measurements: &[&Measurement],
    opts: &FitOptions,
    at: u64,
) -> Result<Vec<AlgorithmFit>, ModelError> {
    let ranges = [
        SizeRange {
            above: None,
            up_to: Some(at),
        },
        SizeRange {
            above: Some(at),
            up_to: None,
        },
    ];
    ranges
        .into_iter()
        .map(|range| {
            let mine: Vec<&Measurement> = measurements
                .iter()
                .copied()
                .filter(|m| range.contains(m.bytes as f64))
                .collect();
            let mut f = fit_algorithm(algorithm, &mine, opts).map_err(|e| match e {
                ModelError::NoMeasurements { what } => ModelError::NoMeasurements {
                    what: format!("{what} at sizes {}", range.describe()),
                },
                other => other,
            })?;
            f.sizes = range;
            Ok(f)
        })
        .collect()
}

/// The residual sum of squares the fit minimised (relative or absolute residuals).
fn weighted_rss(f: &AlgorithmFit, opts: &FitOptions) -> f64 {
    f.residuals
        .iter()
        .map(|r| {
            if opts.relative {
                r.rel_error.powi(2)
            } else {
                (r.fitted_us - r.measured_us).powi(2)
            }
        })
        .sum()
}

/// The weighted sum of squares of the measured times (relative residuals weigh each time by
/// itself, so each point counts 1).
fn weighted_total(f: &AlgorithmFit, opts: &FitOptions) -> f64 {
    if opts.relative {
        f.residuals.len() as f64
    } else {
        f.residuals.iter().map(|r| r.measured_us.powi(2)).sum()
    }
}

fn free_params(f: &AlgorithmFit) -> usize {
    [&f.alpha_us, &f.beta_us_per_byte, &f.gamma_us_per_byte]
        .iter()
        .filter(|e| e.status == ParamStatus::Fitted)
        .count()
}

/// Fits one algorithm's form to its measurements (points of other algorithms are ignored).
pub fn fit_algorithm(
    algorithm: Algorithm,
    measurements: &[&Measurement],
    opts: &FitOptions,
) -> Result<AlgorithmFit, ModelError> {
    let mut notes = Vec::new();
    let mut rows = Vec::new();
    let mut used: Vec<&Measurement> = Vec::new();
    let mut single_rank = 0usize;
    for (index, m) in measurements.iter().enumerate() {
        if m.algorithm != algorithm {
            continue;
        }
        if !(m.time_us.is_finite() && m.time_us > 0.0) {
            return Err(ModelError::BadMeasurement {
                index,
                algorithm,
                nranks: m.nranks,
                bytes: m.bytes,
                reason: format!("time {} us is not a positive number", m.time_us),
            });
        }
        if m.nranks < 2 {
            single_rank += 1;
            continue;
        }
        let c = algorithm.try_cost(m.nranks, m.bytes as f64, &m.build(&opts.build))?;
        let x = terms_array(&c);
        if x.iter().all(|v| *v == 0.0) {
            continue;
        }
        rows.push(x);
        used.push(m);
    }
    if single_rank > 0 {
        notes.push(format!(
            "{single_rank} point(s) with one rank skipped: nothing is communicated"
        ));
    }
    if rows.is_empty() {
        return Err(ModelError::NoMeasurements {
            what: format!("{algorithm} with at least two ranks"),
        });
    }
    let weight = |m: &Measurement| if opts.relative { 1.0 / m.time_us } else { 1.0 };
    let x: Vec<Vec<f64>> = rows
        .iter()
        .zip(&used)
        .map(|(r, m)| r.iter().map(|v| v * weight(m)).collect())
        .collect();
    let y: Vec<f64> = used.iter().map(|m| m.time_us * weight(m)).collect();
    let sol = nnls(&x, &y).ok_or_else(|| ModelError::FitFailed {
        what: algorithm.to_string(),
        reason: "the cost coefficients are not finite".to_string(),
    })?;

    let n = rows.len();
    let k = sol.free.iter().filter(|f| **f).count();
    let sigma2 = (n > k).then(|| sol.rss / (n - k) as f64);
    let estimate = |j: usize| {
        let status = if sol.free[j] {
            ParamStatus::Fitted
        } else if sol.collinear[j] {
            ParamStatus::NotIdentifiable
        } else {
            ParamStatus::AtBound
        };
        let std_err = match (status, sigma2) {
            (ParamStatus::Fitted, Some(s2)) => Some((s2 * sol.inv_normal[j][j]).max(0.0).sqrt()),
            _ => None,
        };
        Estimate {
            value: sol.coef[j],
            std_err,
            status,
        }
    };
    let est = [estimate(0), estimate(1), estimate(2)];
    for (j, e) in est.iter().enumerate() {
        if e.status == ParamStatus::NotIdentifiable {
            notes.push(format!(
                "{} is not identifiable from these points (its coefficient is proportional to \
                 the others'); held at 0 and its cost folded into the fitted parameters",
                PARAM_NAMES[j]
            ));
        }
    }
    if sigma2.is_none() {
        notes.push(format!(
            "{n} point(s) for {k} free parameter(s): no standard errors"
        ));
    }

    let params = CostParams::from_array([est[0].value, est[1].value, est[2].value]);
    let residuals: Vec<Residual> = rows
        .iter()
        .zip(&used)
        .map(|(r, m)| {
            let fitted = params.alpha_us * r[0]
                + params.beta_us_per_byte * r[1]
                + params.gamma_us_per_byte * r[2];
            Residual {
                nranks: m.nranks,
                bytes: m.bytes,
                measured_us: m.time_us,
                fitted_us: fitted,
                rel_error: (fitted - m.time_us) / m.time_us,
            }
        })
        .collect();
    let rms_rel_error =
        (residuals.iter().map(|r| r.rel_error.powi(2)).sum::<f64>() / n as f64).sqrt();
    let max_abs_rel_error = residuals
        .iter()
        .map(|r| r.rel_error.abs())
        .fold(0.0, f64::max);
    let mean = used.iter().map(|m| m.time_us).sum::<f64>() / n as f64;
    let ss_tot: f64 = used.iter().map(|m| (m.time_us - mean).powi(2)).sum();
    let ss_res: f64 = residuals
        .iter()
        .map(|r| (r.fitted_us - r.measured_us).powi(2))
        .sum();
    let r_squared = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };

    let mut nranks: Vec<usize> = used.iter().map(|m| m.nranks).collect();
    nranks.sort_unstable();
    nranks.dedup();
    let link_rate_bps = median_link_rate(&used, &mut notes);
    if let Some(rate) = link_rate_bps {
        note_faster_than_the_link(est[1], rate, &mut notes);
    }

    Ok(AlgorithmFit {
        algorithm,
        sizes: SizeRange::ALL,
        alpha_us: est[0],
        beta_us_per_byte: est[1],
        gamma_us_per_byte: est[2],
        points: n,
        nranks,
        rms_rel_error,
        max_abs_rel_error,
        r_squared,
        residuals,
        link_rate_bps,
        notes,
    })
}

/// A fitted bandwidth above the lab's link rate (by more than noise) is not the link's cost:
/// say so where the fit is read, not only where `predict` caps it.
fn note_faster_than_the_link(beta: Estimate, rate_bps: f64, notes: &mut Vec<String>) {
    if beta.value <= 0.0 {
        return;
    }
    let fitted_bps = 8e6 / beta.value;
    let ratio = fitted_bps / rate_bps;
    if ratio > 1.05 {
        notes.push(format!(
            "fitted bandwidth is {ratio:.2}x the lab's link rate; no link is faster \
             than itself, so beta here is not the link's (a token-bucket shaper lets a message \
             that fits its bucket through at memory speed after the link idled); `predict` caps \
             the efficiency at 1"
        ));
    }
}

fn median_link_rate(used: &[&Measurement], notes: &mut Vec<String>) -> Option<f64> {
    let mut rates: Vec<f64> = used
        .iter()
        .filter_map(|m| m.link_rate_bps)
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    if rates.is_empty() {
        return None;
    }
    rates.sort_by(f64::total_cmp);
    let lo = rates[0];
    let hi = rates[rates.len() - 1];
    if hi > lo * 1.0001 {
        notes.push(format!(
            "points were measured at different link rates ({lo} to {hi} bit/s); the median is \
             used as the lab's link rate"
        ));
    }
    Some(rates[rates.len() / 2])
}
