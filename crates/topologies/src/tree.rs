//! Binomial-tree all-reduce: a pipelined reduce to rank 0, then a pipelined broadcast from it.
//!
//! In the binomial tree rooted at 0 the parent of rank r is r with its lowest set bit cleared and
//! its children are r + 2^i for every 2^i below that bit (every 2^i < p for rank 0) that is a
//! rank; the child r + 2^i heads a subtree of at most 2^i ranks, and the tree is D = ceil(lg p)
//! deep. The buffer travels in segments of `segment` elements: a rank reduces segment j from each
//! child (smallest subtree first, the order they finish in) and then passes it to its parent
//! while the next segment comes up. Once rank 0 has the whole sum it sends every segment to its
//! children, largest subtree first, and each rank forwards what it receives.

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::partition::segments;
use crate::schedule::{Rank, RecvAction, Schedule};

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

/// The schedule, with segments of `segment` elements (at least one).
pub fn schedule(nranks: usize, count: usize, segment: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    let segs = segments(0..count, segment.max(1));
    for r in 0..nranks {
        let kids = children(r, nranks);
        for seg in &segs {
            for &c in &kids {
                b.recv(r, c, seg.clone(), RecvAction::Reduce);
            }
            if let Some(up) = parent(r) {
                b.send(r, up, seg.clone());
            }
        }
        for seg in &segs {
            if let Some(up) = parent(r) {
                b.recv(r, up, seg.clone(), RecvAction::Copy);
            }
            for &c in kids.iter().rev() {
                b.send(r, c, seg.clone());
            }
        }
    }
    b.finish()
}

/// The number of segments a buffer of `bytes` is cut into, at least one.
pub fn segment_count(bytes: f64, segment_bytes: usize) -> f64 {
    (bytes / segment_bytes.max(1) as f64).ceil().max(1.0)
}

/// With D = ceil(lg p), k segments of s = n/k bytes:
/// 2D alpha + ((D + k - 1) s + D n) beta + D n gamma.
///
/// For k = 1 this is Thakur et al.'s binomial reduce then broadcast, 2D alpha + 2D n beta +
/// D n gamma. Segmenting pipelines the reduction, whose bandwidth term drops from D n to
/// n + (D - 1) s (a pipeline D segments deep), but not the broadcast: the root sends every byte
/// to each of its D children over its one link, D n beta, however the buffer is cut. Likewise
/// the root reduces every byte from each of its D children, D n gamma. Messages on the critical
/// path stay 2D because a send never waits for the previous one.
pub fn cost(nranks: usize, bytes: f64, segment_bytes: usize) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let depth = f64::from(nranks.next_power_of_two().ilog2());
    let k = segment_count(bytes, segment_bytes);
    let s = bytes / k;
    CostTerms {
        latency_steps: 2.0 * depth,
        bytes: (depth + k - 1.0) * s + depth * bytes,
        reduced_bytes: depth * bytes,
    }
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
        }
    }
}
