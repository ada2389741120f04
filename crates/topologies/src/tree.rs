//! Binomial-tree all-reduce: a pipelined reduce to rank 0, then a pipelined broadcast from it.
//!
//! In the binomial tree rooted at 0 the parent of rank r is r with its lowest set bit cleared and
//! its children are r + 2^i for every 2^i below that bit (every 2^i < p for rank 0) that is a
//! rank; the child r + 2^i heads a subtree of at most 2^i ranks. Rank 0 has D = ceil(lg p)
//! children, and the tree is floor(lg p) deep (rank r is as deep as r has set bits): D for p a
//! power of two, D - 1 otherwise. The buffer travels in segments of `segment` elements: a rank
//! reduces segment j from each child (smallest subtree first, the order they finish in) and then
//! passes it to its parent while the next segment comes up. Once rank 0 has the whole sum it
//! sends every segment to its children, largest subtree first, and each rank forwards what it
//! receives.

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::embed::embed;
use crate::rooted::{self, Direction};
use crate::schedule::{Rank, Schedule};

/// The parent of `rank` in the binomial tree rooted at 0.
pub fn parent(rank: Rank) -> Option<Rank> {
    (rank > 0).then(|| rank & (rank - 1))
}

/// The children of `rank` among `nranks`, smallest subtree first.
pub fn children(rank: Rank, nranks: usize) -> Vec<Rank> {
    let limit = if rank == 0 {
        nranks
    } else {
        rank & rank.wrapping_neg()
    };
    (0..usize::BITS)
        .map(|i| 1usize << i)
        .take_while(|&bit| bit < limit)
        .map(|bit| rank + bit)
        .take_while(|&c| c < nranks)
        .collect()
}

/// The schedule, with segments of `segment` elements (at least one): the pipelined binomial
/// reduce to rank 0, then the pipelined binomial broadcast from it ([`rooted::tree`]).
pub fn schedule(nranks: usize, count: usize, segment: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    let ranks: Vec<Rank> = (0..nranks).collect();
    for dir in [Direction::Reduce, Direction::Broadcast] {
        let half = rooted::tree(nranks, count, segment, 0, dir);
        embed(&mut b, &half, &ranks, 0..count);
    }
    b.finish()
}

/// With D = ceil(lg p), the number of the root's children:
/// 2D alpha + 2D n beta + D n gamma, Thakur et al.'s binomial reduce then broadcast, however the
/// buffer is cut into segments.
///
/// The root's two links are the bottleneck, one in each half. During the reduce each of its D
/// children sends it the whole buffer: D n bytes into its one incoming link, and the broadcast
/// cannot start before the last of them is in. During the broadcast it sends the whole buffer to
/// each of its D children: D n bytes out of its one outgoing link. Segmenting overlaps the
/// levels of the tree but takes nothing off either link, and the pipeline hides everything else:
///
/// * Reduce. A rank's receives of segment j come smallest subtree first, so the child with i
///   children of its own is the (jm + i + 1)-th message into a rank with m children (i < m).
///   By induction over the levels that child has segment j reduced after i (j + 1) segment-times
///   and delivers it one later, never after its slot, so every rank's incoming link is busy from
///   the first segment-time on and the root has it all after D k segment-times: D n.
/// * Broadcast. The root sends segment j to its children largest first; the child with i
///   children receives its last segment i segment-times before the root's last send ends, and
///   passes it on to its i children in those i segment-times (and so on down), so nothing ends
///   after the root's own D n.
///
/// The replay gives exactly 2D n beta for every p, buffer and segment size. Without a limit on
/// incoming links it gave n + (D - 1) s for the reduce (segments of s bytes), as if every child
/// could deliver to the root at full rate at once; the emulated cluster, shaped in both
/// directions, measured 2D n beta (100 Mbit/s links, 80 ns/B: 158 ns per buffer byte at p = 2,
/// 310 at p = 3 and 4, 460-484 at p = 6 and 8, against 160, 320 and 480).
///
/// The root reduces every byte from each of its D children: D n gamma. Messages on the critical
/// path: twice the tree's depth, floor(lg p), since a send never waits for the previous one: 2D
/// for p a power of two, 2(D - 1) otherwise (the root's last child heads a subtree too small to
/// reach the full depth).
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    // The two halves, as the schedule runs them.
    rooted::tree_cost(nranks, bytes, Direction::Reduce).plus(rooted::tree_cost(
        nranks,
        bytes,
        Direction::Broadcast,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binomial_tree_of_eight() {
        assert_eq!(children(0, 8), vec![1, 2, 4]);
        assert_eq!(children(4, 8), vec![5, 6]);
        assert_eq!(children(6, 8), vec![7]);
        assert_eq!(children(7, 8), Vec::<Rank>::new());
        assert_eq!(children(4, 6), vec![5]);
        assert_eq!(parent(6), Some(4));
        assert_eq!(parent(0), None);
    }

    #[test]
    fn every_rank_is_the_child_of_its_parent() {
        for p in 1..=70 {
            for r in 1..p {
                let up = parent(r).unwrap();
                assert!(children(up, p).contains(&r), "p={p} r={r}");
            }
            let total: usize = (0..p).map(|r| children(r, p).len()).sum();
            assert_eq!(total, p - 1);
            let depth = |r: Rank| std::iter::successors(Some(r), |&x| parent(x)).count() - 1;
            let deepest = (0..p).map(depth).max().unwrap_or(0);
            assert_eq!(deepest, p.ilog2() as usize, "p={p}");
            assert_eq!(children(0, p).len(), p.next_power_of_two().ilog2() as usize);
        }
    }
}
