//! The catalogue of all-reduce algorithms: names, schedule builders and cost forms.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cost::CostTerms;
use crate::partition::segment_elems;
use crate::schedule::Schedule;
use crate::{dbtree, hier, rail, rd, rhd, ring, torus2d, tree};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Ring reduce-scatter then all-gather ([`ring`]).
    Ring,
    /// Pipelined binomial reduce then broadcast ([`tree`]).
    Tree,
    /// Double binary tree, NCCL's layout ([`dbtree`]).
    DbTree,
    /// Recursive halving-doubling, Rabenseifner ([`rhd`]).
    Rhd,
    /// Recursive doubling ([`rd`]).
    Rd,
    /// Two-level: groups of consecutive ranks, then across groups ([`hier`]).
    Hier,
    /// Rows then columns of an X x Y grid ([`torus2d`]).
    Torus2d,
    /// All-to-all: p - 1 rounds of pairs that swap their blocks ([`alltoall`](crate::alltoall)).
    Pairwise,
    /// All-to-all: every block sent at once, as NCCL posts them ([`alltoall`](crate::alltoall)).
    Linear,
    /// All-to-all: about lg p rounds of about half the blocks ([`bruck`](crate::bruck)).
    Bruck,
    /// Broadcast and reduce: a pipelined chain from or to the root ([`rooted`](crate::rooted)).
    Chain,
    /// One ring per rank of a group, each on its part of the buffer and each leaving every
    /// group from its own rank, side by side ([`rail`]).
    Rail,
}

/// Knobs that some algorithms take; the others ignore them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// Segment size in bytes for pipelined algorithms (`tree`, `dbtree`), rounded down to whole
    /// elements, at least one element.
    pub segment_bytes: usize,
    /// Piece size in bytes that `ring` forwards as soon as it is reduced (see [`ring`]), rounded
    /// down to whole elements; 0: whole chunks, the textbook ring.
    #[serde(default)]
    pub ring_segment_bytes: usize,
    /// `hier` and `rail`: ranks per group. `None`: [`hier::default_group_size`].
    #[serde(default)]
    pub group_size: Option<usize>,
    /// `torus2d`: (X, Y), rank = y X + x. `None`: [`torus2d::default_grid`].
    #[serde(default)]
    pub grid: Option<(usize, usize)>,
    /// `hier`: reduce-scatter and all-gather inside groups: `ring` or `rhd`.
    #[serde(default = "default_level")]
    pub hier_inner: Algorithm,
    /// `hier`: all-reduce across groups: `ring`, `tree`, `dbtree`, `rhd` or `rd`.
    #[serde(default = "default_level")]
    pub hier_outer: Algorithm,
    /// `hier` and `rail`: the groups are nodes whose ranks reach each other without the network
    /// (NVLink on a GPU node, loopback on one host), so the cost forms' bandwidth term counts
    /// only the bytes that cross between groups. Schedules do not depend on it.
    #[serde(default)]
    pub groups_are_nodes: bool,
}

fn default_level() -> Algorithm {
    Algorithm::Ring
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            segment_bytes: 1 << 20,
            ring_segment_bytes: 0,
            group_size: None,
            grid: None,
            hier_inner: default_level(),
            hier_outer: default_level(),
            groups_are_nodes: false,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlgorithmError {
    #[error("unknown algorithm '{0}'; expected one of: {accepted} (or 'all')", accepted = Algorithm::every_name())]
    Unknown(String),
    #[error("{0} is not an all-reduce algorithm; all_reduce has: {accepted}", accepted = Algorithm::names())]
    NotAllReduce(Algorithm),
    #[error("{algorithm} cannot run on {nranks} ranks: {reason}")]
    Shape {
        algorithm: Algorithm,
        nranks: usize,
        reason: String,
    },
    #[error("{algorithm}: unsupported {option}: {reason}")]
    Unsupported {
        algorithm: Algorithm,
        option: &'static str,
        reason: String,
    },
}

impl Algorithm {
    /// The all-reduce algorithms over one flat network: what a projection prices as a flat
    /// strategy ([`ALL_REDUCE`](Self::ALL_REDUCE) adds those that need groups of ranks).
    pub const ALL: [Algorithm; 7] = [
        Algorithm::Ring,
        Algorithm::Tree,
        Algorithm::DbTree,
        Algorithm::Rhd,
        Algorithm::Rd,
        Algorithm::Hier,
        Algorithm::Torus2d,
    ];

    /// Every all-reduce algorithm a run can measure (what `all` means for an all-reduce).
    pub const ALL_REDUCE: [Algorithm; 8] = {
        let mut all = [Algorithm::Rail; 8];
        let mut i = 0;
        while i < Self::ALL.len() {
            all[i] = Self::ALL[i];
            i += 1;
        }
        all
    };

    /// Every algorithm of every collective
    /// ([`Collective::algorithms`](crate::Collective::algorithms) says which is whose).
    pub const EVERY: [Algorithm; 12] = [
        Algorithm::Ring,
        Algorithm::Tree,
        Algorithm::DbTree,
        Algorithm::Rhd,
        Algorithm::Rd,
        Algorithm::Hier,
        Algorithm::Torus2d,
        Algorithm::Pairwise,
        Algorithm::Linear,
        Algorithm::Bruck,
        Algorithm::Chain,
        Algorithm::Rail,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ring => "ring",
            Algorithm::Tree => "tree",
            Algorithm::DbTree => "dbtree",
            Algorithm::Rhd => "rhd",
            Algorithm::Rd => "rd",
            Algorithm::Hier => "hier",
            Algorithm::Torus2d => "torus2d",
            Algorithm::Pairwise => "pairwise",
            Algorithm::Linear => "linear",
            Algorithm::Bruck => "bruck",
            Algorithm::Chain => "chain",
            Algorithm::Rail => "rail",
        }
    }

    pub fn names() -> String {
        Self::ALL_REDUCE.map(Algorithm::name).join(", ")
    }

    /// Every algorithm's name, comma-separated.
    pub fn every_name() -> String {
        Self::EVERY.map(Algorithm::name).join(", ")
    }

    /// Parses a comma-separated list; `all` means every algorithm.
    pub fn parse_list(s: &str) -> Result<Vec<Algorithm>, AlgorithmError> {
        crate::names::parse_list(s, &Self::ALL_REDUCE)
    }

    /// The schedule for `nranks` ranks over `count` elements of `elem_size` bytes.
    ///
    /// Every algorithm takes any count (including 0 and counts below `nranks`) and any
    /// `nranks` from 1; `hier` and `torus2d` reject shapes in `opts` that do not tile `nranks`.
    pub fn build(
        self,
        nranks: usize,
        count: usize,
        elem_size: usize,
        opts: &BuildOptions,
    ) -> Result<Schedule, AlgorithmError> {
        self.check_nranks(nranks)?;
        let segment = segment_elems(opts.segment_bytes, elem_size);
        Ok(match self {
            Algorithm::Ring => ring::schedule(nranks, count, ring_segment(opts, elem_size)),
            Algorithm::Tree => tree::schedule(nranks, count, segment),
            Algorithm::DbTree => dbtree::schedule(nranks, count, segment),
            Algorithm::Rhd => rhd::schedule(nranks, count),
            Algorithm::Rd => rd::schedule(nranks, count),
            Algorithm::Hier => hier::schedule(nranks, count, elem_size, opts)?,
            Algorithm::Torus2d => torus2d::schedule(nranks, count, opts)?,
            Algorithm::Rail => rail::schedule(nranks, count, elem_size, opts)?,
            Algorithm::Pairwise | Algorithm::Linear | Algorithm::Bruck | Algorithm::Chain => {
                return Err(AlgorithmError::NotAllReduce(self))
            }
        })
    }

    /// The analytic cost terms for `bytes` bytes per rank. For a shape that [`build`] rejects
    /// every term is NaN; [`try_cost`] says why.
    ///
    /// [`build`]: Self::build
    /// [`try_cost`]: Self::try_cost
    pub fn cost(self, nranks: usize, bytes: f64, opts: &BuildOptions) -> CostTerms {
        self.try_cost(nranks, bytes, opts)
            .unwrap_or(CostTerms::UNDEFINED)
    }

    /// The analytic cost terms for `bytes` bytes per rank, or why the shape is not possible.
    pub fn try_cost(
        self,
        nranks: usize,
        bytes: f64,
        opts: &BuildOptions,
    ) -> Result<CostTerms, AlgorithmError> {
        self.check_nranks(nranks)?;
        Ok(match self {
            Algorithm::Ring => ring::pipelined_cost(nranks, bytes, opts.ring_segment_bytes),
            Algorithm::Tree => tree::cost(nranks, bytes),
            Algorithm::DbTree => dbtree::cost(nranks, bytes, opts.segment_bytes),
            Algorithm::Rhd => rhd::cost(nranks, bytes),
            Algorithm::Rd => rd::cost(nranks, bytes),
            Algorithm::Hier => hier::cost(nranks, bytes, opts)?,
            Algorithm::Torus2d => torus2d::cost(nranks, bytes, opts)?,
            Algorithm::Rail => rail::cost(nranks, bytes, opts)?,
            Algorithm::Pairwise | Algorithm::Linear | Algorithm::Bruck | Algorithm::Chain => {
                return Err(AlgorithmError::NotAllReduce(self))
            }
        })
    }

    fn check_nranks(self, nranks: usize) -> Result<(), AlgorithmError> {
        if nranks == 0 {
            return Err(AlgorithmError::Shape {
                algorithm: self,
                nranks,
                reason: "an all-reduce needs at least one rank".to_string(),
            });
        }
        Ok(())
    }
}

/// `ring`'s piece in elements; 0 stays 0 (no pieces).
fn ring_segment(opts: &BuildOptions, elem_size: usize) -> usize {
    match opts.ring_segment_bytes {
        0 => 0,
        b => segment_elems(b, elem_size),
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = AlgorithmError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::EVERY
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| AlgorithmError::Unknown(s.to_string()))
    }
}
