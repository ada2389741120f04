//! Result rows for unit tests: 4 ranks of float sum, the numbers a test cares about given.
#![allow(clippy::unwrap_used)]

use topologies::{Algorithm, DataType, ReduceOp};
use wire::results::{Measured, ResultRow};
use wire::stats::IterStats;

/// One placement's numbers: busbw (and algbw) in GB/s, the p50 and p99 iteration times in us.
pub fn measured(bus_bw: f64, p50: f64, p99: f64, nwrong: Option<u64>) -> Measured {
    let mut per_iter = IterStats::of(&[p50]).unwrap();
    per_iter.p50_us = p50;
    per_iter.p99_us = p99;
    Measured {
        iter_us: vec![p50],
        time: p50,
        alg_bw: bus_bw,
        bus_bw,
        nwrong,
        per_iter,
        rank_histogram: String::new(),
        rank_mean_us: vec![p50],
        rank_iter_us: vec![vec![p50]],
        rank_cpu: Vec::new(),
        cpu_bound_ranks: Vec::new(),
        sched_bound_ranks: Vec::new(),
    }
}

/// A row of `algorithm` at `size` bytes with these placements' numbers.
pub fn row(
    algorithm: Algorithm,
    size: u64,
    out_of_place: Measured,
    in_place: Measured,
) -> ResultRow {
    ResultRow {
        collective: topologies::Collective::AllReduce,
        algorithm,
        nranks: 4,
        size,
        count: size / 4,
        dtype: DataType::Float,
        redop: ReduceOp::Sum,
        root: -1,
        channels: Some(1),
        out_of_place,
        in_place,
        link_rate_bps: None,
        uplink_rate_bps: None,
        link_efficiency: None,
    }
}
