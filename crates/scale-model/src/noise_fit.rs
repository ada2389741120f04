//! The lab's own host noise as a per-step delay distribution, fitted from the spread of its
//! runs' per-iteration times: what `[noise]` and `--lab-noise` take, from a lab's measurements
//! rather than written out by hand, either as a fixed delay or as a share of the step's time
//! ([`Noise`]), whichever its points agree on more closely.
//!
//! Noise of the form the model prices (every rank waits a draw before each step's sends,
//! [`crate::noise`]) spreads a run's per-iteration times by an amount proportional to the
//! delays' scale: an exponential of mean m spreads them m times as much as one of mean 1 us.
//! So each measured point (a collective by an algorithm at a rank count and a latency-bound
//! size) gives a mean: the interquartile range of its per-rank, per-iteration times over that
//! of the same schedule replayed back to back in the timing model with exponential delays of
//! mean 1 us and nothing else. The fit is the median over the points. The interquartile range
//! is robust to a few hiccups (a page fault, a preempted rank); the ratio of the standard
//! deviations is reported beside it, and a much larger one says the tail is heavier than an
//! exponential's. The links' own variation counts as noise too: at latency-bound sizes on an
//! idle link it is small.
//!
//! Each point's mean step (its mean time less the noise's expected cost, over its schedule's
//! dependency steps) turns its mean into a share of the step. Where the points' means agree
//! more closely than their shares, the noise is a fixed delay (a host's wake-ups, injected
//! jitter); where the shares agree more closely, it grows with the step (interruptions of work
//! spread over the step, a shaper's bursts) and carries to a target as that share of the
//! target's steps. The slope of ln(mean) against ln(step) says the same in one number.

use serde::{Deserialize, Serialize};
use topologies::noise::Delay;
use topologies::rng::SplitMix64;
use topologies::timing_model::{iteration_times_with_jitter, LinkModel};
use topologies::{BuildOptions, Case};

use crate::measurement::Measurement;
use crate::noise::{monte_carlo_case, noise_schedule, schedule_steps};
use crate::noise_form::Noise;

/// Points with fewer per-iteration samples than this are not fitted.
pub const MIN_SAMPLES: usize = 20;

/// One measured point's evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoisePoint {
    pub case: Case,
    pub ranks: usize,
    pub bytes: u64,
    pub samples: usize,
    /// Interquartile range of the measured per-iteration times, microseconds.
    pub iqr_us: f64,
    /// The same of the schedule with exponential delays of mean 1 us, microseconds.
    pub unit_iqr_us: f64,
    /// The mean delay this point says: `iqr_us / unit_iqr_us`.
    pub mean_us: f64,
    /// The mean delay its standard deviations say.
    pub mean_from_std_us: f64,
    /// Its mean step without the noise: the mean per-iteration time, less the expected cost of
    /// `mean_us`, over the schedule's dependency steps, microseconds.
    pub step_us: f64,
    /// `mean_us` in percent of `step_us`.
    pub percent_of_step: f64,
}

/// The fitted distribution and the points behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseFit {
    /// The better of the two forms below: the one whose points agree more closely.
    #[serde(with = "noise_text")]
    pub noise: Noise,
    /// A fixed delay: an exponential with the median of the points' means (to three
    /// significant digits).
    #[serde(with = "noise_text")]
    pub fixed: Noise,
    /// A share of the step: an exponential with the median of the points' shares.
    #[serde(with = "noise_text")]
    pub scaled: Noise,
    /// How far the points' means stray from their median (the median of |ln(x / median)|,
    /// as a factor: 1 where every point says the same).
    pub fixed_spread: f64,
    /// The same of their shares of the step.
    pub scaled_spread: f64,
    /// The slope of ln(mean delay) against ln(step): 0 where the delay is the same whatever
    /// the step, 1 where it grows in proportion (least squares over the points).
    pub slope: Option<f64>,
    /// The median of the points' means from their standard deviations.
    pub mean_from_std_us: f64,
    pub points: Vec<NoisePoint>,
    /// Points left out, and why.
    pub skipped: Vec<String>,
}

/// A [`Noise`] as written (`exp:35.2us`, `exp:12%`).
mod noise_text {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::noise_form::Noise;

    pub fn serialize<S: Serializer>(v: &Noise, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Noise, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// What a schedule does under unit noise: the spread of its times, and its expected extra time
/// and dependency steps.
#[derive(Clone, Copy, Debug)]
struct Unit {
    spread: Spread,
    cost_us: f64,
    steps: f64,
}

/// Fits the noise of `measurements` at sizes up to `max_bytes`; `None` where no point has
/// enough samples or a spread.
pub fn fit_noise<'m>(
    measurements: impl IntoIterator<Item = &'m Measurement>,
    build: &BuildOptions,
    max_bytes: u64,
) -> Option<NoiseFit> {
    let mut points = Vec::new();
    let mut skipped = Vec::new();
    // A schedule's spread depends on its case, rank count and shape, not on the size: each is
    // replayed once however many sizes were measured.
    let mut units: Vec<((Case, usize, BuildOptions), Option<Unit>)> = Vec::new();
    for m in measurements.into_iter().filter(|m| m.bytes <= max_bytes) {
        let label = format!("{} at {} ranks, {} bytes", m.case(), m.nranks, m.bytes);
        if m.samples_us.len() < MIN_SAMPLES {
            skipped.push(format!(
                "{label}: {} per-iteration samples (at least {MIN_SAMPLES})",
                m.samples_us.len()
            ));
            continue;
        }
        let key = (m.case(), m.nranks, m.build(build));
        let unit = match units.iter().find(|(k, _)| *k == key) {
            Some((_, u)) => *u,
            None => {
                let u = unit_of(key.0, key.1, &key.2);
                units.push((key, u));
                u
            }
        };
        let Some(unit) = unit else {
            skipped.push(format!("{label}: no schedule to replay"));
            continue;
        };
        let measured = Spread::of(&m.samples_us);
        if unit.spread.iqr <= 0.0 || unit.spread.std <= 0.0 || unit.steps <= 0.0 {
            skipped.push(format!("{label}: its schedule does not spread with noise"));
            continue;
        }
        let mean_us = measured.iqr / unit.spread.iqr;
        // The mean time, as the noise's expected cost is a mean.
        let time_us = m.samples_us.iter().sum::<f64>() / m.samples_us.len() as f64;
        let step_us = (time_us - mean_us * unit.cost_us).max(time_us / 20.0) / unit.steps;
        if step_us <= 0.0 {
            skipped.push(format!("{label}: its per-iteration times are not positive"));
            continue;
        }
        points.push(NoisePoint {
            case: m.case(),
            ranks: m.nranks,
            bytes: m.bytes,
            samples: m.samples_us.len(),
            iqr_us: measured.iqr,
            unit_iqr_us: unit.spread.iqr,
            mean_us,
            mean_from_std_us: measured.std / unit.spread.std,
            step_us,
            percent_of_step: 100.0 * mean_us / step_us,
        });
    }
    let mean = median(points.iter().map(|p| p.mean_us).collect())?;
    let percent = median(points.iter().map(|p| p.percent_of_step).collect())?;
    let from_std = median(points.iter().map(|p| p.mean_from_std_us).collect())?;
    if !(mean > 0.0 && percent > 0.0) {
        return None;
    }
    let fixed = Noise::Fixed(Delay::Exp {
        mean_us: three_digits(mean),
    });
    let scaled = Noise::Scaled(Delay::Exp {
        mean_us: three_digits(percent),
    });
    let fixed_spread = spread_factor(points.iter().map(|p| p.mean_us), mean);
    let scaled_spread = spread_factor(points.iter().map(|p| p.percent_of_step), percent);
    Some(NoiseFit {
        noise: if scaled_spread < fixed_spread {
            scaled
        } else {
            fixed
        },
        fixed,
        scaled,
        fixed_spread,
        scaled_spread,
        slope: slope(
            points
                .iter()
                .filter(|p| p.mean_us > 0.0)
                .map(|p| (p.step_us.ln(), p.mean_us.ln())),
        ),
        mean_from_std_us: from_std,
        points,
        skipped,
    })
}

/// exp(median |ln(x / centre)|) over the positive values: 1 where all are the centre.
fn spread_factor(values: impl Iterator<Item = f64>, centre: f64) -> f64 {
    let logs: Vec<f64> = values
        .filter(|v| *v > 0.0)
        .map(|v| (v / centre).ln().abs())
        .collect();
    median(logs).map_or(f64::INFINITY, f64::exp)
}

/// The least-squares slope of y on x; `None` with fewer than two distinct x.
fn slope(xy: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let v: Vec<(f64, f64)> = xy.filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    let n = v.len() as f64;
    let mx = v.iter().map(|p| p.0).sum::<f64>() / n;
    let my = v.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = v.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = v.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (v.len() >= 2 && sxx > 1e-12).then(|| sxy / sxx)
}

/// `case` over `ranks` ranks under exponential delays of mean 1 us.
fn unit_of(case: Case, ranks: usize, build: &BuildOptions) -> Option<Unit> {
    let unit = Delay::Exp { mean_us: 1.0 };
    Some(Unit {
        spread: unit_spread(case, ranks, build)?,
        cost_us: monte_carlo_case(unit, case, ranks, build)?,
        steps: schedule_steps(case, ranks, build),
    })
}

/// Iterations per replay, and those left out at the start (the loop settling).
const ITERATIONS: usize = 40;
const SETTLE: usize = 4;
/// Replays per estimate.
const REPLAYS: usize = 12;

/// The spread of `case`'s per-rank, per-iteration times over `ranks` ranks, run back to back
/// with exponential delays of mean 1 us before every step's sends and nothing else.
pub fn unit_spread(case: Case, ranks: usize, build: &BuildOptions) -> Option<Spread> {
    if ranks < 2 {
        return None;
    }
    let one = noise_schedule(case, ranks, build)?;
    let none = LinkModel {
        alpha: 0.0,
        beta: 0.0,
        gamma: 0.0,
    };
    let unit = Delay::Exp { mean_us: 1.0 };
    let mut rng = SplitMix64::new(0x5eed ^ ranks as u64);
    let mut times = Vec::with_capacity(REPLAYS * ranks * (ITERATIONS - SETTLE));
    for _ in 0..REPLAYS {
        let mut draw = || unit.quantile_us(rng.next_f64());
        let per_rank = iteration_times_with_jitter(&one, ITERATIONS, 4, none, &mut draw).ok()?;
        for rank in per_rank {
            times.extend(rank.into_iter().skip(SETTLE));
        }
    }
    Some(Spread::of(&times))
}

/// A sample's interquartile range and standard deviation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub iqr: f64,
    pub std: f64,
}

impl Spread {
    pub fn of(xs: &[f64]) -> Spread {
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if v.len() < 2 {
            return Spread { iqr: 0.0, std: 0.0 };
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let at = p * (v.len() - 1) as f64;
            let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
        };
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Spread {
            iqr: q(0.75) - q(0.25),
            std: var.sqrt(),
        }
    }
}

/// `x` to three significant digits, as the distribution is written out.
fn three_digits(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(2 - x.log10().floor() as i32);
    (x * scale).round() / scale
}

/// The median of `v` (the mean of the middle two for an even count); `None` when empty.
pub(crate) fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_and_deviation_of_a_small_sample() {
        let s = Spread::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.iqr, 2.0);
        assert!((s.std - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(Spread::of(&[7.0]).iqr, 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
        assert_eq!(three_digits(35.22568297341093), 35.2);
        assert_eq!(three_digits(1234.5), 1230.0);
    }

    #[test]
    fn spread_and_slope() {
        assert_eq!(spread_factor([2.0, 2.0, 2.0].into_iter(), 2.0), 1.0);
        let s = spread_factor([1.0, 2.0, 4.0].into_iter(), 2.0);
        assert!((s - 2.0).abs() < 1e-12, "{s}");
        let line = [(0.0, 1.0), (1.0, 1.5), (2.0, 2.0)];
        assert!((slope(line.into_iter()).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(slope([(1.0, 2.0), (1.0, 3.0)].into_iter()), None);
        assert_eq!(slope([(1.0, 2.0)].into_iter()), None);
    }
}
