//! Turning every rank's report of one algorithm, size and placement into one measurement.
//!
//! The time is each rank's mean over its timed iterations, the largest over ranks (the iterations
//! run back to back, so a rank's mean is its loop's time over the iterations, as in nccl-tests;
//! nccl-tests then averages over ranks by default, and back to back the means agree closely).
//! The per-iteration statistics are over each iteration's slowest rank. Per-rank HDR
//! histograms are merged losslessly (not their percentiles) and kept for the scale model's
//! straggler estimate. A ping-pong size has one report, the timing rank's round trips.

use wire::control::{PingPongReport, Report};
use wire::histogram;
use wire::results::{Measured, PingPongRow};
use wire::stats::{alg_bw, slowest_rank_per_iteration, IterStats};

use crate::cpu_use;

/// Whose mean over the timed iterations a row's time is (nccl-tests' `-a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Average {
    /// Rank 0's (`-a 0`).
    Rank0,
    /// The mean over ranks (`-a 1`, nccl-tests' default).
    Mean,
    /// The fastest rank's (`-a 2`).
    Min,
    /// The slowest rank's (`-a 3`, collbench's default: the all-reduce is over when its last
    /// rank is).
    #[default]
    Max,
}

impl Average {
    /// `-a N` as nccl-tests numbers them.
    pub fn from_flag(n: u8) -> Option<Average> {
        Some(match n {
            0 => Average::Rank0,
            1 => Average::Mean,
            2 => Average::Min,
            3 => Average::Max,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Average::Rank0 => "rank0",
            Average::Mean => "mean",
            Average::Min => "min",
            Average::Max => "max",
        }
    }

    /// The time of a row from each rank's mean.
    pub fn of(self, rank_means: &[f64]) -> f64 {
        match self {
            Average::Rank0 => rank_means.first().copied().unwrap_or(0.0),
            Average::Mean => rank_means.iter().sum::<f64>() / rank_means.len().max(1) as f64,
            Average::Min => rank_means.iter().copied().reduce(f64::min).unwrap_or(0.0),
            Average::Max => rank_means.iter().copied().fold(0.0, f64::max),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AggregateError {
    #[error("rank {rank} reported {got} timed iterations, the plan has {want}")]
    IterationCount {
        rank: usize,
        got: usize,
        want: usize,
    },
    #[error("rank {rank} sent an unreadable histogram: {error}")]
    Histogram { rank: usize, error: String },
}

/// What a measurement's reports are turned into numbers with.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Timed iterations every report must hold.
    pub iters: usize,
    /// Bytes the collective moved per rank (nccl-tests' size), for the algorithm bandwidth.
    pub bytes: u64,
    /// nccl-tests' bus-bandwidth factor of the collective at this rank count.
    pub bus_factor: f64,
    /// Whose mean the time is.
    pub average: Average,
    /// The rate of the link each rank has to itself, bits/s, where the run knows one: a
    /// measurement that reached it names no rank as host-bound.
    pub own_link_bps: Option<f64>,
}

/// `reports[r]` is rank r's report; all are for the same algorithm, size and placement.
/// `cores[r]`: the cores rank r was given and `machines[r]` the machine it ran on, to judge
/// whether a CPU set the number; `average`: whose mean the time is.
pub fn measure(
    reports: &[Report],
    timing: &Timing,
    cores: &[f64],
    machines: &[usize],
) -> Result<Measured, AggregateError> {
    let Timing {
        iters,
        bytes,
        bus_factor,
        average,
        own_link_bps,
    } = *timing;
    let mut merged = histogram::new();
    let mut per_rank_us = Vec::with_capacity(reports.len());
    for (rank, r) in reports.iter().enumerate() {
        if r.iter_ns.len() != iters {
            return Err(AggregateError::IterationCount {
                rank,
                got: r.iter_ns.len(),
                want: iters,
            });
        }
        let h = histogram::from_base64(&r.histogram).map_err(|e| AggregateError::Histogram {
            rank,
            error: e.to_string(),
        })?;
        merged.add(&h).map_err(|e| AggregateError::Histogram {
            rank,
            error: format!("{e:?}"),
        })?;
        per_rank_us.push(
            r.iter_ns
                .iter()
                .map(|&ns| ns as f64 / 1e3)
                .collect::<Vec<f64>>(),
        );
    }
    let slowest = slowest_rank_per_iteration(&per_rank_us);
    // `iters` is at least one (validated), so there is at least one iteration.
    let per_iter = IterStats::of(&slowest).ok_or(AggregateError::IterationCount {
        rank: 0,
        got: 0,
        want: iters,
    })?;
    let rank_mean_us: Vec<f64> = per_rank_us
        .iter()
        .map(|v| v.iter().sum::<f64>() / v.len().max(1) as f64)
        .collect();
    // Of the ranks' means, not the mean of per-iteration maxima: back to back, one rank's long
    // iteration is another's short one, and the maxima would count every such swing as time.
    let time = average.of(&rank_mean_us);
    let algbw = alg_bw(bytes, time);
    let nwrong = reports
        .iter()
        .map(|r| r.nwrong)
        .try_fold(0u64, |acc, w| w.map(|w| acc + w));
    let rank_cpu: Vec<_> = reports.iter().map(cpu_use::rank_cpu).collect();
    let (cpu_bound_ranks, sched_bound_ranks) = cpu_use::host_bound_ranks(
        &rank_cpu,
        cores,
        machines,
        (algbw * bus_factor, own_link_bps),
    );
    Ok(Measured {
        iter_us: slowest,
        time,
        alg_bw: algbw,
        bus_bw: algbw * bus_factor,
        nwrong,
        per_iter,
        rank_histogram: histogram::to_base64(&merged).map_err(|e| AggregateError::Histogram {
            rank: 0,
            error: e.to_string(),
        })?,
        rank_mean_us,
        rank_iter_us: per_rank_us,
        rank_cpu,
        cpu_bound_ranks,
        sched_bound_ranks,
    })
}

/// One size of the ping-pong from the round trips the timing rank reported: the one-way time of
/// an iteration is half its round trip. `ranks` and `hosts`: the timing rank and the echoing one.
pub fn pingpong_row(
    report: &PingPongReport,
    iters: usize,
    ranks: [usize; 2],
    hosts: [String; 2],
) -> Result<PingPongRow, AggregateError> {
    let short = AggregateError::IterationCount {
        rank: ranks[0],
        got: report.round_trip_ns.len(),
        want: iters,
    };
    if report.round_trip_ns.len() != iters {
        return Err(short);
    }
    let one_way_us: Vec<f64> = report
        .round_trip_ns
        .iter()
        .map(|&ns| ns as f64 / 2e3)
        .collect();
    let one_way = IterStats::of(&one_way_us).ok_or(short)?;
    Ok(PingPongRow {
        size: report.size,
        iterations: u32::try_from(iters).unwrap_or(u32::MAX),
        bandwidth: alg_bw(report.size, one_way.mean_us),
        one_way,
        ranks,
        hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use topologies::Algorithm;
    use wire::control::Placement;

    fn report(iter_ns: Vec<u64>, nwrong: Option<u64>) -> Report {
        let mut h = histogram::new();
        for &v in &iter_ns {
            histogram::record(&mut h, v);
        }
        Report {
            series: topologies::Series {
                case: topologies::Case::all_reduce(Algorithm::Ring),
                dtype: topologies::DataType::Float,
                op: topologies::ReduceOp::Sum,
            },
            size: 1000,
            placement: Placement::OutOfPlace,
            iter_ns,
            histogram: histogram::to_base64(&h).unwrap(),
            nwrong,
            channels: 1,
            cpu_ns: vec![0],
            poll_idle_ns: Vec::new(),
            runq_wait_ns: Vec::new(),
            sent_bytes: 0,
        }
    }

    fn timing(iters: usize, bytes: u64, average: Average) -> Timing {
        Timing {
            iters,
            bytes,
            bus_factor: 1.5,
            average,
            own_link_bps: None,
        }
    }

    #[test]
    fn slowest_rank_mean_and_merged_histogram() {
        let m = measure(
            &[
                report(vec![1000, 4000], Some(0)),
                report(vec![3000, 2000], Some(2)),
            ],
            &timing(2, 1000, Average::Max),
            &[],
            &[],
        )
        .unwrap();
        // Rank means 2.5 us and 2.5 us; the slowest rank per iteration takes 3 us and 4 us.
        assert!((m.time - 2.5).abs() < 1e-9);
        assert!((m.per_iter.mean_us - 3.5).abs() < 1e-9);
        assert_eq!(m.nwrong, Some(2));
        assert_eq!(histogram::from_base64(&m.rank_histogram).unwrap().len(), 4);
        assert!((m.alg_bw - 1000.0 / 2.5 / 1e3).abs() < 1e-12);
        assert!(
            (m.bus_bw - 1.5 * m.alg_bw).abs() < 1e-12,
            "the factor given"
        );
    }

    #[test]
    fn a_busy_rank_is_named_unless_the_row_reached_its_own_link() {
        // One rank busy its whole iterations on its one core: 1000 bytes in 2 us, bus
        // bandwidth 1.5 x 0.5 GB/s = 6 Gbit/s.
        let busy = Report {
            cpu_ns: vec![4000],
            ..report(vec![2000, 2000], Some(0))
        };
        let named = |link: Option<f64>| {
            let t = Timing {
                own_link_bps: link,
                ..timing(2, 1000, Average::Mean)
            };
            measure(std::slice::from_ref(&busy), &t, &[1.0], &[0])
                .unwrap()
                .cpu_bound_ranks
        };
        assert_eq!(named(None), vec![0]);
        // 6 Gbit/s is 60% of a 10 Gbit/s link: the counters judge.
        assert_eq!(named(Some(10e9)), vec![0]);
        // And 92% of a 6.5 Gbit/s one: the link set it.
        assert_eq!(named(Some(6.5e9)), Vec::<usize>::new());
    }

    #[test]
    fn the_time_is_the_rank_mean_that_average_names() {
        let reports = [
            report(vec![4000, 4000], Some(0)),
            report(vec![1000, 1000], Some(0)),
            report(vec![7000, 7000], Some(0)),
        ];
        let time = |a| {
            measure(&reports, &timing(2, 1000, a), &[], &[])
                .unwrap()
                .time
        };
        assert!((time(Average::Rank0) - 4.0).abs() < 1e-9);
        assert!((time(Average::Mean) - 4.0).abs() < 1e-9);
        assert!((time(Average::Min) - 1.0).abs() < 1e-9);
        assert!((time(Average::Max) - 7.0).abs() < 1e-9);
        assert_eq!(Average::from_flag(1), Some(Average::Mean));
        assert_eq!(Average::from_flag(4), None);
    }

    #[test]
    fn a_ping_pong_row_is_half_of_each_round_trip() {
        let r = PingPongReport {
            size: 4000,
            round_trip_ns: vec![20_000, 40_000, 30_000],
        };
        let row = pingpong_row(&r, 3, [0, 1], ["a".into(), "b".into()]).unwrap();
        // One-way 10, 20 and 15 us: mean 15 us; 4000 bytes in 15 us is 0.2667 GB/s.
        assert!((row.one_way.mean_us - 15.0).abs() < 1e-9);
        assert_eq!((row.one_way.min_us, row.one_way.max_us), (10.0, 20.0));
        assert!((row.bandwidth - 4000.0 / 15.0 / 1e3).abs() < 1e-12);
        assert_eq!((row.iterations, row.ranks, row.size), (3, [0, 1], 4000));
        assert_eq!(row.hosts, ["a".to_string(), "b".to_string()]);
        assert_eq!(
            pingpong_row(&r, 4, [0, 1], Default::default()),
            Err(AggregateError::IterationCount {
                rank: 0,
                got: 3,
                want: 4
            })
        );
    }

    #[test]
    fn unchecked_is_none_and_short_reports_are_errors() {
        let m = measure(
            &[report(vec![1000], None)],
            &timing(1, 8, Average::Max),
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(m.nwrong, None);
        assert_eq!(
            measure(
                &[report(vec![1000], None)],
                &timing(2, 8, Average::Max),
                &[],
                &[]
            ),
            Err(AggregateError::IterationCount {
                rank: 0,
                got: 1,
                want: 2
            })
        );
    }
}
