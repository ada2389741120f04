//! The all-reduces collective libraries run on nodes of several GPUs with one NIC each: the
//! node's g GPUs drive g channels in parallel, each on 1/g of the buffer and each leaving the node
//! through its own NIC (its rail), so each GPU's NIC carries one channel's share and its NVLink
//! the others'. Two forms, both NCCL's (src/graph/tuning.cc, `ncclTopoTuneModel`: bus bandwidth
//! nChannels x bwInter across nodes):
//!
//! - **Rail rings** (NCCL's ring): every channel a ring through all p GPUs. Per rank 2(p-1)/p x
//!   n bytes leave, (g-1)/g over NVLink and 1/g over the NIC; the slower sets the bandwidth term.
//!   A chunk travels p - 1 hops in each of the two phases (NCCL: 2(nNodes - 1) network steps and
//!   the rest at the NVLink latency); the hops that leave a node are priced at the network level
//!   they cross, the ring ordered so that it leaves each group of a level once. Oversubscription
//!   does not apply: a ring crosses a tier on as many edges as the tier has groups.
//!
//! Both are pipelined (NCCL's kernels reduce one chunk while the next moves), so a reduction
//! costs time only where it is slower than the transfers it runs under.
//! - **Rail trees** (NCCL's tree): every channel a chain through the node's GPUs over NVLink whose
//!   head joins a double binary tree over the nodes, pipelined so that the chains and the tree
//!   run at once, with enough chunks in flight that the per-chunk latency overlaps (NCCL's model
//!   charges its latency once per call, not per chunk). Each node sends and receives 2n across
//!   the network (n up and n down, over its two trees), 2n/g per NIC; each GPU 2n (g-1)/g over
//!   NVLink; the slower sets the bandwidth term (NCCL: time = latency + 2n / (nChannels x
//!   bwInter), its tree's bus bandwidth halved). Latency: 2((g - 1) NVLink steps + D network
//!   steps), D = ceil(lg nodes) (NCCL: 2((ppn - 1) intraLat + log2(nNodes) interLat)).
//!   Reductions: each GPU adds 2n (n in the chain, n at a tree node). Oversubscription does not
//!   apply: the trees' subtrees are runs of consecutive nodes, so a tier's group is left on a
//!   few tree edges, each carrying a quarter of a NIC's stream. The pipeline's fill and
//!   drain are not priced (NCCL's model leaves them out too), so below a few chunks per rank
//!   the form is optimistic.

use topologies::{Algorithm, CostTerms};

use super::levels::Level;
use super::strategy::{fused, Pricing, Skip};
use crate::row::TermBreakdown;

/// Hops of a ring over `ranks` ranks, ordered level by level, that a chunk crosses in one phase
/// (p - 1 of the ring's p edges), by the highest level each crosses: `hops[i]` for `levels[i]`.
/// The edge the chunk does not cross is one of the top level's.
pub fn ring_hops_per_level(ranks: usize, levels: &[Level]) -> Vec<usize> {
    // Edges that leave a group of level i: one per group, where there are two or more.
    let leaving = |i: usize| {
        let groups = ranks.div_ceil(levels[i].span.max(1));
        if groups >= 2 {
            groups
        } else {
            0
        }
    };
    let mut hops = Vec::with_capacity(levels.len());
    for i in 0..levels.len() {
        let entering_this = if i == 0 { ranks } else { leaving(i - 1) };
        let beyond = if i + 1 < levels.len() { leaving(i) } else { 0 };
        hops.push(entering_this.saturating_sub(beyond));
    }
    if let Some(top) = hops.iter_mut().rev().find(|h| **h > 0) {
        *top -= 1;
    }
    hops
}

impl Pricing<'_> {
    /// Rail rings over `ranks` ranks (see the module notes); needs nodes of several GPUs and
    /// more than one node.
    pub(super) fn rail_rings(&self, ranks: usize, bytes: f64) -> Result<TermBreakdown, Skip> {
        let levels = self.levels;
        if levels.len() < 2 || levels[0].name != "node" {
            return Err(Skip::NotApplicable);
        }
        let rails = levels[0].size as f64;
        let carried = self.carried(Algorithm::Ring, bytes)?;
        let links: Vec<_> = levels.iter().map(|l| self.link(carried, l)).collect();
        let hops = ring_hops_per_level(ranks, levels);
        let latency_us: f64 = 2.0
            * hops
                .iter()
                .zip(&links)
                .map(|(&h, l)| h as f64 * l.alpha_us)
                .sum::<f64>();
        let network_beta = self.slowest_beta(carried, &levels[1..]);
        let per_rank = 2.0 * (ranks as f64 - 1.0) / ranks as f64 * bytes;
        let nvlink = (rails - 1.0) / rails * links[0].beta_us_per_byte;
        let nic = network_beta / rails;
        let ring: CostTerms = self.cost(Algorithm::Ring, ranks, bytes)?;
        let bandwidth_us = per_rank * nvlink.max(nic);
        Ok(TermBreakdown {
            latency_us,
            bandwidth_us,
            reduction_us: fused(
                links[0].gamma_us_per_byte * ring.reduced_bytes,
                bandwidth_us,
            ),
            oversubscription_us: 0.0,
            straggler_us: 0.0,
        })
    }

    /// Rail trees over `ranks` ranks (see the module notes); the same conditions as rail rings.
    pub(super) fn rail_trees(&self, ranks: usize, bytes: f64) -> Result<TermBreakdown, Skip> {
        let levels = self.levels;
        if levels.len() < 2 || levels[0].name != "node" {
            return Err(Skip::NotApplicable);
        }
        let rails = levels[0].size as f64;
        let nodes = ranks.div_ceil(levels[0].size);
        let carried = self.carried(Algorithm::DbTree, bytes)?;
        let node = self.link(carried, &levels[0]);
        let top = levels.last().unwrap_or(&levels[0]);
        let top_link = self.link(carried, top);
        let network_beta = self.slowest_beta(carried, &levels[1..]);
        let depth = f64::from(nodes.next_power_of_two().ilog2());
        let across = 2.0 * bytes / rails * network_beta;
        let inside = 2.0 * bytes * (rails - 1.0) / rails * node.beta_us_per_byte;
        Ok(TermBreakdown {
            latency_us: 2.0 * ((rails - 1.0) * node.alpha_us + depth * top_link.alpha_us),
            bandwidth_us: across.max(inside),
            reduction_us: fused(node.gamma_us_per_byte * 2.0 * bytes, across.max(inside)),
            oversubscription_us: 0.0,
            straggler_us: 0.0,
        })
    }
}
