//! Two-level all-gather and reduce-scatter over a buffer of p equal blocks (rank r's block r),
//! in groups of g consecutive ranks ([`hier::group_size`](crate::hier::group_size): `--group-size`,
//! a topology file, or the default), ring at both levels.
//!
//! The g members of group j hold blocks j g .. (j + 1) g, one contiguous span. All-gather: each
//! group all-gathers its span inside, then the ranks of the same index in the G = p / g groups
//! all-gather the spans across groups. Reduce-scatter runs it backwards: across groups first
//! (rank (j, i) ends with span j summed over its peers of index i), then inside the group (member
//! i ends with block j g + i summed over the group). The inside level moves n/G per rank and the
//! across level (G-1)/G n: on a cluster, the whole buffer crosses the slow network once, and the
//! fast links inside a node carry only the group's share.

use crate::blocked_ring;
use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::embed::embed;
use crate::ring;
use crate::schedule::Schedule;

/// Two-level all-gather of `count` elements (a multiple of `nranks`) in groups of `g` (a
/// divisor of `nranks`).
pub fn all_gather(nranks: usize, count: usize, g: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    inside(&mut b, nranks, count, g, blocked_ring::all_gather);
    across(&mut b, nranks, count, g, blocked_ring::all_gather);
    b.finish()
}

/// Two-level reduce-scatter of `count` elements (a multiple of `nranks`) in groups of `g`.
pub fn reduce_scatter(nranks: usize, count: usize, g: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    across(&mut b, nranks, count, g, blocked_ring::reduce_scatter);
    inside(&mut b, nranks, count, g, blocked_ring::reduce_scatter);
    b.finish()
}

/// Each group runs `phase` on its own span, among its members.
fn inside(
    b: &mut ScheduleBuilder,
    nranks: usize,
    count: usize,
    g: usize,
    phase: fn(usize, usize) -> Schedule,
) {
    let span = count / nranks.max(1) * g;
    let sub = phase(g, span);
    for j in 0..nranks / g {
        let members: Vec<usize> = (j * g..(j + 1) * g).collect();
        embed(b, &sub, &members, j * span..(j + 1) * span);
    }
}

/// The ranks of each index in the groups run `phase` over the whole buffer, a group's span
/// being one block.
fn across(
    b: &mut ScheduleBuilder,
    nranks: usize,
    count: usize,
    g: usize,
    phase: fn(usize, usize) -> Schedule,
) {
    let groups = nranks / g;
    let sub = phase(groups, count);
    for i in 0..g {
        let peers: Vec<usize> = (0..groups).map(|j| j * g + i).collect();
        embed(b, &sub, &peers, 0..count);
    }
}

/// Inside: (g-1) alpha + ((g-1)/g)(n/G) beta; across: (G-1) alpha + ((G-1)/G) n beta (the
/// reduce-scatter adds each level's bytes' gamma). Where the groups are nodes
/// (`groups_are_nodes`), the inside phase's bytes cross no network link.
pub fn cost(
    nranks: usize,
    bytes: f64,
    g: usize,
    reduces: bool,
    groups_are_nodes: bool,
) -> CostTerms {
    let groups = nranks / g.max(1);
    let level = |ranks: usize, n: f64| {
        if reduces {
            ring::reduce_scatter_cost(ranks, n)
        } else {
            ring::all_gather_cost(ranks, n)
        }
    };
    let inside = level(g, bytes / groups.max(1) as f64);
    crate::hier::inside_groups(inside, groups_are_nodes).plus(level(groups, bytes))
}
