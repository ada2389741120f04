//! Ring all-reduce: reduce-scatter then all-gather around the ring 0 -> 1 -> ... -> p-1 -> 0.
//!
//! The buffer is split into p nearly equal chunks. In reduce-scatter step s (0..p-1) rank r sends
//! chunk (r - s) mod p to its right neighbour and reduces chunk (r - s - 1) mod p arriving from
//! its left, so after p-1 steps rank r holds the full sum of chunk (r + 1) mod p. All-gather then
//! passes the finished chunks around the ring in p-1 more steps, copying instead of reducing.
//! Empty chunks (when count < p) are not sent.

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::partition::split;
use crate::scatter_gather::ScatterGather;
use crate::schedule::{RecvAction, Schedule};

pub fn schedule(nranks: usize, count: usize) -> Schedule {
    scatter_gather(nranks, count).all_reduce()
}

/// The two halves of the ring all-reduce; rank r's shard is chunk (r + 1) mod p.
pub fn scatter_gather(nranks: usize, count: usize) -> ScatterGather {
    let p = nranks.max(1);
    let chunks = split(count, p);
    let chunk = |i: usize| chunks[i % p].clone();
    let mut rs = ScheduleBuilder::new(nranks, count);
    let mut ag = ScheduleBuilder::new(nranks, count);
    for step in 0..nranks.saturating_sub(1) {
        for r in 0..nranks {
            let right = (r + 1) % p;
            let left = (r + p - 1) % p;
            // Offsets by multiples of p keep the indices non-negative.
            rs.send(r, right, chunk(r + p - step));
            rs.recv(r, left, chunk(r + 2 * p - step - 1), RecvAction::Reduce);
            ag.send(r, right, chunk(r + 1 + p - step));
            ag.recv(r, left, chunk(r + p - step), RecvAction::Copy);
        }
    }
    ScatterGather {
        reduce_scatter: rs.finish(),
        shards: (0..nranks).map(|r| chunk(r + 1)).collect(),
        all_gather: ag.finish(),
    }
}

/// 2(p-1) alpha + 2((p-1)/p) n beta + ((p-1)/p) n gamma, for n bytes per rank.
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    reduce_scatter_cost(nranks, bytes).plus(all_gather_cost(nranks, bytes))
}

/// (p-1) alpha + ((p-1)/p) n beta + ((p-1)/p) n gamma.
pub fn reduce_scatter_cost(nranks: usize, bytes: f64) -> CostTerms {
    let c = all_gather_cost(nranks, bytes);
    CostTerms {
        reduced_bytes: c.bytes,
        ..c
    }
}

/// (p-1) alpha + ((p-1)/p) n beta.
pub fn all_gather_cost(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let p = nranks as f64;
    CostTerms {
        latency_steps: p - 1.0,
        bytes: (p - 1.0) / p * bytes,
        reduced_bytes: 0.0,
    }
}
