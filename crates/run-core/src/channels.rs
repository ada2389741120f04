//! How many channels the ranks open (`--channels N|auto`), and how many cores each rank was
//! given: the yardstick for saying that a rank's data plane was bound by its host's CPU.
//!
//! Pure: the ranks' registrations in, numbers out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The most channels `auto` opens.
pub const AUTO_MAX: u32 = 16;

/// `--channels`: a count, or `auto` (the cores each rank was given, see [`cores_given`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelCount {
    Auto,
    Fixed(u32),
}

impl FromStr for ChannelCount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(ChannelCount::Auto);
        }
        let max = wire::control::MAX_CHANNELS;
        match s.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(ChannelCount::Fixed(n)),
            _ => Err(format!("'{s}' is not 'auto' or a count of 1 to {max}")),
        }
    }
}

impl fmt::Display for ChannelCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelCount::Auto => f.write_str("auto"),
            ChannelCount::Fixed(n) => write!(f, "{n}"),
        }
    }
}

/// What a rank said of its CPUs when it registered.
#[derive(Clone, Debug, PartialEq)]
pub struct RankCpus {
    /// The machine it runs on: ranks with the same one share its cores.
    pub machine: String,
    /// The CPUs it may run on (its affinity).
    pub cpus: BTreeSet<u32>,
    /// Cores its control group may use, when limited.
    pub quota: Option<f64>,
}

/// The cores each rank was given: the CPUs that the ranks of its machine may run on (together),
/// shared equally among those ranks, and no more than its own affinity or quota allow. Four
/// ranks on one 16-core machine get 4 each; ranks that a workload manager bound to 4 cores each
/// get 4; four ranks in network namespaces of a 2-core machine get half a core each.
pub fn cores_given(ranks: &[RankCpus]) -> Vec<f64> {
    let machines = by_machine(ranks);
    ranks
        .iter()
        .map(|r| {
            let (cpus, members) = &machines[r.machine.as_str()];
            let share = cpus.len() as f64 / members.len().max(1) as f64;
            let own = r.cpus.len() as f64;
            r.quota.map_or(share.min(own), |q| share.min(own).min(q))
        })
        .collect()
}

/// Each machine's ranks (in rank order) and the union of the CPUs they may run on.
pub(crate) fn by_machine(ranks: &[RankCpus]) -> BTreeMap<&str, (BTreeSet<u32>, Vec<usize>)> {
    let mut machines: BTreeMap<&str, (BTreeSet<u32>, Vec<usize>)> = BTreeMap::new();
    for (rank, r) in ranks.iter().enumerate() {
        let m = machines.entry(&r.machine).or_default();
        m.0.extend(&r.cpus);
        m.1.push(rank);
    }
    machines
}

/// The machine each rank runs on, as an index: ranks with the same one share its cores.
pub fn machine_of(ranks: &[RankCpus]) -> Vec<usize> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    ranks
        .iter()
        .map(|r| {
            let next = seen.len();
            *seen.entry(&r.machine).or_insert(next)
        })
        .collect()
}

/// The channels `count` opens: `auto` gives each rank a channel per whole core it was given
/// (the fewest over ranks, for every rank opens as many), between 1 and [`AUTO_MAX`].
pub fn channels(count: ChannelCount, cores: &[f64]) -> u32 {
    match count {
        ChannelCount::Fixed(n) => n,
        ChannelCount::Auto => {
            let fewest = cores.iter().copied().fold(f64::INFINITY, f64::min);
            if fewest.is_finite() {
                (fewest.floor() as u32).clamp(1, AUTO_MAX)
            } else {
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rank(machine: &str, cpus: std::ops::Range<u32>, quota: Option<f64>) -> RankCpus {
        RankCpus {
            machine: machine.into(),
            cpus: cpus.collect(),
            quota,
        }
    }

    #[test]
    fn ranks_sharing_a_machine_share_its_cores() {
        // Four local ranks on a 16-core machine: 4 cores each, 4 channels.
        let local: Vec<RankCpus> = (0..4).map(|_| rank("m", 0..16, None)).collect();
        assert_eq!(cores_given(&local), vec![4.0; 4]);
        assert_eq!(channels(ChannelCount::Auto, &cores_given(&local)), 4);
        // Four ranks in namespaces of a 2-core machine: half a core each, one channel.
        let netns: Vec<RankCpus> = (0..4).map(|_| rank("m", 0..2, None)).collect();
        assert_eq!(cores_given(&netns), vec![0.5; 4]);
        assert_eq!(channels(ChannelCount::Auto, &cores_given(&netns)), 1);
        // Two ranks bound to 4 cores each: 4 each, not 2.
        let bound = vec![rank("m", 0..4, None), rank("m", 4..8, None)];
        assert_eq!(cores_given(&bound), vec![4.0, 4.0]);
        // Machines apart, and a quota that is tighter than the share.
        let mixed = vec![
            rank("a", 0..8, None),
            rank("b", 0..32, None),
            rank("b", 0..32, Some(3.0)),
        ];
        assert_eq!(cores_given(&mixed), vec![8.0, 16.0, 3.0]);
        assert_eq!(channels(ChannelCount::Auto, &cores_given(&mixed)), 3);
        // Plenty of cores: at most 16.
        assert_eq!(channels(ChannelCount::Auto, &[64.0]), AUTO_MAX);
        assert_eq!(channels(ChannelCount::Fixed(7), &[0.5]), 7);
    }

    #[test]
    fn the_flag_takes_auto_or_a_count_in_range() {
        assert_eq!("auto".parse(), Ok(ChannelCount::Auto));
        assert_eq!("4".parse(), Ok(ChannelCount::Fixed(4)));
        for bad in ["0", "65", "-1", "two", ""] {
            let e = bad.parse::<ChannelCount>().unwrap_err();
            assert!(e.contains("1 to 64"), "{e}");
        }
    }

    proptest! {
        #[test]
        fn no_rank_is_given_more_than_it_may_use(
            ranks in proptest::collection::vec(
                (0usize..3, 0u32..8, 1u32..8, proptest::option::of(0.1f64..8.0)),
                1..12,
            )
        ) {
            let ranks: Vec<RankCpus> = ranks
                .into_iter()
                .map(|(m, first, n, quota)| rank(&format!("m{m}"), first..first + n, quota))
                .collect();
            let cores = cores_given(&ranks);
            for (r, c) in ranks.iter().zip(&cores) {
                prop_assert!(*c > 0.0 && *c <= r.cpus.len() as f64);
                prop_assert!(r.quota.is_none_or(|q| *c <= q));
            }
            // Ranks of one machine are never given more cores than it has, together.
            for m in ranks.iter().map(|r| &r.machine).collect::<BTreeSet<_>>() {
                let all: BTreeSet<u32> = ranks.iter().filter(|r| &r.machine == m).flat_map(|r| r.cpus.iter().copied()).collect();
                let sum: f64 = ranks.iter().zip(&cores).filter(|(r, _)| &r.machine == m).map(|(_, c)| c).sum();
                prop_assert!(sum <= all.len() as f64 + 1e-9);
            }
            let c = channels(ChannelCount::Auto, &cores);
            prop_assert!((1..=AUTO_MAX).contains(&c));
        }
    }
}
