//! Recursive halving-doubling all-reduce (Rabenseifner's algorithm).
//!
//! Reduce-scatter by recursive halving: the buffer is cut into p chunks; in each of lg p rounds
//! (partner distance p/2, p/4, ..., 1) a rank sends the half of its current window that its
//! partner keeps and reduces the half it keeps, so the window halves each round and rank q ends
//! with chunk q fully reduced. All-gather by recursive doubling retraces the rounds in reverse
//! (distance 1, 2, ..., p/2), swapping windows that double each round. Bandwidth as the ring's,
//! with 2 lg p instead of 2(p-1) messages. For p not a power of two the extra ranks fold into
//! partners first and get the result back at the end ([`Fold`]); they hold empty shards.

use std::ops::Range;

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::fold::Fold;
use crate::partition::split;
use crate::scatter_gather::ScatterGather;
use crate::schedule::{RecvAction, Schedule};

pub fn schedule(nranks: usize, count: usize) -> Schedule {
    scatter_gather(nranks, count).all_reduce()
}

/// The reduce-scatter (folding, then halving) and all-gather (doubling, then unfolding) halves.
pub fn scatter_gather(nranks: usize, count: usize) -> ScatterGather {
    let f = Fold::new(nranks);
    let chunks = split(count, f.pow2);
    // The elements of chunks lo..hi; windows are aligned blocks of chunks, never empty.
    let span = |lo: usize, hi: usize| chunks[lo].start..chunks[hi - 1].end;
    // The aligned block of `width` chunks that holds chunk q.
    let block = |q: usize, width: usize| {
        let lo = q & !(width - 1);
        span(lo, lo + width)
    };
    let mut rs = ScheduleBuilder::new(nranks, count);
    let mut ag = ScheduleBuilder::new(nranks, count);
    if nranks >= 2 {
        f.fold_in(&mut rs, 0..count);
        for round in (0..f.rounds()).rev() {
            let width = 1 << round;
            for q in 0..f.pow2 {
                let partner = q ^ width;
                let (me, peer) = (f.rank_of(q), f.rank_of(partner));
                rs.send(me, peer, block(partner, width));
                rs.recv(me, peer, block(q, width), RecvAction::Reduce);
            }
        }
        for round in 0..f.rounds() {
            let width = 1 << round;
            for q in 0..f.pow2 {
                let partner = q ^ width;
                let (me, peer) = (f.rank_of(q), f.rank_of(partner));
                ag.send(me, peer, block(q, width));
                ag.recv(me, peer, block(partner, width), RecvAction::Copy);
            }
        }
        f.unfold(&mut ag, 0..count);
    }
    let shards: Vec<Range<usize>> = (0..nranks)
        .map(|r| f.core_index(r).map_or(0..0, |q| chunks[q].clone()))
        .collect();
    ScatterGather {
        reduce_scatter: rs.finish(),
        shards,
        all_gather: ag.finish(),
    }
}

/// 2 lg p alpha + 2((p-1)/p) n beta + ((p-1)/p) n gamma for p a power of two (Thakur et al.
/// 2005). Otherwise the same in p' = 2^floor(lg p), plus the fold: one reduced message of n
/// bytes before and one copied after, (2 lg p' + 2) alpha in all.
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    reduce_scatter_cost(nranks, bytes).plus(all_gather_cost(nranks, bytes))
}

/// lg p' alpha + ((p'-1)/p') n (beta + gamma), plus alpha + n (beta + gamma) when p != p'.
pub fn reduce_scatter_cost(nranks: usize, bytes: f64) -> CostTerms {
    let c = core_cost(nranks, bytes, true);
    if nranks < 2 || Fold::new(nranks).rem == 0 {
        return c;
    }
    c.plus(CostTerms {
        latency_steps: 1.0,
        bytes,
        reduced_bytes: bytes,
    })
}

/// lg p' alpha + ((p'-1)/p') n beta, plus alpha + n beta when p != p'.
pub fn all_gather_cost(nranks: usize, bytes: f64) -> CostTerms {
    let c = core_cost(nranks, bytes, false);
    if nranks < 2 || Fold::new(nranks).rem == 0 {
        return c;
    }
    c.plus(CostTerms {
        latency_steps: 1.0,
        bytes,
        reduced_bytes: 0.0,
    })
}

/// The bytes of the largest shard: n / p'.
pub fn shard_bytes(nranks: usize, bytes: f64) -> f64 {
    bytes / Fold::new(nranks).pow2 as f64
}

fn core_cost(nranks: usize, bytes: f64, reduces: bool) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let f = Fold::new(nranks);
    let q = f.pow2 as f64;
    let moved = (q - 1.0) / q * bytes;
    CostTerms {
        latency_steps: f64::from(f.rounds()),
        bytes: moved,
        reduced_bytes: if reduces { moved } else { 0.0 },
    }
}
