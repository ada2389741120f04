//! Rail rings: the all-reduce collective libraries run on nodes of several GPUs, each with its
//! own NIC (NCCL's rings, one per channel, on a rail-optimised fabric).
//!
//! Ranks form groups of g consecutive ranks (the GPUs of a node, `group_size`). The buffer is
//! cut into g nearly equal parts and part k runs a [`ring`] of its own, over all p ranks, in an
//! order that visits each group's ranks together and leaves every group from its k-th rank:
//! group i is entered at its rank (k + 1) mod g and left from its rank k, which sends to group
//! i + 1's rank (k + 1) mod g. So of the g rings each rank's link out of its group carries one
//! ring's traffic (ring k's, leaving from rank k) and its link in carries one (ring k - 1's,
//! entering at rank k), and every other hop stays inside a group: over the node's NVLink on a
//! GPU node, over loopback on an emulated node (`--launcher netns --ranks-per-node g`). Per rank
//! 2(p - 1)/p x n/g bytes cross the network each way, against the ring's 2(p - 1)/p x n over one
//! NIC per node: g times the bandwidth a single ring gets from a node.
//!
//! The g rings run side by side in one schedule ([`ring::side_by_side`]): their parts are
//! disjoint, so no ring reads what another writes, and each rank takes every ring's sends and
//! receives of one position of the ring's stream before the next. With one group (p = g) every
//! hop stays inside it; with g = 1 it is the ring.
//!
//! Cost ([`cost`]): where the groups are nodes (`groups_are_nodes`), the links between them set
//! the time, so the bandwidth term counts the bytes that cross them, one ring's: 2(p - 1)/p x
//! n/g; hops inside a node are taken as free, which holds where they are much faster than the
//! network (NVLink against a NIC, or an emulated node's loopback against its shaped links).
//! Otherwise every hop is on the rank's one link, which carries all g rings' shares, 2(p - 1)/p
//! x n, as the ring's. The rings' messages go out side by side, so the latency term is one
//! ring's (on n/g, pipelined as [`ring::pipelined_cost`]); each rank reduces its part of every
//! ring, (p - 1)/p x n in all.

use std::ops::Range;

use crate::algorithm::{Algorithm, AlgorithmError, BuildOptions};
use crate::cost::CostTerms;
use crate::hier;
use crate::partition::{segment_elems, split};
use crate::ring;
use crate::schedule::{Rank, Schedule};

/// The ranks of ring `k` in ring order, for `nranks` ranks in groups of `group` consecutive
/// ranks: each group's ranks together, entered at its rank (k + 1) mod g and left from its
/// rank k mod g.
pub fn ring_order(nranks: usize, group: usize, k: usize) -> Vec<Rank> {
    let g = group.max(1);
    let groups = nranks / g;
    (0..groups)
        .flat_map(|i| (1..=g).map(move |j| i * g + (k + j) % g))
        .collect()
}

/// The group size for `nranks` ranks, checked (as `hier`'s: `group_size`, or the most nearly
/// square split).
pub fn group_size(nranks: usize, opts: &BuildOptions) -> Result<usize, AlgorithmError> {
    hier::group_size(nranks, opts).map_err(|e| match e {
        AlgorithmError::Shape { nranks, reason, .. } => AlgorithmError::Shape {
            algorithm: Algorithm::Rail,
            nranks,
            reason,
        },
        other => other,
    })
}

/// The rail rings over `count` elements, each ring forwarding pieces of at most about
/// `ring_segment_bytes` (0: whole chunks), as [`ring::schedule`] does.
pub fn schedule(
    nranks: usize,
    count: usize,
    elem_size: usize,
    opts: &BuildOptions,
) -> Result<Schedule, AlgorithmError> {
    let g = group_size(nranks, opts)?;
    let segment = match opts.ring_segment_bytes {
        0 => 0,
        b => segment_elems(b, elem_size),
    };
    let rings: Vec<(Vec<Rank>, Range<usize>)> = split(count, g)
        .into_iter()
        .enumerate()
        .map(|(k, part)| (ring_order(nranks, g, k), part))
        .collect();
    Ok(ring::side_by_side(nranks, count, &rings, segment))
}

/// The cost terms for `bytes` bytes per rank (see the module notes).
pub fn cost(nranks: usize, bytes: f64, opts: &BuildOptions) -> Result<CostTerms, AlgorithmError> {
    let g = group_size(nranks, opts)?;
    let one = ring::pipelined_cost(nranks, bytes / g as f64, opts.ring_segment_bytes);
    let on_links = match (opts.groups_are_nodes, nranks > g) {
        (true, true) => one.bytes,
        (true, false) => 0.0,
        // Every hop on the rank's one link: the g rings' shares one after another.
        (false, _) => one.bytes * g as f64,
    };
    Ok(CostTerms {
        latency_steps: one.latency_steps,
        bytes: on_links,
        reduced_bytes: one.reduced_bytes * g as f64,
    })
}
