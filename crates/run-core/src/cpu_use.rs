//! The CPU each rank's data plane used over a measurement, and whether that, rather than the
//! network, set the number ([`cpu_bound_ranks`]): a rank with a core per thread whose work took
//! more than [`CPU_BOUND_SHARE`] of them measured its host's CPU; so did ranks sharing cores
//! whose machine's ranks' work together kept more than [`SHARED_CPU_BOUND_SHARE`] of its cores
//! busy (they wait for each other's turns on every message). A rank whose threads waited for a
//! core more than [`SCHED_BOUND_SHARE`] of the time ([`sched_bound_ranks`]) measured its host's
//! scheduler (ranks that outnumber the cores wait for each other's turn on every message,
//! however little work each does). A measurement that reached [`LINK_BOUND_SHARE`] of the
//! ranks' own links is the link's, and no rank is named ([`host_bound_ranks`]).

use std::collections::HashMap;

use wire::control::Report;
use wire::results::{
    RankCpu, CPU_BOUND_SHARE, LINK_BOUND_SHARE, SCHED_BOUND_SHARE, SHARED_CPU_BOUND_SHARE,
};

/// What rank `report` says its data-plane threads used over its timed iterations.
pub fn rank_cpu(report: &Report) -> RankCpu {
    let cpu_ns: u64 = report.cpu_ns.iter().sum();
    let idle_ns: u64 = report.poll_idle_ns.iter().sum();
    let wall_ns: u64 = report.iter_ns.iter().sum();
    let sent = report.sent_bytes as f64 * report.iter_ns.len() as f64;
    let per_wall = |ns: u64| {
        if wall_ns > 0 {
            ns as f64 / wall_ns as f64
        } else {
            0.0
        }
    };
    RankCpu {
        busy_cores: per_wall(cpu_ns),
        idle_poll_cores: per_wall(idle_ns),
        runq_wait_cores: (!report.runq_wait_ns.is_empty())
            .then(|| per_wall(report.runq_wait_ns.iter().sum())),
        // CPU-ns per byte is CPU-s per GB (10^9 bytes).
        cpu_s_per_gb: (sent > 0.0).then(|| cpu_ns as f64 / sent),
        thread_cpu_s: report.cpu_ns.iter().map(|&ns| ns as f64 / 1e9).collect(),
    }
}

/// Whether a rank's threads share cores (it was given fewer cores than it runs threads).
fn shares_cores(used: &RankCpu, given: f64) -> bool {
    given + 1e-9 < used.thread_cpu_s.len().max(1) as f64
}

/// The ranks whose CPU set the number (a rank without a number of cores is not judged):
///
/// - a rank with a core per thread, when its work took more than [`CPU_BOUND_SHARE`] of them;
/// - a rank whose threads share cores, when the work of every rank on its machine
///   (`machines[rank]`; a rank without one is a machine of its own) together took more than
///   [`SHARED_CPU_BOUND_SHARE`] of the cores they were given together: polling fills shared
///   cores whatever the ranks wait on, so only the machine's work says whether its CPU was the
///   limit, and ranks taking turns on cores wait for each other long before the cores are full.
pub fn cpu_bound_ranks(used: &[RankCpu], cores: &[f64], machines: &[usize]) -> Vec<usize> {
    let machine = |rank: usize| machines.get(rank).map_or(usize::MAX - rank, |&m| m);
    let judged = || {
        used.iter()
            .zip(cores)
            .enumerate()
            .filter(|(_, (_, &c))| c > 0.0)
    };
    // Each machine's ranks' work and the cores they were given, together.
    let mut per_machine: HashMap<usize, (f64, f64)> = HashMap::new();
    for (rank, (u, &c)) in judged() {
        let sums = per_machine.entry(machine(rank)).or_default();
        *sums = (sums.0 + u.busy_cores, sums.1 + c);
    }
    let saturated = |m: usize| {
        per_machine
            .get(&m)
            .is_some_and(|&(work, given)| work > SHARED_CPU_BOUND_SHARE * given)
    };
    judged()
        .filter(|(rank, (u, &c))| {
            if shares_cores(u, c) {
                saturated(machine(*rank))
            } else {
                u.busy_cores > CPU_BOUND_SHARE * c
            }
        })
        .map(|(rank, _)| rank)
        .collect()
}

/// The ranks whose CPU ([`cpu_bound_ranks`]) and whose scheduler ([`sched_bound_ranks`]) set a
/// measurement, unless its bus bandwidth reached [`LINK_BOUND_SHARE`] of `own_link_bps`, the
/// rate of a link each rank has to itself (`None`: unknown, or shared): then the link set it.
pub fn host_bound_ranks(
    used: &[RankCpu],
    cores: &[f64],
    machines: &[usize],
    (bus_bw, own_link_bps): (f64, Option<f64>),
) -> (Vec<usize>, Vec<usize>) {
    if own_link_bps.is_some_and(|bps| bus_bw * 8e9 >= LINK_BOUND_SHARE * bps) {
        return (Vec::new(), Vec::new());
    }
    (
        cpu_bound_ranks(used, cores, machines),
        sched_bound_ranks(used),
    )
}

/// The ranks whose threads waited for a core, on average per thread, more than
/// [`SCHED_BOUND_SHARE`] of the time (a rank whose kernel does not say is not judged).
pub fn sched_bound_ranks(used: &[RankCpu]) -> Vec<usize> {
    used.iter()
        .enumerate()
        .filter(|(_, u)| wait_share(u).is_some_and(|w| w > SCHED_BOUND_SHARE))
        .map(|(rank, _)| rank)
        .collect()
}

/// The share of the time a rank's threads, on average, waited for a core.
fn wait_share(used: &RankCpu) -> Option<f64> {
    used.runq_wait_cores
        .map(|w| w / used.thread_cpu_s.len().max(1) as f64)
}

/// The comment printed under a row whose measurement the host set: the CPU of the ranks
/// `cpu_bound` (its [`cpu_bound_ranks`]), else the scheduler, for the ranks `sched_bound` (its
/// [`sched_bound_ranks`]); `None` when neither.
pub fn host_warning(
    used: &[RankCpu],
    cores: &[f64],
    (cpu_bound, sched_bound): (&[usize], &[usize]),
    channels: u32,
) -> Option<String> {
    warning(used, cores, cpu_bound, channels).or_else(|| sched_warning(used, cores, sched_bound))
}

/// The comment for a row the scheduler set: "# rank 3's threads waited for a core 35% of the
/// time: ...". Where the rank was given a core for each of its threads, the scheduler put
/// threads together that had cores enough apart, and binding them helps; otherwise they
/// outnumber the cores.
fn sched_warning(used: &[RankCpu], cores: &[f64], bound: &[usize]) -> Option<String> {
    let &first = bound.first()?;
    let share = wait_share(used.get(first)?)?;
    let who = match bound.len() {
        1 => format!(
            "rank {first}'s threads waited for a core {:.0}% of the time",
            share * 100.0
        ),
        n => format!(
            "{n} ranks' threads waited for a core over {:.0}% of the time (rank {first}: {:.0}%)",
            SCHED_BOUND_SHARE * 100.0,
            share * 100.0
        ),
    };
    let threads = used.get(first)?.thread_cpu_s.len().max(1) as f64;
    let more = if cores.get(first).is_some_and(|&c| c + 1e-9 >= threads) {
        "bind the ranks to cores of their own (--cpu-bind core), or, bound already, free their cores of other work"
    } else {
        "give it more cores or fewer ranks per host"
    };
    Some(format!(
        "# {who}: this row measures the host's scheduler, not the link; {more}"
    ))
}

/// The comment printed under a row whose measurement the CPU of the ranks `bound` set (its
/// [`cpu_bound_ranks`]), or `None`.
fn warning(used: &[RankCpu], cores: &[f64], bound: &[usize], channels: u32) -> Option<String> {
    let &first = bound.first()?;
    if used.get(first).is_none() || cores.get(first).is_none() {
        return None;
    }
    let usage = |work: f64, given: f64| format!("{work:.1} of {} cores", fmt_cores(given));
    let who = match (bound.len(), shares_cores(&used[first], cores[first])) {
        (1, false) => format!(
            "rank {first} used {}",
            usage(used[first].busy_cores, cores[first])
        ),
        (n, false) => format!(
            "{n} ranks used over 90% of their cores (rank {first}: {})",
            usage(used[first].busy_cores, cores[first])
        ),
        // Sharing cores, the ranks named are judged together: their work and cores summed.
        (n, true) => {
            let work: f64 = bound
                .iter()
                .filter_map(|&r| used.get(r))
                .map(|u| u.busy_cores)
                .sum();
            let given: f64 = bound.iter().filter_map(|&r| cores.get(r)).sum();
            let whose = if n == 1 {
                format!("rank {first}'s threads outnumber its cores")
            } else {
                format!("{n} ranks share their cores")
            };
            format!(
                "{whose}, and their work kept over half of them busy ({})",
                usage(work, given)
            )
        }
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
            series: topologies::Series {
                case: topologies::Case::all_reduce(Algorithm::Ring),
                dtype: topologies::DataType::Float,
                op: topologies::ReduceOp::Sum,
            },
            size: 1000,
            placement: Placement::OutOfPlace,
            channels: cpu_ns.len() as u32,
            iter_ns,
            histogram: String::new(),
            nwrong: None,
            cpu_ns,
            poll_idle_ns: Vec::new(),
            runq_wait_ns: Vec::new(),
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
            idle_poll_cores: 0.0,
            runq_wait_cores: None,
            cpu_s_per_gb: Some(1.0),
            thread_cpu_s: vec![],
        };
        let ranks = [used(3.9), used(1.0), used(0.46)];
        let cores = [4.0, 4.0, 0.5];
        assert_eq!(cpu_bound_ranks(&ranks, &cores, &[0, 1, 2]), vec![0, 2]);
        let bound = cpu_bound_ranks(&ranks, &cores, &[0, 1, 2]);
        let w = warning(&ranks, &cores, &bound, 1).unwrap();
        assert!(
            w.starts_with(
                "# 2 ranks used over 90% of their cores (rank 0: 3.9 of 4 cores): this row measures the host's CPU"
            ),
            "{w}"
        );
        assert!(w.contains("--channels"), "{w}");
        // With as many channels as cores, more channels would not help.
        let w = warning(&ranks[..1], &cores[..1], &[0], 4).unwrap();
        assert_eq!(
            w,
            "# rank 0 used 3.9 of 4 cores: this row measures the host's CPU, not the link; give it more cores or fewer ranks per host"
        );
        assert_eq!(
            cpu_bound_ranks(&[used(3.5)], &[4.0], &[0]),
            Vec::<usize>::new()
        );
        assert_eq!(warning(&[used(3.5)], &[4.0], &[], 4), None);
        // Unknown cores are not judged.
        assert!(cpu_bound_ranks(&[used(9.0)], &[], &[]).is_empty());
    }

    #[test]
    fn idle_polling_counts_only_on_shared_cores() {
        // A thread that worked `busy` of a core and polled idle 0.75 of it.
        let polling = |threads: usize, busy: f64| RankCpu {
            busy_cores: busy,
            idle_poll_cores: 0.75,
            runq_wait_cores: None,
            cpu_s_per_gb: Some(1.0),
            thread_cpu_s: vec![0.1; threads],
        };
        // On cores of its own it waited on its link: not host-bound.
        assert!(cpu_bound_ranks(&[polling(1, 0.2)], &[1.0], &[0]).is_empty());
        assert!(cpu_bound_ranks(&[polling(2, 0.2)], &[2.0], &[0]).is_empty());
        // Two ranks sharing one core, each polling most of its half: the machine's work (0.4
        // of 1 core) did not fill it, so the link set the time.
        let two = [polling(1, 0.2), polling(1, 0.2)];
        assert!(cpu_bound_ranks(&two, &[0.5, 0.5], &[0, 0]).is_empty());
        // Their work over half of it (0.61): they waited for each other's turns; both named.
        let half = [polling(1, 0.3), polling(1, 0.31)];
        assert_eq!(cpu_bound_ranks(&half, &[0.5, 0.5], &[0, 0]), vec![0, 1]);
        // Their work filling the core (0.95 of it): both named, with their work.
        let full = [polling(1, 0.47), polling(1, 0.48)];
        assert_eq!(cpu_bound_ranks(&full, &[0.5, 0.5], &[0, 0]), vec![0, 1]);
        let bound = cpu_bound_ranks(&full, &[0.5, 0.5], &[0, 0]);
        let w = warning(&full, &[0.5, 0.5], &bound, 1).unwrap();
        assert!(
            w.starts_with(
                "# 2 ranks share their cores, and their work kept over half of them busy (0.9 of 1 cores)"
            ),
            "{w}"
        );
        // The same two on different machines are judged apart; without machines, each alone.
        assert!(cpu_bound_ranks(&full, &[0.5, 0.5], &[0, 1])
            .iter()
            .eq([0, 1].iter()));
        assert_eq!(cpu_bound_ranks(&two, &[0.5, 0.5], &[]), Vec::<usize>::new());
        // A report from a node that does not send its idle polling: only its work counts.
        let r = rank_cpu(&report(vec![1_000], vec![500], 8));
        assert_eq!(r.idle_poll_cores, 0.0);
        let r = rank_cpu(&Report {
            poll_idle_ns: vec![250],
            ..report(vec![1_000], vec![500], 8)
        });
        assert_eq!((r.busy_cores, r.idle_poll_cores), (0.5, 0.25));
    }

    #[test]
    fn a_measurement_at_its_links_rate_names_no_rank() {
        let busy = RankCpu {
            busy_cores: 0.99,
            idle_poll_cores: 0.0,
            runq_wait_cores: Some(0.5),
            cpu_s_per_gb: Some(1.0),
            thread_cpu_s: vec![0.1],
        };
        let ranks = [busy.clone(), busy];
        let judged = |bus_gb_s: f64, link: Option<f64>| {
            host_bound_ranks(&ranks, &[1.0, 1.0], &[0, 1], (bus_gb_s, link))
        };
        let both = (vec![0, 1], vec![0, 1]);
        // 0.1 GB/s is 800 Mbit/s: 80% of a 1 Gbit/s link leaves the counters to judge, 90% of
        // it is the link's.
        assert_eq!(judged(0.1, Some(1e9)), both);
        assert_eq!(judged(0.1125, Some(1e9)), (vec![], vec![]));
        // Without a link of each rank's own, the counters judge at any rate.
        assert_eq!(judged(0.1125, None), both);
    }

    #[test]
    fn a_rank_that_waited_for_a_core_is_named_with_its_share() {
        // Two channel threads over 1 ms of iterations that waited 0.3 ms and 0.1 ms: 0.4 of
        // a core, 20% of the time per thread.
        let r = rank_cpu(&Report {
            runq_wait_ns: vec![300_000, 100_000],
            ..report(vec![1_000_000], vec![100_000, 100_000], 8)
        });
        assert!((r.runq_wait_cores.unwrap() - 0.4).abs() < 1e-12);
        // A node whose kernel does not say leaves it unknown, and its rank unjudged.
        let unknown = rank_cpu(&report(vec![1_000_000], vec![100_000], 8));
        assert_eq!(unknown.runq_wait_cores, None);
        let waited = |threads: usize, cores: f64| RankCpu {
            busy_cores: 0.1,
            idle_poll_cores: 0.0,
            runq_wait_cores: Some(cores),
            cpu_s_per_gb: Some(1.0),
            thread_cpu_s: vec![0.1; threads],
        };
        // 8% of one thread's time is below the line; 80% of one or 30% of each of two is not.
        let ranks = [waited(1, 0.08), waited(1, 0.8), waited(2, 0.6), unknown];
        assert_eq!(sched_bound_ranks(&ranks), vec![1, 2]);
        assert_eq!(sched_bound_ranks(&ranks[..1]), Vec::<usize>::new());
        let cores = [0.25, 0.25, 0.5, 0.25];
        let w = host_warning(&ranks, &cores, (&[], &[1, 2]), 1).unwrap();
        assert_eq!(
            w,
            "# 2 ranks' threads waited for a core over 10% of the time (rank 1: 80%): this row measures the host's scheduler, not the link; give it more cores or fewer ranks per host"
        );
        let w = host_warning(&ranks, &cores, (&[], &[2]), 1).unwrap();
        assert!(
            w.starts_with("# rank 2's threads waited for a core 30% of the time"),
            "{w}"
        );
        // Where a rank's CPU set the row too, the CPU is named.
        let busy = [RankCpu {
            busy_cores: 0.24,
            ..waited(1, 0.8)
        }];
        let w = host_warning(&busy, &[0.25], (&[0], &[0]), 1).unwrap();
        assert!(
            w.starts_with(
                "# rank 0's threads outnumber its cores, and their work kept over half of them busy (0.2 of 0.25 cores)"
            ),
            "{w}"
        );
        assert_eq!(host_warning(&ranks, &cores, (&[], &[]), 1), None);
    }
}
