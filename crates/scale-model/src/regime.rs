//! Size regimes: one algorithm's cost form fitted separately below and above a buffer size.
//!
//! One alpha-beta-gamma form over every size assumes a message costs the same per byte whether
//! it is 1 KiB or 1 GiB. Real stacks switch protocol with size (MPI's eager and rendezvous,
//! NCCL's LL, LL128 and Simple), and shaped links let a burst that fits the shaper's bucket
//! through faster than the link rate once the link has idled: a schedule whose links idle half
//! the time (the binomial tree) then runs at half its wire cost below a few bucketfuls and at its
//! full cost above. A single fit averages the two and misses both, so — as the piecewise Hockney
//! fits of MPI point-to-point curves do — the fit may split the sizes in two. Both sides share
//! one per-message cost alpha (software does not charge a message by its size, and at large
//! sizes alpha cannot be seen, so a large side of its own would project latency-free messages
//! to 100k ranks); each side gets its own beta and gamma. The split is kept only where it lowers
//! the Bayesian information criterion by at least [`MIN_BIC_GAIN`].
//!
//! A regime is chosen by the buffer size an all-reduce (or a composition's part) reduces: the
//! size the lab measured.

use serde::{Deserialize, Serialize};
use std::fmt;

use topologies::{Algorithm, Case};

use crate::error::ModelError;
use crate::fit::{fit_case_ranges, fit_case_ranges_trimmed, AlgorithmFit, FitOptions, RangesFit};
use crate::measurement::Measurement;
use crate::units::format_size;

/// The buffer sizes (bytes per rank) one fit prices: above `above` (exclusive) and up to
/// `up_to` (inclusive); `None` leaves that side open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SizeRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<u64>,
}

impl SizeRange {
    /// Every size.
    pub const ALL: SizeRange = SizeRange {
        above: None,
        up_to: None,
    };

    pub fn is_all(&self) -> bool {
        self.above.is_none() && self.up_to.is_none()
    }

    pub fn contains(&self, bytes: f64) -> bool {
        self.above.is_none_or(|a| bytes > a as f64) && self.up_to.is_none_or(|u| bytes <= u as f64)
    }

    /// The algorithm's (or case's) name, with these sizes unless they are all: `ring`,
    /// `tree (<= 128K)`, `all_gather ring`.
    pub fn label(&self, algorithm: impl fmt::Display) -> String {
        if self.is_all() {
            algorithm.to_string()
        } else {
            format!("{algorithm} ({})", self.describe())
        }
    }

    /// `<= 16K`, `> 16K`, `> 1K, <= 16K`, or `all sizes`.
    pub fn describe(&self) -> String {
        match (self.above, self.up_to) {
            (None, None) => "all sizes".to_string(),
            (None, Some(u)) => format!("<= {}", format_size(u)),
            (Some(a), None) => format!("> {}", format_size(a)),
            (Some(a), Some(u)) => format!("> {}, <= {}", format_size(a), format_size(u)),
        }
    }
}

/// How the fit treats sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RegimeChoice {
    /// Split in two where the information criterion prefers it (the default).
    #[default]
    Auto,
    /// One form over every size.
    Single,
    /// Split after this size: one fit up to it (inclusive), one above.
    SplitAt(u64),
}

/// Fewest distinct sizes on each side of a split: two are needed to see a per-byte cost, and
/// a third keeps a regime from being two noisy points joined by a line.
pub const MIN_SIZES_PER_REGIME: usize = 3;

/// How much lower a split's BIC must be than one form's: 10 is "very strong" evidence on Kass
/// and Raftery's scale (J. Am. Stat. Assoc. 90, 1995). Trying every split is a search, and a
/// smaller margin splits noisy one-form data now and then.
pub const MIN_BIC_GAIN: f64 = 10.0;

/// The Bayesian information criterion of a least-squares fit of `params` free parameters to `n`
/// points with weighted residual sum of squares `rss` (lower is better). `scale` is the
/// weighted sum of squares of the measured times: residuals below `1e-12` of it are rounding,
/// and comparing two exact fits by their rounding would split on noise.
pub fn bic(rss: f64, scale: f64, n: usize, params: usize) -> f64 {
    let n_f = n as f64;
    let floor = (scale * 1e-24).max(f64::MIN_POSITIVE);
    n_f * (rss.max(floor) / n_f).ln() + params as f64 * n_f.ln()
}

/// The split points to try among `sizes` (sorted, distinct): after each size that leaves at least
/// [`MIN_SIZES_PER_REGIME`] sizes on both sides.
pub fn candidate_splits(sizes: &[u64]) -> Vec<u64> {
    if sizes.len() < 2 * MIN_SIZES_PER_REGIME {
        return Vec::new();
    }
    sizes[MIN_SIZES_PER_REGIME - 1..sizes.len() - MIN_SIZES_PER_REGIME].to_vec()
}

/// [`fit_case_regimes`] of the all-reduce by `algorithm`.
pub fn fit_regimes(
    algorithm: Algorithm,
    measurements: &[&Measurement],
    opts: &FitOptions,
) -> Result<Vec<AlgorithmFit>, ModelError> {
    fit_case_regimes(Case::all_reduce(algorithm), measurements, opts)
}

/// Fits one case as [`FitOptions::regimes`] says: one form, or one per side of a split
/// (the smaller sizes first), the two sharing their per-message cost.
pub fn fit_case_regimes(
    algorithm: Case,
    measurements: &[&Measurement],
    opts: &FitOptions,
) -> Result<Vec<AlgorithmFit>, ModelError> {
    match opts.regimes {
        RegimeChoice::Single => {
            Ok(fit_case_ranges(algorithm, measurements, opts, &[SizeRange::ALL])?.fits)
        }
        RegimeChoice::SplitAt(at) => Ok(split_at(algorithm, measurements, opts, at)?.fits),
        RegimeChoice::Auto => {
            // Chosen on plain fits; the chosen one is then fitted setting outliers aside.
            let plain = |ranges: &[SizeRange]| {
                fit_case_ranges_trimmed(algorithm, measurements, opts, ranges, false)
            };
            let whole = plain(&[SizeRange::ALL])?;
            let score = |f: &RangesFit, extra: usize| bic(f.rss, f.scale, f.points, f.free + extra);
            let mut sizes: Vec<u64> = whole.fits[0].residuals.iter().map(|r| r.bytes).collect();
            sizes.sort_unstable();
            sizes.dedup();
            // The split point is a parameter too.
            let best_split = candidate_splits(&sizes)
                .into_iter()
                .filter_map(|at| plain(&split_ranges(at)).ok().map(|f| (score(&f, 1), at)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let ranges = match best_split {
                Some((s, at)) if s < score(&whole, 0) - MIN_BIC_GAIN => split_ranges(at).to_vec(),
                _ => vec![SizeRange::ALL],
            };
            let chosen = fit_case_ranges(algorithm, measurements, opts, &ranges)?;
            let n = chosen.points;
            let mut fits = chosen.fits;
            if fits.len() > 1 {
                for (i, f) in fits.iter_mut().enumerate() {
                    let other = if i == 0 { "larger" } else { "smaller" };
                    f.notes.push(format!(
                        "sizes {}: beta and gamma fitted apart from the {other} sizes' (alpha \
                         shared): two regimes fit the {n} points better than one, by the \
                         Bayesian information criterion",
                        f.sizes.describe()
                    ));
                }
            }
            Ok(fits)
        }
    }
}

/// One regime for the sizes up to `at` (inclusive), one for those above.
fn split_at(
    algorithm: Case,
    measurements: &[&Measurement],
    opts: &FitOptions,
    at: u64,
) -> Result<RangesFit, ModelError> {
    fit_case_ranges(algorithm, measurements, opts, &split_ranges(at))
}

/// The sizes up to `at` (inclusive), and those above.
fn split_ranges(at: u64) -> [SizeRange; 2] {
    [
        SizeRange {
            above: None,
            up_to: Some(at),
        },
        SizeRange {
            above: Some(at),
            up_to: None,
        },
    ]
}
