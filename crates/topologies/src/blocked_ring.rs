//! Ring all-gather and reduce-scatter over a buffer of p equal blocks, rank r's block being
//! block r (nccl-tests' layout: in place, rank r's send buffer of an all-gather is block r of its
//! receive buffer, and a reduce-scatter leaves rank r's result there).
//!
//! They are the two halves of the ring all-reduce ([`ring::scatter_gather`]), whose rank i ends
//! its reduce-scatter with chunk i + 1: run with each sub-rank i as rank i + 1 (the same ring,
//! turned by one), rank r holds block r. In step s (0..p-1) of the all-gather rank r sends block
//! (r - s) mod p to its right neighbour and copies block (r - s - 1) mod p from its left; in the
//! reduce-scatter block b starts at rank b + 1 and reaches rank b, having passed every rank, after
//! p - 1 steps. Costs: [`ring::all_gather_cost`] and [`ring::reduce_scatter_cost`] with n the
//! whole buffer.

use crate::builder::ScheduleBuilder;
use crate::embed::embed;
use crate::ring;
use crate::scatter_gather::ScatterGather;
use crate::schedule::Schedule;

/// Ring all-gather of `count` elements (a multiple of `nranks`).
pub fn all_gather(nranks: usize, count: usize) -> Schedule {
    turned(nranks, count, |h| h.all_gather)
}

/// Ring reduce-scatter of `count` elements (a multiple of `nranks`).
pub fn reduce_scatter(nranks: usize, count: usize) -> Schedule {
    turned(nranks, count, |h| h.reduce_scatter)
}

/// One half of the ring all-reduce, sub-rank i run as rank i + 1.
fn turned(nranks: usize, count: usize, half: fn(ScatterGather) -> Schedule) -> Schedule {
    let p = nranks.max(1);
    let ranks: Vec<usize> = (0..nranks).map(|i| (i + 1) % p).collect();
    let mut b = ScheduleBuilder::new(nranks, count);
    embed(
        &mut b,
        &half(ring::scatter_gather(nranks, count)),
        &ranks,
        0..count,
    );
    b.finish()
}
