//! The software stack of the target: what the collective library the target cluster runs adds to
//! the wire, per collective call and per step, and how much of a link's rate each of its
//! protocols reaches. A prediction in target mode prices every message with the target's stack,
//! not with the lab's.
//!
//! Profiles:
//! - `nccl`: NVIDIA NCCL's own tuning model (`src/graph/tuning.cc` of NCCL 2.30.7,
//!   `ncclTunerConstantsDefaults` and `ncclTopoTuneModel`): for each protocol (LL, LL128,
//!   Simple) a base latency per call, a latency per step over NVLink and over the network, and a
//!   bandwidth factor; the prediction takes the fastest protocol at each size, as NCCL does;
//! - `lab`: the lab's measured per-message overhead carried to the target (collbench's own QUIC
//!   stack on the lab's hosts), one protocol;
//! - `none`: the wire alone: no per-message software cost.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use topologies::Algorithm;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StackProfile {
    None,
    Lab,
    Nccl,
}

impl StackProfile {
    pub const NAMES: &'static str = "nccl, lab, none";

    pub fn name(self) -> &'static str {
        match self {
            StackProfile::None => "none",
            StackProfile::Lab => "lab",
            StackProfile::Nccl => "nccl",
        }
    }

    /// The protocols a profile prices (none: the one implicit protocol of the carried links).
    pub fn protocols(self) -> &'static [Protocol] {
        match self {
            StackProfile::Nccl => &NCCL,
            StackProfile::None | StackProfile::Lab => &[],
        }
    }
}

impl fmt::Display for StackProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StackProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nccl" => Ok(StackProfile::Nccl),
            "lab" => Ok(StackProfile::Lab),
            "none" => Ok(StackProfile::None),
            other => Err(format!(
                "unknown stack '{other}'; expected one of: {}",
                Self::NAMES
            )),
        }
    }
}

/// NCCL's algorithm families, each with its own latencies and bandwidth factors: its ring and
/// its tree, the in-switch reductions (NVLS inside a node, NVLS with a tree across nodes,
/// CollNet's direct and chain forms in the network) and PAT. Algorithms NCCL does not have
/// (recursive halving-doubling, recursive doubling, collbench's hier and torus2d) are priced per
/// step as a ring step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Ring,
    Tree,
    Nvls,
    NvlsTree,
    CollNetDirect,
    CollNetChain,
    Pat,
}

/// How many families a protocol's tables have.
const FAMILIES: usize = 7;

impl Family {
    pub fn of(a: Algorithm) -> Family {
        match a {
            Algorithm::Tree | Algorithm::DbTree => Family::Tree,
            _ => Family::Ring,
        }
    }

    fn index(self) -> usize {
        match self {
            Family::Ring => 0,
            Family::Tree => 1,
            Family::Nvls => 2,
            Family::NvlsTree => 3,
            Family::CollNetDirect => 4,
            Family::CollNetChain => 5,
            Family::Pat => 6,
        }
    }
}

/// One protocol of a library: its costs for each family, indexed as [`Family`] lists them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Protocol {
    pub name: &'static str,
    /// Once per collective call, microseconds.
    pub base_us: [f64; FAMILIES],
    /// Per step inside a node (NVLink), microseconds; replaces the level's latency.
    pub nvlink_step_us: [f64; FAMILIES],
    /// Per step across the network, microseconds, on top of the level's own latency (NCCL adds
    /// the topology's inter-node latency to it likewise).
    pub network_step_us: [f64; FAMILIES],
    /// Inside a node, when the collective spans nodes, a ring or tree step costs at least this
    /// (NCCL's network overhead per ring step, `getNetOverhead`, times 3 for Simple),
    /// microseconds.
    pub multi_node_intra_floor_us: f64,
    /// Share of the link rate the protocol reaches; 0 where the family does not run the
    /// protocol.
    pub bandwidth_factor: [f64; FAMILIES],
    /// A further share of the NVLink rate inside a node (NCCL's NVLink rate and NVLS
    /// efficiency).
    pub nvlink_factor: [f64; FAMILIES],
}

impl Protocol {
    pub fn base(&self, f: Family) -> f64 {
        self.base_us[f.index()]
    }

    /// Whether the family runs this protocol (NCCL runs NVLS, CollNet and PAT in Simple only).
    pub fn runs(&self, f: Family) -> bool {
        self.bandwidth_factor[f.index()] > 0.0
    }

    /// The latency of one step at a level: inside a node (`nvlink`) or across the network,
    /// whose own latency is `level_latency_us`.
    pub fn step(&self, f: Family, nvlink: bool, multi_node: bool, level_latency_us: f64) -> f64 {
        if nvlink {
            let hw = self.nvlink_step_us[f.index()];
            if multi_node && matches!(f, Family::Ring | Family::Tree) {
                hw.max(self.multi_node_intra_floor_us)
            } else {
                hw
            }
        } else {
            self.network_step_us[f.index()] + level_latency_us
        }
    }

    /// The share of a link's rate the protocol reaches, inside a node (`nvlink`) or across.
    pub fn bandwidth_factor(&self, f: Family, nvlink: bool) -> f64 {
        let i = f.index();
        if nvlink {
            self.bandwidth_factor[i] * self.nvlink_factor[i]
        } else {
            self.bandwidth_factor[i]
        }
    }
}

/// NCCL's PAT latency, which is not a per-step latency: log2(nodes) network steps at a 1/3.5
/// share of the family's step, and a linear part of 2.8 us per rank (`ncclTopoTuneModel`:
/// "Still a linear part; hopefully we'll manage to remove it at some point").
pub const NCCL_PAT_STEP_SHARE: f64 = 1.0 / 3.5;
/// See [`NCCL_PAT_STEP_SHARE`].
pub const NCCL_PAT_PER_RANK_US: f64 = 2.8;

/// NCCL 2.30.7, `src/graph/tuning.cc`: `baseLatencies` and `hwLatencies` (NVLINK and NET rows)
/// of `ncclTunerConstantsDefaults` for every family ([`Family`]); the bandwidth refinements of
/// `ncclTopoTuneModel` (ring LL x 0.5, ring LL128 x 0.92, tree x 0.92 for an all-reduce, tree
/// LL x 0.92 / 3.8, tree LL128 x 0.92 x 120/128, CollNet direct on Hopper x 0.85, PAT x 0.75)
/// and on NVLink its H100 rate and Hopper's NVLS efficiency ([`NCCL_NVLINK`]); `getNetOverhead` on x86
/// Intel, 1 us (x 3 for Simple). Not modelled: NCCL's per-channel bandwidth caps (llMaxBws,
/// perChMax*Bws), its tree-pattern factor (x 0.85 where every NIC's traffic goes through one
/// GPU), CollNet direct's GPU-to-NIC ratio factor and 0.4 us per-GPU arity latency, and its
/// choice among protocols by size thresholds beyond the fastest time.
pub const NCCL: [Protocol; 3] = [
    Protocol {
        name: "LL",
        base_us: [6.6, 6.8, 0.0, 0.0, 0.0, 0.0, 8.0],
        nvlink_step_us: [0.6, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0],
        network_step_us: [2.7, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        multi_node_intra_floor_us: 1.0,
        bandwidth_factor: [0.5, 0.92 / 3.8, 0.0, 0.0, 0.0, 0.0, 0.0],
        nvlink_factor: NCCL_NVLINK,
    },
    Protocol {
        name: "LL128",
        base_us: [14.0, 14.0, 0.0, 0.0, 0.0, 0.0, 8.0],
        nvlink_step_us: [1.9, 1.25, 0.0, 0.0, 0.0, 0.0, 0.0],
        network_step_us: [4.0, 8.5, 0.0, 0.0, 0.0, 0.0, 0.0],
        multi_node_intra_floor_us: 1.0,
        bandwidth_factor: [0.92, 0.92 * 120.0 / 128.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        nvlink_factor: NCCL_NVLINK,
    },
    Protocol {
        name: "Simple",
        base_us: [8.4, 8.4, 0.0, 0.0, 0.0, 0.0, 8.0],
        nvlink_step_us: [3.4, 4.0, 25.0, 25.0, 3.7, 2.8, 4.0],
        network_step_us: [14.0, 14.0, 18.0, 20.9, 31.0, 30.0, 14.0],
        multi_node_intra_floor_us: 3.0,
        bandwidth_factor: [1.0, 0.92, 1.0, 1.0, 0.85, 1.0, 0.75],
        nvlink_factor: NCCL_NVLINK,
    },
];

/// NCCL's share of an H100's NVLink: 20.6 of each link's 25 GB/s (`SM90_NVLINK_BW` in
/// src/graph/topo.h; 18 links give the 370.8 GB/s that NCCL's maintainers call "an effective
/// NVLink bandwidth of 370GB/s" after protocol overhead, NVIDIA/nccl-tests issue 212), and for
/// NVLS and NVLS tree also Hopper's NVLS efficiency (`nvlsEfficiency`, 0.85).
const NVLINK_SHARE: f64 = 20.6 / 25.0;
const NCCL_NVLINK: [f64; FAMILIES] = [
    NVLINK_SHARE,
    NVLINK_SHARE,
    NVLINK_SHARE * 0.85,
    NVLINK_SHARE * 0.85,
    NVLINK_SHARE,
    NVLINK_SHARE,
    NVLINK_SHARE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_by_name_and_nccl_has_its_three_protocols() {
        assert_eq!("NCCL".parse::<StackProfile>(), Ok(StackProfile::Nccl));
        assert_eq!("lab".parse::<StackProfile>(), Ok(StackProfile::Lab));
        assert!("mpi"
            .parse::<StackProfile>()
            .unwrap_err()
            .contains("nccl, lab, none"));
        let names: Vec<&str> = StackProfile::Nccl
            .protocols()
            .iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["LL", "LL128", "Simple"]);
        assert!(StackProfile::Lab.protocols().is_empty());
    }

    #[test]
    fn a_step_costs_nvlink_inside_a_node_and_the_network_plus_its_latency_across() {
        let simple = &NCCL[2];
        assert_eq!(simple.step(Family::Ring, true, false, 0.5), 3.4);
        // Across nodes NCCL's ring pays at least its network overhead inside a node too.
        assert_eq!(simple.step(Family::Ring, true, true, 0.5), 3.4);
        assert_eq!(NCCL[0].step(Family::Ring, true, true, 0.5), 1.0);
        assert_eq!(simple.step(Family::Ring, false, true, 2.0), 16.0);
        assert_eq!(simple.step(Family::Tree, false, true, 2.0), 16.0);
        assert_eq!(Family::of(Algorithm::DbTree), Family::Tree);
        assert_eq!(Family::of(Algorithm::Rhd), Family::Ring);
        // NVLS pays its own NVLink step, without the ring's floor, and its efficiency on
        // NVLink only; it runs in Simple only.
        assert_eq!(simple.step(Family::Nvls, true, true, 0.5), 25.0);
        assert!((simple.bandwidth_factor(Family::Nvls, true) - 0.824 * 0.85).abs() < 1e-12);
        assert!((simple.bandwidth_factor(Family::Ring, true) - 0.824).abs() < 1e-12);
        assert_eq!(simple.bandwidth_factor(Family::Nvls, false), 1.0);
        assert!(simple.runs(Family::Pat) && !NCCL[0].runs(Family::Pat));
    }
}
