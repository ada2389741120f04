//! The CPU each rank's data plane used over a measurement, and whether that, rather than the
//! network, set the number: a rank busier than [`CPU_BOUND_SHARE`] of the cores it was given
//! measured its host's CPU.

use wire::control::Report;
use wire::results::{RankCpu, CPU_BOUND_SHARE};

/// What rank `report` says its data-plane threads used over its timed iterations.
pub fn rank_cpu(report: &Report) -> RankCpu {
    let cpu_ns: u64 = report.cpu_ns.iter().sum();
    let wall_ns: u64 = report.iter_ns.iter().sum();
    let sent = report.sent_bytes as f64 * report.iter_ns.len() as f64;
    RankCpu {
        busy_cores: if wall_ns > 0 {
            cpu_ns as f64 / wall_ns as f64
        } else {
            0.0
        },
        // CPU-ns per byte is CPU-s per GB (10^9 bytes).
        cpu_s_per_gb: (sent > 0.0).then(|| cpu_ns as f64 / sent),
        thread_cpu_s: report.cpu_ns.iter().map(|&ns| ns as f64 / 1e9).collect(),
    }
}

/// The ranks busier than [`CPU_BOUND_SHARE`] of the cores they were given (`cores[rank]`; a
/// rank without a number is not judged).
pub fn cpu_bound_ranks(used: &[RankCpu], cores: &[f64]) -> Vec<usize> {
    used.iter()
        .zip(cores)
        .enumerate()
        .filter(|(_, (u, &c))| c > 0.0 && u.busy_cores > CPU_BOUND_SHARE * c)
        .map(|(rank, _)| rank)
        .collect()
}

/// The comment printed under a row whose measurement a rank's CPU set, or `None`.
pub fn warning(used: &[RankCpu], cores: &[f64], channels: u32) -> Option<String> {
    let bound = cpu_bound_ranks(used, cores);
    let &first = bound.first()?;
    let usage = format!(
        "{:.1} of {} cores",
        used[first].busy_cores,
        fmt_cores(cores[first])
    );
    let who = match bound.len() {
        1 => format!("rank {first} used {usage}"),
        n => format!("{n} ranks used over 90% of their cores (rank {first}: {usage})"),
    };
    let more = if channels as f64 + 0.5 < cores[first] {
        "give it more channels (--channels) or fewer ranks per host"
    } else {
        "give it more cores or fewer ranks per host"
    };
    Some(format!(
        "# {who}: this row measures the host's CPU, not the link; {more}"
    ))
}

fn fmt_cores(c: f64) -> String {
    if (c - c.round()).abs() < 1e-9 {
        format!("{}", c.round())
    } else {
        format!("{c:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topologies::Algorithm;
    use wire::control::Placement;

    fn report(iter_ns: Vec<u64>, cpu_ns: Vec<u64>, sent_bytes: u64) -> Report {
        Report {
            collective: topologies::Collective::AllReduce,
            algorithm: Algorithm::Ring,
            size: 1000,
            placement: Placement::OutOfPlace,
            channels: cpu_ns.len() as u32,
            iter_ns,
            histogram: String::new(),
            nwrong: None,
            cpu_ns,
            sent_bytes,
        }
    }

    #[test]
    fn busy_cores_and_cpu_per_gb_from_a_report() {
        // Two channels used 3 ms and 1 ms over 2 ms of iterations; 1 MB sent in each of two.
        let u = rank_cpu(&report(
            vec![1_000_000, 1_000_000],
            vec![3_000_000, 1_000_000],
            1_000_000,
        ));
        assert!((u.busy_cores - 2.0).abs() < 1e-12);
        // 4 ms of CPU for 2 MB: 2 CPU-s per GB.
        assert_eq!(u.cpu_s_per_gb, Some(2.0));
        assert_eq!(u.thread_cpu_s, vec![0.003, 0.001]);
        // A rank that sends nothing has no cost per GB.
        assert_eq!(rank_cpu(&report(vec![5], vec![1], 0)).cpu_s_per_gb, None);
    }

    #[test]
    fn a_rank_beyond_ninety_percent_of_its_cores_is_named() {
        let used = |busy: f64| RankCpu {
            busy_cores: busy,
            cpu_s_per_gb: Some(1.0),
            thread_cpu_s: vec![],
        };
        let ranks = [used(3.9), used(1.0), used(0.46)];
        let cores = [4.0, 4.0, 0.5];
        assert_eq!(cpu_bound_ranks(&ranks, &cores), vec![0, 2]);
        let w = warning(&ranks, &cores, 1).unwrap();
        assert!(
            w.starts_with(
                "# 2 ranks used over 90% of their cores (rank 0: 3.9 of 4 cores): this row measures the host's CPU"
            ),
            "{w}"
        );
        assert!(w.contains("--channels"), "{w}");
        // With as many channels as cores, more channels would not help.
        let w = warning(&ranks[..1], &cores[..1], 4).unwrap();
        assert_eq!(
            w,
            "# rank 0 used 3.9 of 4 cores: this row measures the host's CPU, not the link; give it more cores or fewer ranks per host"
        );
        assert_eq!(warning(&[used(3.5)], &[4.0], 4), None);
        // Unknown cores are not judged.
        assert!(cpu_bound_ranks(&[used(9.0)], &[]).is_empty());
    }
}
