//! Double binary tree all-reduce (Sanders, Speck and Träff 2009), built the way NCCL builds it.
//!
//! One binary tree pipelines well, but its leaves (half the ranks) never send downwards, so the
//! interior ranks carry twice the average load. Two trees fix that: each carries half the
//! buffer, and the second is laid out so that a rank interior in one tree is a leaf in the other.
//! Both trees are the in-order binary tree over ranks that NCCL's `ncclGetBtree`
//! (src/graph/trees.cc) describes: rank r != 0 with lowest set bit b has children r - b/2 and the
//! first of r + b/2, r + b/4, ..., r + 1 that is a rank; rank 0 is the root with the single child
//! 2^floor(lg(p-1)). The interior ranks of this tree are the even ones. The second tree
//! (`ncclGetDtree`) is the first mirrored (rank r plays p-1-r) when p is even, which makes the
//! odd ranks interior, and shifted by one (rank r plays r-1) when p is odd; with odd p the
//! mirror would map even ranks onto even ranks, and the shift leaves only rank 0 interior in both.
//!
//! Each tree runs a pipelined reduce to its root and a pipelined broadcast from it, in segments
//! of `segment` elements; the root turns each segment around as soon as it is reduced, so the two
//! overlap, as in NCCL. The order of a rank's messages across the two trees and the two
//! directions comes from [`Rounds`]: segment j leaves a rank of height h on its way up in round
//! j + h, and a rank of depth d on its way down in round j + H + d (H the tree's height). A
//! message's round is always later than the rounds of the messages it carries data from, and a
//! rank sends its partial sum of a segment up (round j + h <= j + H - d) before the finished
//! segment comes down to overwrite it (round j + H + d - 1).
//!
//! Every rank sends 2n bytes in all (n/2 up each tree, n down the tree it is interior in), the
//! same as the ring, over 2D + k - 1 rounds for k segments per tree.

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::partition::segments;
use crate::rounds::Rounds;
use crate::schedule::{Rank, RecvAction, Schedule};

/// A tree over all ranks: its root, each rank's parent and children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryTree {
    pub root: Rank,
    pub parent: Vec<Option<Rank>>,
    pub children: Vec<Vec<Rank>>,
}

impl BinaryTree {
    /// Builds the tree from each rank's children; parents follow.
    fn from_children(root: Rank, children: Vec<Vec<Rank>>) -> Self {
        let mut parent = vec![None; children.len()];
        for (r, kids) in children.iter().enumerate() {
            for &c in kids {
                parent[c] = Some(r);
            }
        }
        BinaryTree {
            root,
            parent,
            children,
        }
    }

    /// The same shape with every rank renamed: rank `f(r)` takes the place rank r had.
    fn relabel(&self, f: impl Fn(Rank) -> Rank) -> Self {
        let mut children = vec![Vec::new(); self.children.len()];
        for (r, kids) in self.children.iter().enumerate() {
            children[f(r)] = kids.iter().map(|&c| f(c)).collect();
        }
        Self::from_children(f(self.root), children)
    }

    /// Ranks with at least one child.
    pub fn interior(&self) -> Vec<Rank> {
        (0..self.children.len())
            .filter(|&r| !self.children[r].is_empty())
            .collect()
    }

    /// Each rank's depth (edges from the root) and height (edges down to its deepest leaf).
    pub fn levels(&self) -> Levels {
        let n = self.children.len();
        let mut depth = vec![0; n];
        let mut order = vec![self.root];
        let mut i = 0;
        while let Some(&r) = order.get(i) {
            for &c in &self.children[r] {
                depth[c] = depth[r] + 1;
                order.push(c);
            }
            i += 1;
        }
        let mut height = vec![0; n];
        for &r in order.iter().rev() {
            height[r] = self.children[r]
                .iter()
                .map(|&c| height[c] + 1)
                .max()
                .unwrap_or(0);
        }
        Levels { depth, height }
    }
}

/// Per-rank distances in a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Levels {
    pub depth: Vec<usize>,
    pub height: Vec<usize>,
}

/// NCCL's in-order binary tree over `nranks` ranks (at least one), rooted at 0.
pub fn in_order_tree(nranks: usize) -> BinaryTree {
    let mut children = vec![Vec::new(); nranks];
    if nranks >= 2 {
        children[0].push(1 << (nranks - 1).ilog2());
    }
    for (r, kids) in children.iter_mut().enumerate().skip(1) {
        let low = r & r.wrapping_neg();
        if low < 2 {
            continue;
        }
        kids.push(r - low / 2);
        let right = std::iter::successors(Some(low / 2), |h| (*h > 1).then_some(h / 2))
            .map(|h| r + h)
            .find(|&c| c < nranks);
        kids.extend(right);
    }
    BinaryTree::from_children(0, children)
}

/// The two complementary trees: the in-order tree and its mirror (even p) or shift (odd p).
pub fn trees(nranks: usize) -> [BinaryTree; 2] {
    let first = in_order_tree(nranks);
    let p = nranks.max(1);
    let second = if p.is_multiple_of(2) {
        first.relabel(|r| p - 1 - r)
    } else {
        first.relabel(|r| (r + 1) % p)
    };
    [first, second]
}

/// The schedule: the first ceil(count/2) elements go through the first tree, the rest through
/// the second, each in segments of `segment` elements (at least one).
pub fn schedule(nranks: usize, count: usize, segment: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    if nranks < 2 {
        return b.finish();
    }
    let half = count.div_ceil(2);
    let segment = segment.max(1);
    let halves = [segments(0..half, segment), segments(half..count, segment)];
    let mut messages = Rounds::default();
    for (t, (tree, segs)) in trees(nranks).iter().zip(&halves).enumerate() {
        let levels = tree.levels();
        for (j, seg) in segs.iter().enumerate() {
            for r in 0..nranks {
                // Up in round j + height, down in round j + H + depth (see the module notes).
                if let Some(up) = tree.parent[r] {
                    let round = j + levels.height[r];
                    let key = (t, Phase::Reduce, r);
                    messages.push(round, key, r, up, seg.clone(), RecvAction::Reduce);
                }
                for &c in &tree.children[r] {
                    let round = j + levels.height[tree.root] + levels.depth[r];
                    let key = (t, Phase::Broadcast, c);
                    messages.push(round, key, r, c, seg.clone(), RecvAction::Copy);
                }
            }
        }
    }
    messages.append_to(&mut b);
    b.finish()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Reduce,
    Broadcast,
}

/// With D = ceil(lg p), each tree carrying n/2 bytes in k = ceil(n / (2 S)) segments of
/// s = n/(2k) bytes (S the segment size):
///
/// * alpha: 2D + k - 1. The reduce climbs D levels and the broadcast descends D, and the last
///   segment leaves the leaves k - 1 rounds after the first. Sanders et al.'s form,
///   2(D + k)(alpha + n beta / k) in REFERENCES, charges the k - 1 twice because it runs the
///   reduce's pipeline and the broadcast's one after the other; here a root turns each segment
///   around at once, as NCCL's does, so the two overlap.
/// * beta: L + n/4 + (4D - 7) s, where L is the busiest rank's load: 2n (n/2 up each tree, n
///   down the tree it is interior in), the same as the ring's and the bound Sanders et al.
///   reach. Each rank also takes 2n in, over its one incoming link, and the two links cannot both
///   stay busy: in a round a rank sends four segments and receives four, its sends wait for all
///   of the previous round's receives, and those come from ranks at other points of their own
///   rounds. In the replay the steady state alternates rounds of four and five segment-times,
///   one segment-time lost every other round, n/4 over the k rounds. (4D - 7) s is the
///   pipeline's fill and drain, about four segment-times per level. Part of the n/4 is the
///   model's (see [`timing_model`](crate::timing_model)): a rank takes its receives in program
///   order, not as they arrive. A time-ordered simulation whose incoming links take messages
///   as they arrive, run while deriving this form, lost nothing at p = 3 and 4 but the same
///   n/4 from p = 5 on.
///
///   For p a power of two that is the steady state, reached at k >= 2D - 1 (an odd k ends half
///   a period early, s/2 less); below it the pipeline's start-up ([`start_up`]) adds or saves
///   a few segment-times, and with it the form matches the replay exactly for every k, one
///   (unsegmented: (2D - 1) n, D levels at n each way but the root's single child) included.
///   For other p the trees' uneven last levels make the rounds less regular: unsegmented
///   within s of 4D - 3 segment-times, segmented within D s of the form for the k the tests
///   use (up to 16), but the steady state can be a few percent slower than 9n/4 (about 2.3n at
///   p = 100 with k = 512), so for such p the form is the power-of-two rate, not a bound.
/// * gamma: n + (2D - 3) s: an interior rank reduces n/2 from each of two children, plus the
///   fill.
///
/// Small p: with 2 ranks each is a root with one child, so n beta and n/2 gamma, and nothing
/// waits for an incoming link (one sender per rank); with 3, the busiest rank sends 3n/2 in
/// rounds of three segments, and loses the same n/4, with a fill of s (D = 2).
pub fn cost(nranks: usize, bytes: f64, segment_bytes: usize) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let depth = f64::from(nranks.next_power_of_two().ilog2());
    let half = bytes / 2.0;
    let k = (half / segment_bytes.max(1) as f64).ceil().max(1.0);
    let s = half / k;
    let latency_steps = 2.0 * depth + k - 1.0;
    let load = match nranks {
        2 => bytes,
        3 => 1.5 * bytes,
        _ => 2.0 * bytes,
    };
    let fill = if nranks == 2 {
        0.0
    } else {
        bytes / 4.0 + (4.0 * depth - 7.0) * s + start_up(nranks, k) * s
    };
    let reduced_bytes = if nranks == 2 {
        half
    } else {
        bytes + (2.0 * depth - 3.0) * s
    };
    CostTerms {
        latency_steps,
        bytes: load + fill,
        reduced_bytes,
    }
}

/// Segment-times by which a power-of-two tree's pipeline, before it reaches its steady state
/// (k < 2D - 1 segments per tree), differs from the steady-state form, and the half segment an
/// odd k saves after it (see [`cost`]); 0 for other p. For D >= 3:
///
/// | k | 1 | 2 | 3 ..= D-1 | D | D+1 | D+2 ..= 2D-2 | >= 2D-1 |
/// |---|---|---|---|---|---|---|---|
/// | difference | +1/2 | 0 | 3 - k/2 | 2 - D/2 | 1/2 - D/2 | k/2 - D - 1 | 0 (k even), -1/2 (k odd) |
///
/// and for D = 2: +1/2, -1, then as the last column. The pipeline fills down one tree while the
/// other drains, and the two trees' rounds collide at a rank in a pattern that repeats with the
/// tree's depth; the table is the replay's, read off for D = 2 to 10 and every k, and the tests
/// hold the form to the replay exactly for p up to 2^10 at every k up to 2D + 4 and beyond.
///
/// Other p, unsegmented (k = 1): -1/2, which makes 4D - 3 segment-times, the replay's commonest
/// value; the replay is within one segment-time of it (4D - 4 where the root's child has a
/// single child too, p = 2^(D-1) + 1; up to 4D - 2 where the trees' truncated right sides make
/// two ranks' receives collide). Segmented, other p keep the steady-state form.
fn start_up(nranks: usize, k: f64) -> f64 {
    if nranks < 3 {
        return 0.0;
    }
    if !nranks.is_power_of_two() {
        return if k == 1.0 { -0.5 } else { 0.0 };
    }
    let d = f64::from(nranks.ilog2());
    let odd = if k % 2.0 == 1.0 { -0.5 } else { 0.0 };
    if k >= 2.0 * d - 1.0 {
        return odd;
    }
    if d < 3.0 {
        // D = 2: k = 1 or 2.
        return if k == 1.0 { 0.5 } else { -1.0 };
    }
    match k {
        1.0 => 0.5,
        2.0 => 0.0,
        k if k <= d - 1.0 => 3.0 - k / 2.0,
        k if k == d => 2.0 - d / 2.0,
        k if k == d + 1.0 => 0.5 - d / 2.0,
        k => k / 2.0 - d - 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trees_of_eight_ranks() {
        let [a, b] = trees(8);
        assert_eq!((a.root, b.root), (0, 7));
        assert_eq!(a.children[0], vec![4]);
        assert_eq!(a.children[4], vec![2, 6]);
        assert_eq!(a.children[2], vec![1, 3]);
        assert_eq!(a.children[6], vec![5, 7]);
        assert_eq!(b.children[7], vec![3]);
        assert_eq!(b.children[3], vec![5, 1]);
        assert_eq!(a.interior(), vec![0, 2, 4, 6]);
        assert_eq!(b.interior(), vec![1, 3, 5, 7]);
    }

    #[test]
    fn a_rank_that_is_not_a_power_of_two_above_adopts_its_grandchild() {
        // p = 6: rank 4 would have children 2 and 6; 6 is missing, so 5 takes its place.
        let t = in_order_tree(6);
        assert_eq!(t.children[0], vec![4]);
        assert_eq!(t.children[4], vec![2, 5]);
        assert_eq!(t.children[2], vec![1, 3]);
    }

    #[test]
    fn both_trees_span_every_rank_and_are_d_deep() {
        for p in 1..=130 {
            for tree in trees(p) {
                let roots: Vec<Rank> = (0..p).filter(|&r| tree.parent[r].is_none()).collect();
                assert_eq!(roots, vec![tree.root], "p={p}");
                assert!(tree.children.iter().all(|c| c.len() <= 2));
                let edges: usize = tree.children.iter().map(Vec::len).sum();
                assert_eq!(edges, p - 1, "p={p}");
                let levels = tree.levels();
                // Every rank is reachable from the root (depth computed) and the tree is
                // ceil(lg p) deep.
                assert_eq!(
                    levels.height[tree.root],
                    p.next_power_of_two().ilog2() as usize,
                    "p={p}"
                );
                for r in 0..p {
                    if let Some(up) = tree.parent[r] {
                        assert_eq!(levels.depth[r], levels.depth[up] + 1);
                    }
                }
            }
        }
    }

    #[test]
    fn a_rank_is_interior_in_at_most_one_tree() {
        for p in 2..=130 {
            let [a, b] = trees(p);
            let both: Vec<Rank> = a
                .interior()
                .into_iter()
                .filter(|r| b.interior().contains(r))
                .collect();
            // Even p: none. Odd p: the shift leaves only the first tree's root, which has a
            // single child there, interior in both.
            let expected: Vec<Rank> = if p % 2 == 0 || p < 3 { vec![] } else { vec![0] };
            assert_eq!(both, expected, "p={p}");
        }
    }
}
