//! The straggler term: how much later than typical the slowest of p ranks finishes.
//!
//! Every per-rank, per-iteration time of a measurement is taken relative to that measurement's
//! median, and the deviations of all measurements are pooled: the noise a rank adds to an
//! iteration, independent of what was run. Its upper tail is fitted ([`TailFit`]); the expected
//! slowest of p ranks is the expected maximum of p draws. The fitted cost forms already contain
//! the straggler delay at the rank counts they were fitted on, so the term added to a prediction
//! at p ranks is E[max of p] - E[max of p_ref], p_ref the largest rank count the samples came
//! from, and never negative. The interval is a bootstrap over the exceedances (resampled with
//! replacement, the tail refitted each time; the body below the threshold held fixed).

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::measurement::Measurement;
use crate::rng::SplitMix64;
use crate::tail::{empirical_quantile, gpd_pwm, TailFit};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StragglerOptions {
    /// Threshold of the tail fit as a quantile (default 0.9).
    pub threshold_quantile: f64,
    /// Bootstrap replicates for the interval (default 100; 0 for none).
    pub bootstrap: usize,
    /// Two-sided coverage of the interval (default 0.9: the 5th to 95th percentile).
    pub confidence: f64,
    pub seed: u64,
}

impl Default for StragglerOptions {
    fn default() -> Self {
        StragglerOptions {
            threshold_quantile: 0.9,
            bootstrap: 100,
            confidence: 0.9,
            seed: 0x5EED,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StragglerModel {
    /// The tail of the per-rank deviations from each measurement's median, microseconds.
    pub tail: TailFit,
    /// The rank count whose straggler delay the fitted forms already contain.
    pub reference_ranks: usize,
    /// Bootstrap replicates of (xi, sigma).
    pub replicates: Vec<(f64, f64)>,
    pub confidence: f64,
    /// Measurements whose samples were pooled.
    pub measurements: usize,
}

/// The straggler term at one rank count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StragglerEstimate {
    pub ranks: usize,
    /// Expected extra delay of the slowest of `ranks` over what the fit already holds, us.
    pub delay_us: f64,
    /// The interval's ends (equal to `delay_us` without bootstrap replicates).
    pub low_us: f64,
    pub high_us: f64,
    /// Expected slowest-of-p deviation from the median, us (not relative to the reference).
    pub expected_max_us: f64,
}

impl StragglerModel {
    /// Pools the samples of every measurement that has at least 2 of them.
    pub fn from_measurements(
        measurements: &[Measurement],
        opts: &StragglerOptions,
    ) -> Result<StragglerModel, ModelError> {
        let mut deviations = Vec::new();
        let mut reference_ranks = 1;
        let mut used = 0;
        for m in measurements {
            let mut s: Vec<f64> = m
                .samples_us
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            if s.len() < 2 {
                continue;
            }
            s.sort_by(f64::total_cmp);
            let median = empirical_quantile(&s, 0.5);
            deviations.extend(s.iter().map(|v| v - median));
            reference_ranks = reference_ranks.max(m.nranks);
            used += 1;
        }
        if used == 0 {
            return Err(ModelError::NoMeasurements {
                what: "the straggler term (no measurement has per-rank latency samples)"
                    .to_string(),
            });
        }
        let mut model = Self::from_deviations(&deviations, reference_ranks, opts)?;
        model.measurements = used;
        Ok(model)
    }

    /// From deviations already pooled; `reference_ranks` as in the module doc.
    pub fn from_deviations(
        deviations: &[f64],
        reference_ranks: usize,
        opts: &StragglerOptions,
    ) -> Result<StragglerModel, ModelError> {
        if !(opts.confidence > 0.0 && opts.confidence < 1.0) {
            return Err(ModelError::BadOption {
                option: "straggler confidence",
                reason: format!("{} is not between 0 and 1", opts.confidence),
            });
        }
        let tail = TailFit::fit(deviations, opts.threshold_quantile)?;
        let exceed = tail.exceedances();
        let mut rng = SplitMix64::new(opts.seed);
        let replicates = (0..opts.bootstrap)
            .map(|_| {
                let resample: Vec<f64> = (0..exceed.len())
                    .map(|_| exceed[rng.below(exceed.len())])
                    .collect();
                let (xi, sigma, _) = gpd_pwm(&resample);
                (xi, sigma)
            })
            .collect();
        Ok(StragglerModel {
            tail,
            reference_ranks: reference_ranks.max(1),
            replicates,
            confidence: opts.confidence,
            measurements: 1,
        })
    }

    /// The straggler term at `ranks`.
    pub fn estimate(&self, ranks: usize) -> StragglerEstimate {
        let p = ranks.max(1) as f64;
        let r = self.reference_ranks as f64;
        let delay = |t: &TailFit| (t.expected_max(p) - t.expected_max(r)).max(0.0);
        let delay_us = delay(&self.tail);
        let expected_max_us = self.tail.expected_max(p);
        if ranks <= self.reference_ranks || self.replicates.is_empty() {
            return StragglerEstimate {
                ranks,
                delay_us,
                low_us: delay_us,
                high_us: delay_us,
                expected_max_us,
            };
        }
        let mut boots: Vec<f64> = self
            .replicates
            .iter()
            .map(|&(xi, sigma)| delay(&self.tail.with_tail(xi, sigma)))
            .collect();
        boots.sort_by(f64::total_cmp);
        let a = (1.0 - self.confidence) / 2.0;
        StragglerEstimate {
            ranks,
            delay_us,
            low_us: empirical_quantile(&boots, a).min(delay_us),
            high_us: empirical_quantile(&boots, 1.0 - a).max(delay_us),
            expected_max_us,
        }
    }

    /// One sentence on the tail's kind and what it implies for growth with p.
    pub fn describe(&self) -> String {
        let t = &self.tail;
        let kind = if t.xi < -0.05 {
            format!(
                "bounded tail (xi = {:.2}): the slowest rank saturates at about {:.1} us above the \
                 median",
                t.xi,
                t.upper_endpoint().unwrap_or(t.threshold)
            )
        } else if t.xi <= 0.05 {
            format!(
                "light, exponential-like tail (xi = {:.2}): grows like log p",
                t.xi
            )
        } else {
            format!("heavy tail (xi = {:.2}): grows like p^{:.2}", t.xi, t.xi)
        };
        format!(
            "stragglers: GPD fitted to {} of {} per-rank deviations above the {:.0}th \
             percentile ({:.1} us), {}; relative to {} ranks, where the fit already holds it{}",
            t.exceedances,
            t.samples,
            t.threshold_quantile * 100.0,
            t.threshold,
            kind,
            self.reference_ranks,
            if t.clamped { "; xi clamped to 0.9" } else { "" }
        )
    }
}
