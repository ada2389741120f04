//! All-reduces in which switches reduce: NVLink SHARP (NVLS) inside a node, where the NVSwitch
//! reads every GPU's buffer, reduces and multicasts the result, and SHARP in the network
//! (NCCL's CollNet), where the fabric's switches reduce what the nodes send up an aggregation
//! tree and send the result back down. NCCL's four algorithms built on them
//! (src/graph/tuning.cc, `ncclTopoTuneModel`; n bytes per rank, g GPUs per node, N nodes):
//!
//! | strategy | inside a node | across nodes | latency |
//! |---|---|---|---|
//! | `nvls` | NVLS: n (1 + 1/g) each way per GPU | SHARP on the GPU's n/g: n/g each way per NIC | one NVLink step, one network step |
//! | `nvls-tree` | NVLS, as above | a double binary tree per rail on n/g: 2n/g per NIC (n/g at N = 2) | one NVLink step, 2 ceil(lg N) network steps |
//! | `collnet-direct` | reduce-scatter and all-gather between the GPUs: 2n (g-1)/g | SHARP, n/g per NIC | two NVLink steps, one network step |
//! | `collnet-chain` | a chain through the node's GPUs, reduce up and broadcast down: 2n (g-1)/g | SHARP, n/g per NIC | 2(g - 1) NVLink steps, one network step |
//!
//! Each is pipelined (NCCL's kernels overlap the parts), so the bandwidth term is the slower
//! part's. NVLS moves n (1 + 1/g) each way per GPU: the switch reads every GPU's whole buffer to
//! reduce it (n out of each GPU) and hands each GPU the reduced 1/g it asked for (n/g in), then
//! each GPU stores its reduced 1/g once (n/g out) and the switch multicasts it to every GPU (n
//! in). NCCL's model counts n (g - 1)/g; with NCCL's stack (its 370.8 GB/s of H100 NVLink and
//! its NVLS efficiency of 0.85) the count here gives 8 H100s 490 GB/s of busbw, where NCCL's
//! maintainers give ~480 for NVLS ("peak busBw of ~480GB/s (algbw ~275GB/s)", NVIDIA/nccl-tests
//! issue 212) and NCCL's count would give 630. The switches reduce, so only a part
//! that GPUs reduce (collnet's reduce-scatter and chain, nvls-tree's tree nodes) has a
//! reduction cost, and only where it is slower than the transfers it runs under. No
//! oversubscription: an aggregation tree sends one stream per switch up, and the trees leave a
//! group on a few edges. The latency counts follow NCCL's model; under the NCCL stack each step
//! is its NVLS, NVLS-tree or CollNet latency (25 us per NVLink step and 18 to 31 us per network
//! step for Simple, the only protocol these run), under none the levels' own.
//!
//! They need the scenario's switches to reduce (`[intra_node] in_switch_reduction` for NVLS,
//! `[network] in_switch_reduction` for SHARP) and are priced from the hardware alone: no lab can
//! run them, so no lab efficiency or per-message overhead is carried to them.

use super::levels::Level;
use super::strategy::{fused, Pricing, Skip};
use super::Strategy;
use crate::row::TermBreakdown;
use crate::stack::Family;

/// Which of the scenario's switches reduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    /// Inside a node (NVLink SHARP).
    pub node: bool,
    /// In the network (SHARP).
    pub network: bool,
}

/// The in-switch strategy's stack family.
pub fn family(strategy: Strategy) -> Option<Family> {
    match strategy {
        Strategy::Nvls => Some(Family::Nvls),
        Strategy::NvlsTree => Some(Family::NvlsTree),
        Strategy::CollNetDirect => Some(Family::CollNetDirect),
        Strategy::CollNetChain => Some(Family::CollNetChain),
        _ => None,
    }
}

/// Why `strategy` cannot run on switches like `switches` and levels like `levels`, where it
/// cannot; the reason does not depend on the rank count when the switches are the cause.
pub(crate) fn unsupported(
    strategy: Strategy,
    switches: Switches,
    levels: &[Level],
) -> Option<Skip> {
    let nodes_of_many = levels.first().is_some_and(|l| l.name == "node");
    let across = levels.iter().any(|l| l.name != "node");
    let no_nvls = || {
        Skip::Unsupported(format!(
            "{strategy}: the scenario's nodes do not reduce in their switch ([intra_node] \
             in_switch_reduction = true for NVLink SHARP)"
        ))
    };
    let no_sharp = || {
        Skip::Unsupported(format!(
            "{strategy}: the scenario's network does not reduce in its switches ([network] \
             in_switch_reduction = true for SHARP)"
        ))
    };
    match strategy {
        Strategy::Nvls | Strategy::NvlsTree if !switches.node => Some(no_nvls()),
        Strategy::Nvls if across && !switches.network => Some(no_sharp()),
        Strategy::Nvls | Strategy::NvlsTree if !nodes_of_many => Some(Skip::NotApplicable),
        Strategy::NvlsTree if !across => Some(Skip::NotApplicable),
        Strategy::CollNetDirect | Strategy::CollNetChain if !switches.network => Some(no_sharp()),
        Strategy::CollNetDirect | Strategy::CollNetChain if !across => Some(Skip::NotApplicable),
        _ => None,
    }
}

impl Pricing<'_> {
    /// An in-switch strategy over `ranks` ranks (see the module notes).
    pub(super) fn in_switch(
        &self,
        strategy: Strategy,
        ranks: usize,
        bytes: f64,
    ) -> Result<TermBreakdown, Skip> {
        if let Some(skip) = unsupported(strategy, self.switches, self.levels) {
            return Err(skip);
        }
        let (Some(family), Some(carried)) = (family(strategy), self.unmeasured_links) else {
            return Err(Skip::Unsupported(format!(
                "{strategy} is priced from a target's hardware (target mode) only"
            )));
        };
        let levels = self.levels;
        let link = |level: &Level| self.link_in(carried, family, level);
        let (g, node) = match levels.first() {
            Some(first) if first.name == "node" => (first.size as f64, Some(link(first))),
            _ => (1.0, None),
        };
        let network = &levels[usize::from(node.is_some())..];
        let top = network.last().map(link);
        let net_beta = network
            .iter()
            .map(|l| link(l).beta_us_per_byte)
            .fold(0.0, f64::max);
        let nodes = ranks.div_ceil(g as usize);
        let depth = f64::from(nodes.next_power_of_two().ilog2());
        let (alpha_node, beta_node, gamma) = node.map_or((0.0, 0.0, 0.0), |l| {
            (l.alpha_us, l.beta_us_per_byte, l.gamma_us_per_byte)
        });
        let alpha_top = top.map_or(0.0, |l| l.alpha_us);
        let gpus_share = (g - 1.0) / g * bytes;
        let shard = bytes / g;
        let nvls = bytes + shard;
        let (inside, across, latency_us, reduced) = match strategy {
            Strategy::Nvls => (
                nvls * beta_node,
                shard * net_beta,
                alpha_node + alpha_top,
                0.0,
            ),
            Strategy::NvlsTree => {
                let tree_bytes = if nodes <= 2 { shard } else { 2.0 * shard };
                (
                    nvls * beta_node,
                    tree_bytes * net_beta,
                    alpha_node + 2.0 * depth * alpha_top,
                    2.0 * shard,
                )
            }
            Strategy::CollNetDirect => (
                2.0 * gpus_share * beta_node,
                shard * net_beta,
                if g > 1.0 { 2.0 * alpha_node } else { 0.0 } + alpha_top,
                gpus_share,
            ),
            Strategy::CollNetChain => (
                2.0 * gpus_share * beta_node,
                shard * net_beta,
                2.0 * (g - 1.0) * alpha_node + alpha_top,
                gpus_share,
            ),
            _ => return Err(Skip::NotApplicable),
        };
        let bandwidth_us = inside.max(across);
        Ok(TermBreakdown {
            latency_us,
            bandwidth_us,
            reduction_us: fused(gamma * reduced, bandwidth_us),
            oversubscription_us: 0.0,
            straggler_us: 0.0,
        })
    }
}
