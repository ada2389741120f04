//! How an all-reduce is run across the levels: one flat algorithm over all ranks, or a
//! hierarchical composition (reduce-scatter down the levels, an all-reduce across the top, and
//! all-gathers back), each part priced with its level's links. Closed form throughout: nothing
//! here builds a schedule.

use std::fmt;
use std::str::FromStr;

use topologies::{Algorithm, BuildOptions, CostTerms};

use super::carry::{Carried, LevelLink};
use super::in_switch::{self, Switches};
use super::levels::Level;
use super::Mode;
use crate::row::TermBreakdown;
use crate::stack::{Family, Protocol};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// One algorithm over all ranks.
    Flat(Algorithm),
    /// Ring reduce-scatter inside each node, the outer algorithm across nodes on 1/g of the
    /// data (one group per local GPU index, each on its own NIC), ring all-gather inside nodes.
    HierNode(Algorithm),
    /// Ring reduce-scatter at every level but the top (inside nodes, across nodes of a rack,
    /// across racks of a pod, ...), the outer algorithm across the top level's groups, then
    /// all-gathers back down: inside nodes, across nodes, across pods.
    HierTier(Algorithm),
    /// One ring per NIC rail in parallel, each on 1/g of the data, through every GPU
    /// ([`rails`](super::rails)): the ring as collective libraries run it on multi-GPU nodes.
    RailRings,
    /// One chain-and-double-binary-tree per NIC rail in parallel, pipelined
    /// ([`rails`](super::rails)): NCCL's tree on multi-GPU nodes.
    RailTrees,
    /// NVLink SHARP inside nodes, SHARP across them ([`in_switch`](super::in_switch)).
    Nvls,
    /// NVLink SHARP inside nodes, a double binary tree per rail across them.
    NvlsTree,
    /// Reduce-scatter and all-gather inside nodes, SHARP across them.
    CollNetDirect,
    /// A chain through each node's GPUs, SHARP across nodes.
    CollNetChain,
}

/// The strategies whose reductions run in switches, by name.
const IN_SWITCH: [(Strategy, &str); 4] = [
    (Strategy::Nvls, "nvls"),
    (Strategy::NvlsTree, "nvls-tree"),
    (Strategy::CollNetDirect, "collnet-direct"),
    (Strategy::CollNetChain, "collnet-chain"),
];

impl Strategy {
    pub fn name(&self) -> String {
        match self {
            Strategy::Flat(a) => a.name().to_string(),
            Strategy::HierNode(a) => format!("hier-node:{}", a.name()),
            Strategy::HierTier(a) => format!("hier-tier:{}", a.name()),
            Strategy::RailRings => "rail-rings".to_string(),
            Strategy::RailTrees => "rail-trees".to_string(),
            s => IN_SWITCH
                .iter()
                .find(|(x, _)| x == s)
                .map_or("?", |(_, n)| n)
                .to_string(),
        }
    }

    /// Whether the form already overlaps its reductions with its transfers (the rail and
    /// in-switch strategies, modelled on NCCL's pipelined kernels).
    pub fn pipelined(&self) -> bool {
        matches!(self, Strategy::RailRings | Strategy::RailTrees) || self.in_switch()
    }

    /// Whether switches reduce (no lab can run it: priced from the hardware alone).
    pub fn in_switch(&self) -> bool {
        IN_SWITCH.iter().any(|(s, _)| s == self)
    }

    /// The algorithm whose fit prices the outermost (or only) part.
    pub fn outer(&self) -> Algorithm {
        match self {
            Strategy::Flat(a) | Strategy::HierNode(a) | Strategy::HierTier(a) => *a,
            Strategy::RailRings => Algorithm::Ring,
            Strategy::RailTrees => Algorithm::DbTree,
            Strategy::Nvls | Strategy::CollNetDirect | Strategy::CollNetChain => Algorithm::Ring,
            Strategy::NvlsTree => Algorithm::DbTree,
        }
    }

    /// Every flat algorithm, rail rings and trees, the in-switch reductions, then both
    /// compositions with every outer algorithm.
    pub fn all() -> Vec<Strategy> {
        let mut v: Vec<Strategy> = Algorithm::ALL.iter().map(|a| Strategy::Flat(*a)).collect();
        v.push(Strategy::RailRings);
        v.push(Strategy::RailTrees);
        v.extend(IN_SWITCH.iter().map(|(s, _)| *s));
        v.extend(Algorithm::ALL.iter().map(|a| Strategy::HierNode(*a)));
        v.extend(Algorithm::ALL.iter().map(|a| Strategy::HierTier(*a)));
        v
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let names = || {
            Algorithm::ALL
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let algorithm = |a: &str| {
            a.parse::<Algorithm>()
                .ok()
                .filter(|_| a != "all")
                .ok_or_else(|| {
                    format!(
                    "unknown strategy '{s}'; expected an algorithm ({}), rail-rings, rail-trees, \
                     {}, or hier-node:ALGORITHM or hier-tier:ALGORITHM",
                    names(),
                    IN_SWITCH.map(|(_, n)| n).join(", ")
                )
                })
        };
        match s {
            "rail-rings" => return Ok(Strategy::RailRings),
            "rail-trees" => return Ok(Strategy::RailTrees),
            _ => {}
        }
        if let Some((st, _)) = IN_SWITCH.iter().find(|(_, n)| *n == s) {
            return Ok(*st);
        }
        if let Some(rest) = s.strip_prefix("hier-node:") {
            return Ok(Strategy::HierNode(algorithm(rest)?));
        }
        if let Some(rest) = s.strip_prefix("hier-tier:") {
            return Ok(Strategy::HierTier(algorithm(rest)?));
        }
        Ok(Strategy::Flat(algorithm(s)?))
    }
}

/// Everything a strategy needs to be priced at one rank count.
#[derive(Clone, Copy)]
pub(crate) struct Pricing<'a> {
    pub levels: &'a [Level],
    pub mode: Mode,
    pub build: &'a BuildOptions,
    /// Every fit as carried; an algorithm with size regimes has one per regime, and each part
    /// of a composition is priced by the regime of the buffer it all-reduces.
    pub carried: &'a [Carried],
    /// The target stack's protocols (target mode; none: the carried links as they are).
    pub protocols: &'a [Protocol],
    /// The protocol being priced.
    pub protocol: Option<&'a Protocol>,
    /// Which of the scenario's switches reduce.
    pub switches: Switches,
    /// The links of what no lab runs (the in-switch reductions, PAT), in target mode: the
    /// hardware alone.
    pub unmeasured_links: Option<&'a Carried>,
}

/// Why a strategy has no price at a rank count.
#[derive(Debug)]
pub(crate) enum Skip {
    /// The composition has nothing to compose at this rank count (it would equal a flat one).
    NotApplicable,
    /// Missing fit or a shape the cost form rejects.
    Cannot(String),
    /// The scenario lacks what the strategy needs, at every rank count (said once).
    Unsupported(String),
}

impl<'a> Pricing<'a> {
    /// The fastest of the stack's protocols that run `family`, and its name: `price` gives the
    /// terms with the protocol set, to which its base latency per call is added; `None` where
    /// no protocol runs the family.
    pub(super) fn fastest<E>(
        &self,
        family: Family,
        mut price: impl FnMut(&Pricing<'a>) -> Result<TermBreakdown, E>,
    ) -> Result<Option<(TermBreakdown, &'static str)>, E> {
        let mut best: Option<(TermBreakdown, &'static str)> = None;
        for p in self.protocols.iter().filter(|p| p.runs(family)) {
            let mut t = price(&Pricing {
                protocol: Some(p),
                ..*self
            })?;
            t.latency_us += p.base(family);
            if best.as_ref().is_none_or(|(b, _)| t.total() < b.total()) {
                best = Some((t, p.name));
            }
        }
        Ok(best)
    }

    /// The strategy's terms with the fastest of the stack's protocols (and that protocol's
    /// name), or with the carried links where the stack has none.
    pub fn terms(
        &self,
        strategy: Strategy,
        ranks: usize,
        bytes: f64,
    ) -> Result<(TermBreakdown, Option<&'static str>), Skip> {
        if self.mode == Mode::Lab || self.protocols.is_empty() || ranks < 2 {
            return self.terms_with(strategy, ranks, bytes).map(|t| (t, None));
        }
        let family = in_switch::family(strategy).unwrap_or(Family::of(strategy.outer()));
        let best = self.fastest(family, |with| {
            let mut t = with.terms_with(strategy, ranks, bytes)?;
            if !strategy.pipelined() {
                t.reduction_us = fused(t.reduction_us, t.bandwidth_us);
            }
            Ok(t)
        })?;
        best.map(|(t, n)| (t, Some(n))).ok_or_else(|| {
            Skip::Unsupported(format!(
                "{strategy}: the stack has no protocol that runs it"
            ))
        })
    }

    /// The carried links of `carried` at `level`, with the protocol being priced applied: its
    /// step latency for the level's kind of link (NVLink inside a node, the network across),
    /// and its share of the link's rate.
    pub(super) fn link(&self, carried: &Carried, level: &Level) -> LevelLink {
        self.link_in(carried, Family::of(carried.algorithm), level)
    }

    /// [`Pricing::link`] with the protocol's numbers of `family` (an in-switch reduction or PAT
    /// priced on the hardware's links, for one).
    pub(super) fn link_in(&self, carried: &Carried, family: Family, level: &Level) -> LevelLink {
        carried.link_in(family, level, self.mode, self.protocol, self.multi_node())
    }

    /// Whether the group spans nodes (has a level beyond the node).
    pub(super) fn multi_node(&self) -> bool {
        self.levels.iter().any(|l| l.name != "node")
    }

    fn terms_with(
        &self,
        strategy: Strategy,
        ranks: usize,
        bytes: f64,
    ) -> Result<TermBreakdown, Skip> {
        if ranks < 2 || self.levels.is_empty() {
            return Ok(TermBreakdown::default());
        }
        match strategy {
            Strategy::Flat(a) => self.flat(a, ranks, bytes, self.levels),
            Strategy::HierNode(a) => {
                let first = &self.levels[0];
                if self.levels.len() < 2 || first.name != "node" {
                    return Err(Skip::NotApplicable);
                }
                let inner = self.part(Algorithm::Ring, first.size, bytes, first)?;
                let k = first.size;
                let across =
                    self.flat(a, ranks.div_ceil(k), bytes / k as f64, &self.levels[1..])?;
                Ok(inner.plus(across))
            }
            Strategy::HierTier(a) => {
                if self.levels.len() < 2 {
                    return Err(Skip::NotApplicable);
                }
                let (top, below) = self.levels.split_last().ok_or(Skip::NotApplicable)?;
                let mut n = bytes;
                let mut total = TermBreakdown::default();
                for level in below {
                    total = total.plus(self.part(Algorithm::Ring, level.size, n, level)?);
                    n /= level.size as f64;
                }
                total = total.plus(self.part(a, top.size, n, top)?);
                Ok(total)
            }
            Strategy::RailRings => self.rail_rings(ranks, bytes),
            Strategy::RailTrees => self.rail_trees(ranks, bytes),
            Strategy::Nvls
            | Strategy::NvlsTree
            | Strategy::CollNetDirect
            | Strategy::CollNetChain => self.in_switch(strategy, ranks, bytes),
        }
    }

    /// The slowest per-byte cost of `carried`'s links over `levels` (0 over none).
    pub(super) fn slowest_beta(&self, carried: &Carried, levels: &[Level]) -> f64 {
        levels
            .iter()
            .map(|l| self.link(carried, l).beta_us_per_byte)
            .fold(0.0, f64::max)
    }

    /// The all-reduce algorithm's fit for a buffer of `bytes` bytes per rank.
    pub(super) fn carried(&self, algorithm: Algorithm, bytes: f64) -> Result<&Carried, Skip> {
        let mine = || {
            self.carried
                .iter()
                .filter(|c| c.algorithm == algorithm && c.is_all_reduce())
        };
        mine()
            .find(|c| c.sizes.contains(bytes))
            .or_else(|| mine().next())
            .ok_or_else(|| {
                Skip::Cannot(if algorithm == Algorithm::Ring {
                    "compositions need a ring fit for their inner levels".to_string()
                } else {
                    format!("no fit for {algorithm}")
                })
            })
    }

    /// `algorithm` over `ranks` ranks spanning `levels`: messages pay the top level's latency,
    /// bytes the slowest level's rate. Oversubscription: inside a single level every member
    /// crosses it at once, so it applies; across several levels it applies to the algorithms
    /// with steps in which every rank sends across the top tier, not to the ring and the trees
    /// ([`crosses_tiers_on_few_edges`]).
    fn flat(
        &self,
        algorithm: Algorithm,
        ranks: usize,
        bytes: f64,
        levels: &[Level],
    ) -> Result<TermBreakdown, Skip> {
        let Some(top) = levels.last() else {
            return Ok(TermBreakdown::default());
        };
        if levels.len() == 1 {
            return self.part(algorithm, ranks, bytes, top);
        }
        let carried = self.carried(algorithm, bytes)?;
        let link = LevelLink {
            beta_us_per_byte: self.slowest_beta(carried, levels),
            ..self.link(carried, top)
        };
        let oversub = if crosses_tiers_on_few_edges(algorithm) {
            1.0
        } else {
            top.oversubscription
        };
        let c = self.cost(algorithm, ranks, bytes)?;
        Ok(terms_of(&c, link, oversub))
    }

    /// `algorithm` over `ranks` members of one level, all of them crossing it at once.
    fn part(
        &self,
        algorithm: Algorithm,
        ranks: usize,
        bytes: f64,
        level: &Level,
    ) -> Result<TermBreakdown, Skip> {
        let carried = self.carried(algorithm, bytes)?;
        let c = self.cost(algorithm, ranks, bytes)?;
        Ok(terms_of(
            &c,
            self.link(carried, level),
            level.oversubscription,
        ))
    }

    pub(super) fn cost(
        &self,
        algorithm: Algorithm,
        ranks: usize,
        bytes: f64,
    ) -> Result<CostTerms, Skip> {
        algorithm
            .try_cost(ranks, bytes, self.build)
            .map_err(|e| Skip::Cannot(e.to_string()))
    }
}

/// A library's kernels reduce as they copy (NCCL's primitives receive, reduce and send in one
/// pass), so under its stack a reduction costs time only where it is slower than the transfers
/// it runs under.
pub(super) fn fused(reduction_us: f64, transfer_us: f64) -> f64 {
    (reduction_us - transfer_us).max(0.0)
}

/// Whether a flat `algorithm` over several levels crosses a tier's group boundaries on only a
/// few edges per group, so that the tier's oversubscription does not slow it: the ring (one
/// edge in and one out of each group), and the trees, whose subtrees are runs of consecutive
/// ranks (NCCL's in-order trees; the binomial tree's partners 2^i apart), so only the edges of
/// their top levels leave a group, and a group of b ranks sends at most a few streams across
/// while its b uplinks' share could carry b / oversubscription. Halving-doubling, doubling and
/// the two-dimensional schedules have steps in which every rank sends across the top tier.
pub(super) fn crosses_tiers_on_few_edges(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Ring | Algorithm::Tree | Algorithm::DbTree
    )
}

/// Prices cost terms with a level's link; bytes above the link's rate are split into the
/// bandwidth term and the extra that oversubscription costs.
pub fn terms_of(c: &CostTerms, link: LevelLink, oversubscription: f64) -> TermBreakdown {
    let bw = link.beta_us_per_byte * c.bytes;
    TermBreakdown {
        latency_us: link.alpha_us * c.latency_steps,
        bandwidth_us: bw,
        reduction_us: link.gamma_us_per_byte * c.reduced_bytes,
        oversubscription_us: bw * (oversubscription.max(1.0) - 1.0),
        straggler_us: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_by_name_and_a_clear_refusal() {
        for st in Strategy::all() {
            assert_eq!(st.name().parse::<Strategy>(), Ok(st));
        }
        let e = "bogus".parse::<Strategy>().unwrap_err();
        assert!(
            e.contains("unknown strategy 'bogus'") && e.contains("rail-trees"),
            "{e}"
        );
        assert!("hier-node:all".parse::<Strategy>().is_err());
        assert_eq!("nvls-tree".parse::<Strategy>(), Ok(Strategy::NvlsTree));
        assert!(Strategy::CollNetChain.in_switch() && !Strategy::RailRings.in_switch());
    }
}
