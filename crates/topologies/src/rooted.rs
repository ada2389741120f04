//! Broadcast from a root and reduce to it, over the whole buffer, in segments that pipeline.
//!
//! Ranks are placed relative to the root: v = (r - root) mod p, so the root is v = 0.
//!
//! **Chain** (NCCL's ring broadcast and reduce are this chain, the ring cut open at the root):
//! a broadcast passes each segment from v to v + 1; a reduce passes it from v = p - 1 down to
//! the root, each rank adding its own. With k segments the last one arrives after p - 2 + k
//! segment-times.
//!
//! **Tree**: the binomial tree of [`tree`](crate::tree) rooted at v = 0: a broadcast sends each
//! segment to the children, largest subtree first; a reduce takes each segment from the
//! children, smallest subtree first, then passes it up. The root's D = ceil(lg p) children share
//! its link: D n bytes cross it.

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::partition::segments;
use crate::schedule::{RecvAction, Schedule};
use crate::tree::{children, parent};

/// Which way the data flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the root to every rank (copying).
    Broadcast,
    /// From every rank to the root (reducing).
    Reduce,
}

/// The pipelined chain over `count` elements in segments of `segment` elements.
pub fn chain(nranks: usize, count: usize, segment: usize, root: usize, dir: Direction) -> Schedule {
    let p = nranks.max(1);
    let real = |v: usize| (v + root) % p;
    let mut b = ScheduleBuilder::new(nranks, count);
    for seg in segments(0..count, segment.max(1)) {
        for v in 0..p {
            match dir {
                Direction::Broadcast => {
                    if v > 0 {
                        b.recv(real(v), real(v - 1), seg.clone(), RecvAction::Copy);
                    }
                    if v + 1 < p {
                        b.send(real(v), real(v + 1), seg.clone());
                    }
                }
                Direction::Reduce => {
                    if v + 1 < p {
                        b.recv(real(v), real(v + 1), seg.clone(), RecvAction::Reduce);
                    }
                    if v > 0 {
                        b.send(real(v), real(v - 1), seg.clone());
                    }
                }
            }
        }
    }
    b.finish()
}

/// The pipelined binomial tree over `count` elements in segments of `segment` elements.
pub fn tree(nranks: usize, count: usize, segment: usize, root: usize, dir: Direction) -> Schedule {
    let p = nranks.max(1);
    let real = |v: usize| (v + root) % p;
    let mut b = ScheduleBuilder::new(nranks, count);
    let segs = segments(0..count, segment.max(1));
    for v in 0..nranks {
        let kids = children(v, nranks);
        for seg in &segs {
            match dir {
                Direction::Broadcast => {
                    if let Some(up) = parent(v) {
                        b.recv(real(v), real(up), seg.clone(), RecvAction::Copy);
                    }
                    for &c in kids.iter().rev() {
                        b.send(real(v), real(c), seg.clone());
                    }
                }
                Direction::Reduce => {
                    for &c in &kids {
                        b.recv(real(v), real(c), seg.clone(), RecvAction::Reduce);
                    }
                    if let Some(up) = parent(v) {
                        b.send(real(v), real(up), seg.clone());
                    }
                }
            }
        }
    }
    b.finish()
}

/// Segments the buffer of `bytes` is cut into (at least one): the steps a call takes at each
/// rank that sends.
pub fn segment_count(bytes: f64, segment_bytes: usize) -> f64 {
    if segment_bytes == 0 || !bytes.is_finite() || bytes <= 0.0 {
        return 1.0;
    }
    (bytes / segment_bytes as f64).ceil().max(1.0)
}

/// Chain: (p - 2 + k)(alpha + (n/k) beta) with k segments; a reduce adds the same bytes'
/// gamma.
pub fn chain_cost(nranks: usize, bytes: f64, segment_bytes: usize, dir: Direction) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let k = segment_count(bytes, segment_bytes);
    let slots = nranks as f64 - 2.0 + k;
    let moved = slots * bytes / k;
    CostTerms {
        latency_steps: slots,
        bytes: moved,
        reduced_bytes: if dir == Direction::Reduce { moved } else { 0.0 },
    }
}

/// Chain, one call of a loop of back-to-back calls (what a timed loop measures): the next call's
/// first segments leave the root while this call's last ones still travel down the chain, so
/// the pipeline never drains and a call costs what its busiest link carries, n beta (a reduce
/// adds n gamma); the per-message latencies overlap the transfers (the timing model's replay
/// of the loop, and a lab's: 1 KiB to 2 MiB at 500 Mbit/s, p = 6 and 8, ran at the link rate).
pub fn chain_looped_cost(nranks: usize, bytes: f64, dir: Direction) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    CostTerms {
        latency_steps: 0.0,
        bytes,
        reduced_bytes: if dir == Direction::Reduce { bytes } else { 0.0 },
    }
}

/// Tree, one call of a loop of back-to-back calls: the root starts the next call as soon as it
/// has sent this one, so the depth's latencies overlap the transfers and a call costs what the
/// root's link carries, D n beta (a reduce adds the root's D n gamma).
pub fn tree_looped_cost(nranks: usize, bytes: f64, dir: Direction) -> CostTerms {
    CostTerms {
        latency_steps: 0.0,
        ..tree_cost(nranks, bytes, dir)
    }
}

/// Tree: floor(lg p) alpha + D n beta (D = ceil(lg p), the root's children); a reduce adds the
/// root's D n gamma. Half of [`tree::cost`](crate::tree::cost)'s all-reduce.
pub fn tree_cost(nranks: usize, bytes: f64, dir: Direction) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let d = f64::from(nranks.next_power_of_two().ilog2());
    CostTerms {
        latency_steps: f64::from(nranks.ilog2()),
        bytes: d * bytes,
        reduced_bytes: if dir == Direction::Reduce {
            d * bytes
        } else {
            0.0
        },
    }
}
