//! Statistics over iterations and nccl-tests' bandwidth definitions.

use serde::{Deserialize, Serialize};

/// Summary of a list of iteration times, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct IterStats {
    pub mean_us: f64,
    pub min_us: f64,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub stdev_us: f64,
}

impl IterStats {
    /// Statistics of `times_us`; `None` when it is empty. Percentiles are nearest-rank.
    pub fn of(times_us: &[f64]) -> Option<IterStats> {
        if times_us.is_empty() {
            return None;
        }
        let mut sorted = times_us.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let pct = |q: f64| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let var = sorted.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n as f64;
        Some(IterStats {
            mean_us: mean,
            min_us: sorted[0],
            p50_us: pct(0.50),
            p95_us: pct(0.95),
            p99_us: pct(0.99),
            max_us: sorted[n - 1],
            stdev_us: var.sqrt(),
        })
    }
}

/// The time of each iteration as its slowest rank saw it: `per_rank[r][i]` is rank r's time of
/// iteration i; the result has one entry per iteration that every rank reported.
pub fn slowest_rank_per_iteration(per_rank: &[Vec<f64>]) -> Vec<f64> {
    let iters = per_rank.iter().map(Vec::len).min().unwrap_or(0);
    (0..iters)
        .map(|i| per_rank.iter().map(|r| r[i]).fold(0.0, f64::max))
        .collect()
}

/// algbw in GB/s (1 GB = 1e9 bytes) for `bytes` per rank in `time_us`.
pub fn alg_bw(bytes: u64, time_us: f64) -> f64 {
    if time_us <= 0.0 {
        return 0.0;
    }
    bytes as f64 / time_us / 1e3
}

/// nccl-tests' all-reduce bus-bandwidth factor, 2(p-1)/p.
pub fn allreduce_bus_factor(nranks: usize) -> f64 {
    if nranks == 0 {
        return 0.0;
    }
    2.0 * (nranks as f64 - 1.0) / nranks as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_match_nccl_tests() {
        // 1 MiB in 1000 us is 1.048576 GB/s algbw; at p = 4 busbw is 1.5x that.
        let a = alg_bw(1 << 20, 1000.0);
        assert!((a - 1.048576).abs() < 1e-12);
        assert!((a * allreduce_bus_factor(4) - 1.572864).abs() < 1e-12);
        assert_eq!(allreduce_bus_factor(1), 0.0);
    }

    #[test]
    fn slowest_rank_decides_each_iteration() {
        let t = slowest_rank_per_iteration(&[vec![1.0, 5.0], vec![3.0, 2.0]]);
        assert_eq!(t, vec![3.0, 5.0]);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = IterStats::of(&v).unwrap();
        assert_eq!(
            (s.min_us, s.p50_us, s.p95_us, s.p99_us, s.max_us),
            (1.0, 50.0, 95.0, 99.0, 100.0)
        );
        assert!((s.mean_us - 50.5).abs() < 1e-12);
        assert!(IterStats::of(&[]).is_none());
    }
}
