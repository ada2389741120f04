//! What the model is fitted on: one measured collective per collective, algorithm, rank count and
//! size (all-reduce where the run did not say), and ping-pong samples for a point-to-point link profile. The CLI builds these from results files.

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, BuildOptions, Case, Collective};

use crate::shape::Shape;

/// One measured (collective, algorithm, ranks, size) point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// What was measured: all-reduce in files from before other collectives.
    #[serde(default)]
    pub collective: Collective,
    pub algorithm: Algorithm,
    pub nranks: usize,
    /// Bytes per rank.
    pub bytes: u64,
    /// The slowest rank's mean time per iteration (its back-to-back loop's time over the
    /// iterations), in microseconds.
    pub time_us: f64,
    /// The configured link rate in bits per second, where the run knew it.
    pub link_rate_bps: Option<f64>,
    /// Per-rank, per-iteration times in microseconds (for example decoded from the run's HDR
    /// histogram); empty where the run kept none. Used by the straggler estimator.
    #[serde(default)]
    pub samples_us: Vec<f64>,
    /// `hier`'s and `torus2d`'s shape as the run recorded it; the defaults where it did not.
    #[serde(default, skip_serializing_if = "Shape::is_default")]
    pub shape: Shape,
    /// The run said a rank's CPU or its host's scheduler, not the link, set this point (its
    /// `cpu_bound_ranks` or `sched_bound_ranks`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_bound: bool,
}

impl Measurement {
    /// An all-reduce point without latency samples, of the default shape.
    pub fn new(algorithm: Algorithm, nranks: usize, bytes: u64, time_us: f64) -> Self {
        Measurement::of(Case::all_reduce(algorithm), nranks, bytes, time_us)
    }

    /// A point of any collective without latency samples, of the default shape.
    pub fn of(case: Case, nranks: usize, bytes: u64, time_us: f64) -> Self {
        Measurement {
            collective: case.collective,
            algorithm: case.algorithm,
            nranks,
            bytes,
            time_us,
            link_rate_bps: None,
            samples_us: Vec::new(),
            shape: Shape::default(),
            host_bound: false,
        }
    }

    /// The collective and algorithm measured: what a fit keys on.
    pub fn case(&self) -> Case {
        Case {
            collective: self.collective,
            algorithm: self.algorithm,
        }
    }

    /// The cost forms' options for this point: `base` (segment size) with the point's shape.
    pub fn build(&self, base: &BuildOptions) -> BuildOptions {
        self.shape.apply(base)
    }
}

/// One ping-pong point: a message of `bytes` bytes and its one-way time (half the round trip).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PingPongSample {
    pub bytes: u64,
    pub one_way_us: f64,
}

/// Expands histogram buckets (value in microseconds, count) into samples for
/// [`Measurement::samples_us`], keeping at most `max_samples` (each bucket's count scaled down
/// in proportion, rounding so that no bucket with a count disappears). Buckets with a
/// non-finite value are skipped.
pub fn expand_histogram(buckets: &[(f64, u64)], max_samples: usize) -> Vec<f64> {
    // Summed as f64: counts come from files, and three near i64::MAX overflow a u64 sum.
    let total: f64 = buckets
        .iter()
        .filter(|(v, _)| v.is_finite())
        .map(|(_, c)| *c as f64)
        .sum();
    if total == 0.0 || max_samples == 0 {
        return Vec::new();
    }
    let scale = (max_samples as f64 / total).min(1.0);
    let mut out = Vec::new();
    for &(value, count) in buckets {
        if !value.is_finite() || count == 0 {
            continue;
        }
        let n = ((count as f64 * scale).round() as usize).max(1);
        out.extend(std::iter::repeat_n(value, n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::expand_histogram;

    #[test]
    fn histogram_expands_and_caps() {
        let b = [(10.0, 3), (20.0, 1), (f64::NAN, 5)];
        assert_eq!(expand_histogram(&b, 100), vec![10.0, 10.0, 10.0, 20.0]);
        let big = [(1.0, 1_000_000), (2.0, 1_000_000), (99.0, 1)];
        let s = expand_histogram(&big, 1000);
        assert!(s.len() <= 1001);
        assert!(s.contains(&99.0), "a rare tail value survives");
        assert!(expand_histogram(&[], 10).is_empty());
        // Found by fuzzing (crates/coordinator/tests/fuzz_inputs.rs): huge counts saturate.
        let huge = [
            (1.0, i64::MAX as u64),
            (2.0, i64::MAX as u64),
            (3.0, i64::MAX as u64),
        ];
        let s = expand_histogram(&huge, 1000);
        assert!((999..=1003).contains(&s.len()), "{}", s.len());
    }
}
