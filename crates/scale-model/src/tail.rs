//! The upper tail of a latency distribution and the expected maximum of p draws from it.
//!
//! Below a high threshold u (by default the 90th percentile) the empirical distribution is used
//! as it is; above it the exceedances x - u are fitted with a generalised Pareto distribution
//! (GPD) by probability-weighted moments (Hosking and Wallis, Technometrics 1987), which is closed
//! form and robust for the shape range latency tails have. The GPD's shape xi says how the
//! slowest of p ranks grows: xi < 0 bounded (saturates at u + sigma / -xi), xi = 0 exponential
//! (grows like log p: sigma x H_p for a pure exponential), xi > 0 heavy (grows like p^xi).
//!
//! E[max of p] = integral over s in (0, 1) of Q(1 - s) p (1 - s)^(p - 1) ds, with Q the
//! quantile function; it is evaluated numerically on a logarithmic grid in s, which resolves the
//! region s ~ 1/p that dominates at any p up to far beyond 131,072, over the range of s whose
//! weight is not negligible (about 500 points for a light tail).

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Shapes above this are clamped: E[max] is infinite at xi >= 1, and PWM is unreliable near it.
pub const MAX_XI: f64 = 0.9;

/// Fewest exceedances the tail fit takes.
pub const MIN_EXCEEDANCES: usize = 10;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailFit {
    /// The threshold as a quantile of the samples.
    pub threshold_quantile: f64,
    /// The threshold u, in the samples' unit.
    pub threshold: f64,
    /// Fraction of samples above u.
    pub tail_fraction: f64,
    /// GPD shape.
    pub xi: f64,
    /// GPD scale.
    pub sigma: f64,
    pub samples: usize,
    pub exceedances: usize,
    /// Whether xi was clamped to [`MAX_XI`].
    pub clamped: bool,
    #[serde(skip)]
    sorted: Vec<f64>,
}

impl TailFit {
    /// Fits the tail of `samples` above their `threshold_quantile` quantile (0.5 to 0.995).
    pub fn fit(samples: &[f64], threshold_quantile: f64) -> Result<TailFit, ModelError> {
        if !(0.5..=0.995).contains(&threshold_quantile) {
            return Err(ModelError::BadOption {
                option: "threshold quantile",
                reason: format!("{threshold_quantile} is not between 0.5 and 0.995"),
            });
        }
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let threshold = empirical_quantile(&sorted, threshold_quantile);
        let exceed: Vec<f64> = sorted
            .iter()
            .filter(|v| **v > threshold)
            .map(|v| v - threshold)
            .collect();
        if exceed.len() < MIN_EXCEEDANCES {
            return Err(ModelError::TooFewPoints {
                what: format!(
                    "latency tail above the {:.0}th percentile",
                    threshold_quantile * 100.0
                ),
                have: exceed.len(),
                need: MIN_EXCEEDANCES,
            });
        }
        let (xi, sigma, clamped) = gpd_pwm(&exceed);
        Ok(TailFit {
            threshold_quantile,
            threshold,
            tail_fraction: exceed.len() as f64 / sorted.len() as f64,
            xi,
            sigma,
            samples: sorted.len(),
            exceedances: exceed.len(),
            clamped,
            sorted,
        })
    }

    /// The exceedances over the threshold, ascending (for resampling).
    pub fn exceedances(&self) -> Vec<f64> {
        self.sorted
            .iter()
            .filter(|v| **v > self.threshold)
            .map(|v| v - self.threshold)
            .collect()
    }

    /// The same body with another tail shape and scale.
    pub fn with_tail(&self, xi: f64, sigma: f64) -> TailFit {
        TailFit {
            xi: xi.min(MAX_XI),
            sigma,
            clamped: xi > MAX_XI,
            ..self.clone()
        }
    }

    /// The upper end of the distribution, where the tail is bounded (xi < 0).
    pub fn upper_endpoint(&self) -> Option<f64> {
        (self.xi < 0.0).then(|| self.threshold + self.sigma / -self.xi)
    }

    /// The q-quantile: empirical below the threshold, GPD above it.
    pub fn quantile(&self, q: f64) -> f64 {
        let q = q.clamp(0.0, 1.0);
        if q <= 1.0 - self.tail_fraction {
            return empirical_quantile(&self.sorted, q);
        }
        let s = ((1.0 - q) / self.tail_fraction).clamp(f64::MIN_POSITIVE, 1.0);
        self.threshold + gpd_exceedance(self.xi, self.sigma, s)
    }

    /// The tail quantile at exceedance probability `s` = 1 - q, accurate for tiny s.
    fn quantile_upper(&self, s: f64) -> f64 {
        if s >= self.tail_fraction {
            return empirical_quantile(&self.sorted, 1.0 - s);
        }
        self.threshold + gpd_exceedance(self.xi, self.sigma, s / self.tail_fraction)
    }

    /// The expected maximum of `p` independent draws (the mean for p <= 1).
    pub fn expected_max(&self, p: f64) -> f64 {
        let p = p.max(1.0);
        let density = |s: f64| {
            // p (1 - s)^(p - 1), computed in logs for large p.
            if s >= 1.0 {
                return if p == 1.0 { 1.0 } else { 0.0 };
            }
            p * ((p - 1.0) * (-s).ln_1p()).exp()
        };
        // Above s = 80/p the weight is below p e^-80: nothing there counts.
        let s_hi = (80.0 / p).min(0.5);
        // Below s_lo the part left out is about (p s_lo)^(1 - xi) of the whole: 1e-9.
        let heavy = self.xi.clamp(0.0, MAX_XI);
        let s_lo = (10f64.powf(-9.0 / (1.0 - heavy)) / p).max(1e-300);
        // s in [s_lo, s_hi] on a logarithmic grid (ds = s dt), steps of 0.05 in ln s.
        let (t0, t1) = (s_lo.ln(), s_hi.ln());
        let steps = (((t1 - t0) / 0.05).ceil() as usize).max(64);
        let lower = simpson(t0, t1, steps, |t| {
            let s = t.exp();
            self.quantile_upper(s) * density(s) * s
        });
        // s in [0.5, 1] (only small p weigh it): a uniform grid.
        let upper = if s_hi >= 0.5 {
            simpson(0.5, 1.0, 512, |s| self.quantile_upper(s) * density(s))
        } else {
            0.0
        };
        upper + lower
    }
}

/// GPD exceedance at survival probability `s` of the tail: sigma/xi (s^-xi - 1), or -sigma ln s.
pub fn gpd_exceedance(xi: f64, sigma: f64, s: f64) -> f64 {
    if xi.abs() < 1e-9 {
        -sigma * s.ln()
    } else {
        sigma / xi * (s.powf(-xi) - 1.0)
    }
}

/// Probability-weighted-moment estimates (xi, sigma) of a GPD from exceedances; the bool says
/// whether xi was clamped to [`MAX_XI`].
pub fn gpd_pwm(exceedances: &[f64]) -> (f64, f64, bool) {
    let mut y: Vec<f64> = exceedances.to_vec();
    y.sort_by(f64::total_cmp);
    let m = y.len();
    if m < 2 {
        let mean = y.first().copied().unwrap_or(0.0);
        return (0.0, mean.max(f64::MIN_POSITIVE), false);
    }
    let a0 = y.iter().sum::<f64>() / m as f64;
    let a1 = y
        .iter()
        .enumerate()
        .map(|(j, v)| v * (m - 1 - j) as f64 / (m - 1) as f64)
        .sum::<f64>()
        / m as f64;
    let denom = a0 - 2.0 * a1;
    if a0 <= 0.0 {
        return (0.0, f64::MIN_POSITIVE, false);
    }
    if denom <= 1e-12 * a0 {
        // Exceedances all (nearly) equal: a bounded tail ending near their maximum.
        let top = y[m - 1].max(f64::MIN_POSITIVE);
        return (-1.0, top, false);
    }
    let xi = 2.0 - a0 / denom;
    let sigma = 2.0 * a0 * a1 / denom;
    if xi > MAX_XI {
        // Keep the mean of the exceedances: mean = sigma / (1 - xi).
        return (MAX_XI, a0 * (1.0 - MAX_XI), true);
    }
    (xi, sigma.max(f64::MIN_POSITIVE), false)
}

/// Type-7 (linear interpolation) quantile of ascending `sorted`; 0 for an empty slice.
pub fn empirical_quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// Composite Simpson's rule with `n` (even) intervals.
fn simpson(a: f64, b: f64, n: usize, f: impl Fn(f64) -> f64) -> f64 {
    let n = n + n % 2;
    let h = (b - a) / n as f64;
    let mut sum = f(a) + f(b);
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * f(a + i as f64 * h);
    }
    sum * h / 3.0
}

/// The p-th harmonic number.
pub fn harmonic(p: usize) -> f64 {
    if p < 1000 {
        return (1..=p).map(|k| 1.0 / k as f64).sum();
    }
    let n = p as f64;
    n.ln() + 0.577_215_664_901_532_9 + 1.0 / (2.0 * n) - 1.0 / (12.0 * n * n)
}
