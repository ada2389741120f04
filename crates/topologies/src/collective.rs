//! The collectives collbench runs, named as nccl-tests names them, and what each one's sizes,
//! bus bandwidth and algorithms are.
//!
//! Every collective runs over one buffer of `count` elements per rank (the schedule's buffer):
//! nccl-tests' receive buffer for all-gather, its send buffer for reduce-scatter, and the buffer
//! of the others. Where nccl-tests' in-place variant puts the send buffer inside the receive
//! buffer (all-gather: at block r; reduce-scatter: the result at block r), that is the layout
//! here too, so one schedule serves both placements. What each rank's buffer must hold
//! afterwards is [`layout::Layout::expect`](crate::layout::Layout::expect).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Algorithm, AlgorithmError, DataType, ReduceOp};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Collective {
    /// What a run without `--collective` measures, and what results files from before other
    /// collectives hold.
    #[default]
    #[serde(rename = "all_reduce")]
    AllReduce,
    #[serde(rename = "all_gather")]
    AllGather,
    #[serde(rename = "reduce_scatter")]
    ReduceScatter,
    #[serde(rename = "alltoall")]
    AllToAll,
    #[serde(rename = "broadcast")]
    Broadcast,
    #[serde(rename = "reduce")]
    Reduce,
    #[serde(rename = "sendrecv")]
    SendRecv,
}

/// One collective by one algorithm: what a run measures at every size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub collective: Collective,
    pub algorithm: Algorithm,
}

impl Case {
    /// The all-reduce by `algorithm`.
    pub fn all_reduce(algorithm: Algorithm) -> Case {
        Case {
            collective: Collective::AllReduce,
            algorithm,
        }
    }
}

impl fmt::Display for Case {
    /// "ring" for an all-reduce (as before there were other collectives), "all_gather ring"
    /// for the others.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.collective != Collective::AllReduce {
            write!(f, "{} ", self.collective)?;
        }
        write!(f, "{}", self.algorithm)
    }
}

/// One table of a run: a case in one data type and reduction operator, at every size of the
/// sweep (nccl-tests runs a table per type and, for the collectives that reduce, per operator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    pub case: Case,
    #[serde(rename = "type")]
    pub dtype: DataType,
    pub op: ReduceOp,
}

impl Series {
    /// Every case in every type, and in every operator where the collective reduces (the others
    /// run once per type, with the first operator, which they ignore): types outermost, as
    /// nccl-tests' `-d all -o all` orders its tables.
    pub fn all(cases: &[Case], dtypes: &[DataType], ops: &[ReduceOp]) -> Vec<Series> {
        let mut out = Vec::new();
        for &dtype in dtypes {
            for (i, &op) in ops.iter().enumerate() {
                for &case in cases {
                    if i == 0 || case.collective.reduces() {
                        out.push(Series { case, dtype, op });
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for Series {
    /// The case, then the type and operator ("ring float sum", "all_gather ring half").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.case, self.dtype)?;
        if self.case.collective.reduces() {
            write!(f, " {}", self.op)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CollectiveError {
    #[error("unknown collective '{0}'; expected one of: {accepted} (or 'all')", accepted = Collective::names())]
    Unknown(String),
    #[error("{algorithm} is not an algorithm of {collective}; {collective} has: {accepted}", accepted = collective.algorithm_names())]
    NoSuchAlgorithm {
        collective: Collective,
        algorithm: Algorithm,
    },
    #[error("{collective} needs a whole number of blocks, one per rank: {count} elements is not a multiple of {nranks} ranks")]
    Blocks {
        collective: Collective,
        count: usize,
        nranks: usize,
    },
    #[error("root {root} is not a rank of {nranks}")]
    Root { root: usize, nranks: usize },
    #[error(transparent)]
    Algorithm(#[from] AlgorithmError),
}

impl Collective {
    pub const ALL: [Collective; 7] = [
        Collective::AllReduce,
        Collective::AllGather,
        Collective::ReduceScatter,
        Collective::AllToAll,
        Collective::Broadcast,
        Collective::Reduce,
        Collective::SendRecv,
    ];

    /// nccl-tests' name (its binary's, without `_perf`).
    pub fn name(self) -> &'static str {
        match self {
            Collective::AllReduce => "all_reduce",
            Collective::AllGather => "all_gather",
            Collective::ReduceScatter => "reduce_scatter",
            Collective::AllToAll => "alltoall",
            Collective::Broadcast => "broadcast",
            Collective::Reduce => "reduce",
            Collective::SendRecv => "sendrecv",
        }
    }

    pub fn names() -> String {
        Self::ALL.map(Collective::name).join(", ")
    }

    /// Parses a comma-separated list; `all` means every collective. Repeats are dropped.
    pub fn parse_list(s: &str) -> Result<Vec<Collective>, CollectiveError> {
        crate::names::parse_list(s, &Self::ALL)
    }

    /// nccl-tests' bus bandwidth factor: busbw = algbw x factor, so that busbw is comparable
    /// with the hardware's link rate whatever the rank count (its doc/PERFORMANCE.md).
    pub fn bus_factor(self, nranks: usize) -> f64 {
        let p = nranks.max(1) as f64;
        match self {
            Collective::AllReduce => 2.0 * (p - 1.0) / p,
            Collective::AllGather | Collective::ReduceScatter | Collective::AllToAll => {
                (p - 1.0) / p
            }
            Collective::Broadcast | Collective::Reduce | Collective::SendRecv => 1.0,
        }
    }

    /// Whether the reduction operator takes part (nccl-tests prints `none` as the redop of the
    /// others).
    pub fn reduces(self) -> bool {
        matches!(
            self,
            Collective::AllReduce | Collective::ReduceScatter | Collective::Reduce
        )
    }

    /// Whether the collective has a root (nccl-tests' `root` column; -1 for the others).
    pub fn rooted(self) -> bool {
        matches!(self, Collective::Broadcast | Collective::Reduce)
    }

    /// Whether the buffer is p blocks, one per rank (all-gather, reduce-scatter, all-to-all):
    /// its element count is a multiple of p, as nccl-tests rounds it.
    pub fn blocked(self) -> bool {
        matches!(
            self,
            Collective::AllGather | Collective::ReduceScatter | Collective::AllToAll
        )
    }

    /// The element count a buffer of `bytes` bytes per rank has: whole elements, and for the
    /// blocked collectives a whole number of blocks (nccl-tests' rounding).
    pub fn count_for(self, bytes: u64, elem_size: usize, nranks: usize) -> u64 {
        let count = bytes / elem_size.max(1) as u64;
        if self.blocked() {
            let p = nranks.max(1) as u64;
            count / p * p
        } else {
            count
        }
    }

    /// The algorithms that exist for this collective, the default first.
    pub fn algorithms(self) -> &'static [Algorithm] {
        use Algorithm::*;
        match self {
            Collective::AllReduce => &Algorithm::ALL_REDUCE,
            Collective::AllGather | Collective::ReduceScatter => &[Ring, Rhd, Hier],
            Collective::AllToAll => &[Pairwise, Linear, Bruck],
            Collective::Broadcast | Collective::Reduce => &[Chain, Tree],
            Collective::SendRecv => &[Ring],
        }
    }

    /// The algorithm a run uses when `-a` is not given.
    pub fn default_algorithm(self) -> Algorithm {
        self.algorithms()[0]
    }

    pub fn algorithm_names(self) -> String {
        self.algorithms()
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `algorithm`, if it exists for this collective; else why not, with those that do.
    pub fn check(self, algorithm: Algorithm) -> Result<(), CollectiveError> {
        if self.algorithms().contains(&algorithm) {
            Ok(())
        } else {
            Err(CollectiveError::NoSuchAlgorithm {
                collective: self,
                algorithm,
            })
        }
    }
}

impl fmt::Display for Collective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Collective {
    type Err = CollectiveError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .collect::<String>()
            .to_ascii_lowercase();
        let key = key.strip_suffix("perf").unwrap_or(&key);
        Self::ALL
            .into_iter()
            .find(|c| {
                c.name().replace('_', "") == key || (key == "bcast" && *c == Collective::Broadcast)
            })
            .ok_or_else(|| CollectiveError::Unknown(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_spellings_are_forgiven() {
        for c in Collective::ALL {
            assert_eq!(c.name().parse::<Collective>(), Ok(c));
            let json = serde_json_name(c);
            assert_eq!(json, c.name());
        }
        assert_eq!("allreduce".parse(), Ok(Collective::AllReduce));
        assert_eq!("all-gather".parse(), Ok(Collective::AllGather));
        assert_eq!("all_to_all".parse(), Ok(Collective::AllToAll));
        assert_eq!("reduce_scatter_perf".parse(), Ok(Collective::ReduceScatter));
        let err = "gather".parse::<Collective>().unwrap_err().to_string();
        assert!(err.contains("all_reduce, all_gather"), "{err}");
        assert_eq!(Collective::parse_list("all, reduce").unwrap().len(), 7);
    }

    fn serde_json_name(c: Collective) -> String {
        // What results.json carries: nccl-tests' name.
        serde_json::to_string(&c)
            .unwrap()
            .trim_matches('"')
            .to_string()
    }

    #[test]
    fn bus_factors_are_nccl_tests() {
        assert_eq!(Collective::AllReduce.bus_factor(4), 1.5);
        assert_eq!(Collective::AllGather.bus_factor(4), 0.75);
        assert_eq!(Collective::AllToAll.bus_factor(8), 0.875);
        assert_eq!(Collective::Broadcast.bus_factor(8), 1.0);
        assert_eq!(Collective::AllReduce.bus_factor(1), 0.0);
    }

    #[test]
    fn blocked_counts_round_down_to_whole_blocks() {
        assert_eq!(Collective::AllGather.count_for(1000, 4, 3), 249);
        assert_eq!(Collective::AllReduce.count_for(1000, 4, 3), 250);
        assert_eq!(Collective::AllToAll.count_for(4, 4, 3), 0);
    }

    #[test]
    fn every_collective_has_a_default_and_refuses_foreign_algorithms() {
        for c in Collective::ALL {
            assert!(c.check(c.default_algorithm()).is_ok());
        }
        let err = Collective::AllToAll
            .check(Algorithm::Ring)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "ring is not an algorithm of alltoall; alltoall has: pairwise, linear, bruck"
        );
    }
}
