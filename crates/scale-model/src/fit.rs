//! Fitting a case's (a collective by an algorithm) alpha-beta-gamma cost form to measurements.
//!
//! For each measured point the case's cost form gives the coefficients of alpha, beta and
//! gamma ([`Collective::try_cost`]; for all-reduce, [`Algorithm::try_cost`]); the time is modelled as their weighted sum, and the weights are
//! found by non-negative least squares over all sizes and rank counts measured. Residuals are
//! relative (each point divided by its measured time) so that a 1 KiB point counts as much as a
//! 64 MiB one. Standard errors come from the residual variance and the inverse normal matrix.
//!
//! Some forms cannot tell beta and gamma apart: ring moves twice the bytes it reduces at every
//! p, and so does the binomial tree (2D n through its root's two links, D n reduced there), so
//! the two columns are proportional. The fit then keeps gamma at zero, folds the reduction
//! cost into beta, and says so in the fit's notes.
//!
//! Every collective is fitted from its own rows only: an all-gather's points never move a ring
//! all-reduce's parameters. All-gather, all-to-all, broadcast and send/receive reduce nothing,
//! so their gamma has a zero coefficient everywhere and stays at zero.
//!
//! [`fit_ranges`] fits size regimes jointly (one alpha, a beta and gamma per range);
//! [`crate::regime`] decides whether to split.

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, BuildOptions, Case, Collective};

use crate::error::ModelError;
use crate::measurement::Measurement;
use crate::nnls::NnlsSolution;
use crate::noise::NoiseCost;
use crate::noise_form::Noise;
use crate::outliers::{self, fit_setting_aside};
use crate::params::{terms_array, CostParams};
use crate::regime::{RegimeChoice, SizeRange};

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
    /// The noise the lab's runs carried (`collbench run --fault jitter:DIST`): its expected cost
    /// ([`crate::noise`]) is taken off every measured time before the fit, so the forms hold
    /// the links alone.
    pub lab_noise: Option<Noise>,
    /// Fit the points whose runs said the host (a rank's CPU or its scheduler), not the links,
    /// set them too. By default they are left out, so that the forms hold what the network
    /// does; a case with no other point is fitted on them, and the report says so.
    pub keep_host_bound: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            build: BuildOptions::default(),
            relative: true,
            regimes: RegimeChoice::Auto,
            lab_noise: None,
            keep_host_bound: false,
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
    /// Not part of the collective's cost: gamma of a collective that reduces nothing (all-gather,
    /// all-to-all, broadcast, send/receive). Zero.
    NotApplicable,
}

/// One parameter with its standard error (`None` when there were no spare degrees of freedom or
/// the parameter was not estimated).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub std_err: Option<f64>,
    pub status: ParamStatus,
}

impl Estimate {
    /// Parameter `j` of an NNLS solution, with its standard error where the residual variance
    /// `sigma2` is known and the parameter was estimated freely.
    pub(crate) fn of(sol: &NnlsSolution, j: usize, sigma2: Option<f64>) -> Estimate {
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
    }
}

/// The residual variance of an NNLS fit to `n` points, or `None` with no spare degrees of
/// freedom.
pub(crate) fn residual_variance(sol: &NnlsSolution, n: usize) -> Option<f64> {
    let free = sol.free.iter().filter(|f| **f).count();
    (n > free).then(|| sol.rss / (n - free) as f64)
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
    /// The collective fitted: all-reduce in fits saved before there were others.
    #[serde(default)]
    pub collective: Collective,
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
            collective: Collective::AllReduce,
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

    /// The case's name, with the sizes it prices where it is one side of a regime split:
    /// `ring`, `tree (<= 128K)`, `all_gather ring`.
    pub fn label(&self) -> String {
        self.sizes.label(self.case())
    }

    /// The collective and algorithm these parameters price.
    pub fn case(&self) -> Case {
        Case {
            collective: self.collective,
            algorithm: self.algorithm,
        }
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
            .time_us(&self.collective.cost(self.algorithm, nranks, bytes, build))
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
    /// The all-reduce algorithm's first fit (its smallest sizes where it has regimes).
    pub fn get(&self, algorithm: Algorithm) -> Option<&AlgorithmFit> {
        self.get_case(Case::all_reduce(algorithm))
    }

    /// The all-reduce algorithm's fit for a buffer of `bytes` bytes per rank.
    pub fn get_at(&self, algorithm: Algorithm, bytes: f64) -> Option<&AlgorithmFit> {
        self.get_case_at(Case::all_reduce(algorithm), bytes)
    }

    /// The case's first fit (its smallest sizes where it has regimes).
    pub fn get_case(&self, case: Case) -> Option<&AlgorithmFit> {
        self.fits.iter().find(|f| f.case() == case)
    }

    /// The case's fit for a buffer of `bytes` bytes per rank.
    pub fn get_case_at(&self, case: Case, bytes: f64) -> Option<&AlgorithmFit> {
        self.fits
            .iter()
            .find(|f| f.case() == case && f.sizes.contains(bytes))
    }

    /// The collectives that have at least one fit, in [`Collective::ALL`] order.
    pub fn collectives(&self) -> Vec<Collective> {
        Collective::ALL
            .into_iter()
            .filter(|c| self.fits.iter().any(|f| f.collective == *c))
            .collect()
    }
}

/// Every case: each collective's algorithms, collectives in [`Collective::ALL`] order.
pub fn all_cases() -> impl Iterator<Item = Case> {
    Collective::ALL.into_iter().flat_map(|collective| {
        collective.algorithms().iter().map(move |&algorithm| Case {
            collective,
            algorithm,
        })
    })
}

/// Fits every case present in `measurements`: all-reduce's algorithms in [`Algorithm::ALL`]
/// order, then the other collectives' in [`Collective::ALL`] order.
pub fn fit_all(measurements: &[Measurement], opts: &FitOptions) -> FitReport {
    let mut report = FitReport::default();
    let quiet;
    let measurements = match opts.lab_noise {
        Some(delay) => {
            quiet = without_noise(measurements, delay, &opts.build);
            &quiet[..]
        }
        None => measurements,
    };
    let mut left_out = 0;
    for case in all_cases() {
        let mine: Vec<&Measurement> = measurements.iter().filter(|m| m.case() == case).collect();
        if mine.is_empty() {
            continue;
        }
        let network: Vec<&Measurement> = mine.iter().copied().filter(|m| !m.host_bound).collect();
        let fitted = if opts.keep_host_bound || network.len() == mine.len() {
            crate::regime::fit_case_regimes(case, &mine, opts)
        } else {
            match crate::regime::fit_case_regimes(case, &network, opts) {
                Ok(f) => {
                    left_out += mine.len() - network.len();
                    Ok(f)
                }
                Err(_) => {
                    report.skipped.push(format!(
                        "{case}: too few points the network set; fitted on its {} host-bound \
                         ones too, so its parameters carry the host",
                        mine.len() - network.len()
                    ));
                    crate::regime::fit_case_regimes(case, &mine, opts)
                }
            }
        };
        match fitted {
            Ok(f) => report.fits.extend(f),
            Err(e) => report.skipped.push(format!("{case}: {e}")),
        }
    }
    if left_out > 0 {
        report.skipped.push(format!(
            "{left_out} host-bound point(s) left out of the fits: their runs said a rank's CPU \
             or its host's scheduler, not the link, set them (--keep-host-bound fits them too)"
        ));
    }
    let strays = measurements
        .iter()
        .filter(|m| m.collective.check(m.algorithm).is_err())
        .count();
    if strays > 0 {
        report.skipped.push(format!(
            "{strays} point(s) of an algorithm their collective does not have left out"
        ));
    }
    report
}

/// The measurements with the expected cost of `noise` at each one's algorithm and rank count
/// taken off, as a loop of back-to-back calls pays it (never below a twentieth of the measured
/// time).
pub fn without_noise(
    measurements: &[Measurement],
    noise: Noise,
    build: &BuildOptions,
) -> Vec<Measurement> {
    let mut noise = NoiseCost::new(noise, *build);
    measurements
        .iter()
        .map(|m| Measurement {
            time_us: noise.looped_quiet_us(m.case(), m.nranks, m.time_us),
            ..m.clone()
        })
        .collect()
}

/// Fits one all-reduce algorithm's form to its measurements (points of other cases are
/// ignored), one form over every size.
pub fn fit_algorithm(
    algorithm: Algorithm,
    measurements: &[&Measurement],
    opts: &FitOptions,
) -> Result<AlgorithmFit, ModelError> {
    fit_case(Case::all_reduce(algorithm), measurements, opts)
}

/// Fits one case's form to its measurements (points of other cases are ignored), one form
/// over every size.
pub fn fit_case(
    case: Case,
    measurements: &[&Measurement],
    opts: &FitOptions,
) -> Result<AlgorithmFit, ModelError> {
    let mut fits = fit_case_ranges(case, measurements, opts, &[SizeRange::ALL])?.fits;
    fits.pop().ok_or_else(|| ModelError::NoMeasurements {
        what: case.to_string(),
    })
}

/// A joint fit over size ranges, and what the information criterion needs of it.
#[derive(Clone, Debug)]
pub struct RangesFit {
    /// One fit per range, in the order given.
    pub fits: Vec<AlgorithmFit>,
    /// Points fitted, over every range.
    pub points: usize,
    /// The weighted residual sum of squares the fit minimised.
    pub rss: f64,
    /// The weighted sum of squares of the measured times.
    pub scale: f64,
    /// Parameters estimated freely (the shared alpha counted once).
    pub free: usize,
}

/// [`fit_case_ranges`] of the all-reduce by `algorithm`.
pub fn fit_ranges(
    algorithm: Algorithm,
    measurements: &[&Measurement],
    opts: &FitOptions,
    ranges: &[SizeRange],
) -> Result<RangesFit, ModelError> {
    fit_case_ranges(Case::all_reduce(algorithm), measurements, opts, ranges)
}

/// Fits `case` with one per-message cost alpha shared by every range and a per-byte beta
/// and gamma of each range's own: a message's software cost does not depend on its size, the
/// per-byte cost may (a shaper's burst, a protocol switch). `ranges` must not overlap; points
/// outside every range, and points of other cases, are ignored.
pub fn fit_case_ranges(
    case: Case,
    measurements: &[&Measurement],
    opts: &FitOptions,
    ranges: &[SizeRange],
) -> Result<RangesFit, ModelError> {
    fit_case_ranges_trimmed(case, measurements, opts, ranges, true)
}

/// [`fit_case_ranges`], setting aside the points the form misses by far
/// ([`outliers`]) only with `trim`: the size regimes are chosen on plain fits, so that a
/// regime's points are not set aside as outliers of a form that has no regime for them.
pub(crate) fn fit_case_ranges_trimmed(
    case: Case,
    measurements: &[&Measurement],
    opts: &FitOptions,
    ranges: &[SizeRange],
    trim: bool,
) -> Result<RangesFit, ModelError> {
    let mut rows: Vec<[f64; 3]> = Vec::new();
    let mut used: Vec<(&Measurement, usize)> = Vec::new();
    let mut single_rank = 0usize;
    for (index, m) in measurements.iter().enumerate() {
        if m.case() != case {
            continue;
        }
        if !(m.time_us.is_finite() && m.time_us > 0.0) {
            return Err(ModelError::BadMeasurement {
                index,
                case,
                nranks: m.nranks,
                bytes: m.bytes,
                reason: format!("time {} us is not a positive number", m.time_us),
            });
        }
        let Some(range) = ranges.iter().position(|r| r.contains(m.bytes as f64)) else {
            continue;
        };
        if m.nranks < 2 {
            single_rank += 1;
            continue;
        }
        // A lab times calls back to back: each point is one call of such a loop.
        let c = case.collective.try_cost_looped(
            case.algorithm,
            m.nranks,
            m.bytes as f64,
            &m.build(&opts.build),
        )?;
        let x = terms_array(&c);
        if x.iter().all(|v| *v == 0.0) {
            continue;
        }
        rows.push(x);
        used.push((m, range));
    }
    for (r, range) in ranges.iter().enumerate() {
        if !used.iter().any(|(_, i)| *i == r) {
            return Err(ModelError::NoMeasurements {
                what: if range.is_all() {
                    format!("{case} with at least two ranks")
                } else {
                    format!(
                        "{case} with at least two ranks at sizes {}",
                        range.describe()
                    )
                },
            });
        }
    }
    let weight = |m: &Measurement| if opts.relative { 1.0 / m.time_us } else { 1.0 };
    // Columns: alpha, then beta and gamma of each range; a point's own range's columns hold its
    // coefficients, the other ranges' hold zeros.
    let columns = 1 + 2 * ranges.len();
    let x: Vec<Vec<f64>> = rows
        .iter()
        .zip(&used)
        .map(|(r, (m, range))| {
            let mut row = vec![0.0; columns];
            row[0] = r[0];
            row[1 + 2 * range] = r[1];
            row[2 + 2 * range] = r[2];
            row.iter().map(|v| v * weight(m)).collect()
        })
        .collect();
    let y: Vec<f64> = used.iter().map(|(m, _)| m.time_us * weight(m)).collect();
    let ranks: Vec<usize> = used.iter().map(|(m, _)| m.nranks).collect();
    let trimmed = fit_setting_aside(&x, &y, &ranks, trim).ok_or_else(|| ModelError::FitFailed {
        what: case.to_string(),
        reason: "the cost coefficients are not finite".to_string(),
    })?;
    let sol = trimmed.sol;
    let all_points = rows.len();
    let set_aside: Vec<([f64; 3], &Measurement, usize)> = (0..all_points)
        .filter(|&i| !trimmed.kept[i])
        .map(|i| (rows[i], used[i].0, used[i].1))
        .collect();
    let (rows, used): (Vec<[f64; 3]>, Vec<(&Measurement, usize)>) = rows
        .into_iter()
        .zip(used)
        .zip(&trimmed.kept)
        .filter(|(_, kept)| **kept)
        .map(|(point, _)| point)
        .unzip();

    let n = rows.len();
    let free = sol.free.iter().filter(|f| **f).count();
    let sigma2 = residual_variance(&sol, n);
    let estimate = |j: usize| Estimate::of(&sol, j, sigma2);
    let mut fits = Vec::with_capacity(ranges.len());
    for (r, range) in ranges.iter().enumerate() {
        let mut est = [estimate(0), estimate(1 + 2 * r), estimate(2 + 2 * r)];
        if !case.collective.reduces() {
            est[2] = Estimate {
                value: 0.0,
                std_err: None,
                status: ParamStatus::NotApplicable,
            };
        }
        let mine: Vec<(&[f64; 3], &Measurement)> = rows
            .iter()
            .zip(&used)
            .filter(|(_, (_, i))| *i == r)
            .map(|(row, (m, _))| (row, *m))
            .collect();
        let mut notes = Vec::new();
        if single_rank > 0 && r == 0 {
            notes.push(format!(
                "{single_rank} point(s) with one rank skipped: nothing is communicated"
            ));
        }
        for (j, e) in est.iter().enumerate() {
            let absent = mine.iter().all(|(row, _)| row[j] == 0.0);
            if e.status == ParamStatus::NotIdentifiable && absent && j == 0 {
                notes.push(
                    "alpha does not show in a loop of back-to-back calls of this collective \
                     (the root starts the next call while this one travels, so the messages' \
                     latencies overlap the transfers): held at 0; predict prices one call \
                     with the lab's all-reduce ring's per-message cost, or the target's stack's"
                        .to_string(),
                );
            } else if e.status == ParamStatus::NotIdentifiable {
                notes.push(format!(
                    "{} is not identifiable from these points (its coefficient is proportional \
                     to the others'); held at 0 and its cost folded into the fitted parameters",
                    PARAM_NAMES[j]
                ));
            }
        }
        if sigma2.is_none() {
            notes.push(format!(
                "{n} point(s) for {free} free parameter(s): no standard errors"
            ));
        }
        let params = [est[0].value, est[1].value, est[2].value];
        let aside: Vec<String> = set_aside
            .iter()
            .filter(|(_, _, i)| *i == r)
            .map(|(row, m, _)| {
                let form: f64 = row.iter().zip(params).map(|(a, b)| a * b).sum();
                format!(
                    "{} ranks at {} bytes, measured {:.4} us, the form says {:.4} us ({:+.0}%)",
                    m.nranks,
                    m.bytes,
                    m.time_us,
                    form,
                    100.0 * (form - m.time_us) / m.time_us
                )
            })
            .collect();
        if !aside.is_empty() {
            notes.push(format!(
                "{} {}, the form missing each by over {} robust standard \
                 deviations of the points' errors and over {:.0}% (a shaper's burst, a stalled \
                 transfer, a host's hiccup): {}",
                aside.len(),
                outliers::NOTE,
                outliers::DEVIATIONS,
                100.0 * outliers::MIN_ERROR,
                aside.join("; ")
            ));
        }
        fits.push(range_fit(case, *range, est, &mine, notes));
    }
    // The information criterion compares fits over every point, those set aside included.
    let scale = used
        .iter()
        .map(|(m, _)| m.time_us * weight(m))
        .chain(set_aside.iter().map(|(_, m, _)| m.time_us * weight(m)))
        .map(|v| v.powi(2))
        .sum();
    Ok(RangesFit {
        fits,
        points: all_points,
        rss: trimmed.rss_all,
        scale,
        free,
    })
}

/// One range's fit from its estimates and its points' cost coefficients.
fn range_fit(
    case: Case,
    sizes: SizeRange,
    est: [Estimate; 3],
    points: &[(&[f64; 3], &Measurement)],
    mut notes: Vec<String>,
) -> AlgorithmFit {
    let params = CostParams::from_array([est[0].value, est[1].value, est[2].value]);
    let residuals: Vec<Residual> = points
        .iter()
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
    let n = residuals.len().max(1) as f64;
    let rms_rel_error = (residuals.iter().map(|r| r.rel_error.powi(2)).sum::<f64>() / n).sqrt();
    let max_abs_rel_error = residuals
        .iter()
        .map(|r| r.rel_error.abs())
        .fold(0.0, f64::max);
    let mean = residuals.iter().map(|r| r.measured_us).sum::<f64>() / n;
    let ss_tot: f64 = residuals
        .iter()
        .map(|r| (r.measured_us - mean).powi(2))
        .sum();
    let ss_res: f64 = residuals
        .iter()
        .map(|r| (r.fitted_us - r.measured_us).powi(2))
        .sum();
    let r_squared = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    let mut nranks: Vec<usize> = points.iter().map(|(_, m)| m.nranks).collect();
    nranks.sort_unstable();
    nranks.dedup();
    let used: Vec<&Measurement> = points.iter().map(|(_, m)| *m).collect();
    let link_rate_bps = median_link_rate(&used, &mut notes);
    if let Some(rate) = link_rate_bps {
        note_faster_than_the_link(est[1], rate, &mut notes);
    }
    AlgorithmFit {
        collective: case.collective,
        algorithm: case.algorithm,
        sizes,
        alpha_us: est[0],
        beta_us_per_byte: est[1],
        gamma_us_per_byte: est[2],
        points: points.len(),
        nranks,
        rms_rel_error,
        max_abs_rel_error,
        r_squared,
        residuals,
        link_rate_bps,
        notes,
    }
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
