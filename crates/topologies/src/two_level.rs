//! Two-level all-reduce: reduce-scatter inside groups, all-reduce across them, all-gather inside.
//!
//! The p ranks form p/g groups of g consecutive ranks. Each group reduce-scatters the whole
//! buffer, leaving its i-th rank with shard i summed over the group. The i-th ranks of all groups
//! then all-reduce shard i among themselves (p/g ranks, n/g elements), so each holds shard i
//! summed over everybody, and each group all-gathers the shards. Every phase is an ordinary
//! schedule built for its own ranks and elements and placed with [`embed`]. This is how
//! hierarchical collectives use one NIC per GPU (each NIC carries n/g), and how a 2D torus
//! runs rows then columns.

use crate::algorithm::AlgorithmError;
use crate::builder::ScheduleBuilder;
use crate::embed::embed;
use crate::scatter_gather::ScatterGather;
use crate::schedule::{Rank, Schedule};

/// Composes `inner` (built for `group` ranks over the `count`-element buffer) with an all-reduce
/// across groups that `outer(ranks, elements)` builds for each shard.
///
/// # Panics
///
/// If `group` is zero or does not divide `nranks`, or `inner` was built for another shape: the
/// callers validate the shape first.
pub fn compose(
    nranks: usize,
    count: usize,
    group: usize,
    inner: &ScatterGather,
    mut outer: impl FnMut(usize, usize) -> Result<Schedule, AlgorithmError>,
) -> Result<Schedule, AlgorithmError> {
    assert!(
        group > 0 && nranks.is_multiple_of(group),
        "groups must tile the ranks"
    );
    let groups = nranks / group;
    let members = |g: usize| -> Vec<Rank> { (g * group..(g + 1) * group).collect() };
    let mut b = ScheduleBuilder::new(nranks, count);
    for g in 0..groups {
        embed(&mut b, &inner.reduce_scatter, &members(g), 0..count);
    }
    // Shards differ in length by at most a little; build the outer schedule once per length.
    let mut built: Vec<(usize, Schedule)> = Vec::new();
    for (i, shard) in inner.shards.iter().enumerate() {
        let len = shard.len();
        let at = match built.iter().position(|(l, _)| *l == len) {
            Some(at) => at,
            None => {
                built.push((len, outer(groups, len)?));
                built.len() - 1
            }
        };
        let peers: Vec<Rank> = (0..groups).map(|g| g * group + i).collect();
        embed(&mut b, &built[at].1, &peers, shard.clone());
    }
    for g in 0..groups {
        embed(&mut b, &inner.all_gather, &members(g), 0..count);
    }
    Ok(b.finish())
}
