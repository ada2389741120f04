//! Ring all-gather and reduce-scatter over a buffer of p equal blocks, rank r's block being
//! block r (nccl-tests' layout: in place, rank r's send buffer of an all-gather is block r of its
//! receive buffer, and a reduce-scatter leaves rank r's result there).
//!
//! All-gather: in step s (0..p-1) rank r sends block (r - s) mod p to its right neighbour and
//! copies block (r - s - 1) mod p arriving from its left. Reduce-scatter: rank r sends block
//! (r - s - 1) mod p and reduces block (r - s - 2) mod p, so block b starts at rank b + 1 and
//! reaches rank b, having passed every rank, after p - 1 steps. Costs: [`ring::all_gather_cost`]
//! and [`ring::reduce_scatter_cost`](crate::ring::reduce_scatter_cost) with n the whole buffer.
//!
//! [`ring::all_gather_cost`]: crate::ring::all_gather_cost

use crate::builder::ScheduleBuilder;
use crate::partition::block;
use crate::schedule::{RecvAction, Schedule};

/// Ring all-gather of `count` elements (a multiple of `nranks`).
pub fn all_gather(nranks: usize, count: usize) -> Schedule {
    ring(nranks, count, 0, RecvAction::Copy)
}

/// Ring reduce-scatter of `count` elements (a multiple of `nranks`).
pub fn reduce_scatter(nranks: usize, count: usize) -> Schedule {
    ring(nranks, count, 1, RecvAction::Reduce)
}

/// p - 1 steps in which rank r sends block (r - s - lag) and takes in the block before it.
fn ring(nranks: usize, count: usize, lag: usize, action: RecvAction) -> Schedule {
    let p = nranks.max(1);
    let m = count / p;
    let mut b = ScheduleBuilder::new(nranks, count);
    for s in 0..p - 1 {
        for r in 0..p {
            let (right, left) = ((r + 1) % p, (r + p - 1) % p);
            // Offsets by multiples of p keep the indices non-negative.
            b.send(r, right, block((r + 2 * p - s - lag) % p, m));
            b.recv(r, left, block((r + 2 * p - s - lag - 1) % p, m), action);
        }
    }
    b.finish()
}
