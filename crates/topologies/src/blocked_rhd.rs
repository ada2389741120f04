//! Recursive halving (reduce-scatter) and recursive doubling (all-gather) over a buffer of p
//! equal blocks, rank r's block being block r (see [`blocked_ring`](crate::blocked_ring)).
//!
//! For p a power of two, in round i rank r swaps with r XOR 2^i: a reduce-scatter keeps (and
//! reduces) the half of its current span that holds its own block, widest exchange first; an
//! all-gather sends everything it has gathered, narrowest exchange first. Any other p is folded
//! ([`Fold`]): the lowest 2 rem ranks pair up, the even one of each pair hands its part to the
//! odd one before the power-of-two core runs (its whole buffer for a reduce-scatter, its block
//! for an all-gather) and gets its result back after (its block; everything but its block). A
//! core rank stands for its own block, or for both blocks of its pair, and the spans of
//! consecutive core ranks are consecutive, so every message is one contiguous range.

use std::ops::Range;

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::fold::Fold;
use crate::partition::block;
use crate::schedule::{RecvAction, Schedule};

/// The element span of core ranks `lo..hi` (their blocks, in order).
fn span(f: &Fold, m: usize, lo: usize, hi: usize) -> Range<usize> {
    let first_block = |q: usize| if q < f.rem { 2 * q } else { q + f.rem };
    first_block(lo) * m..(f.rank_of(hi - 1) + 1) * m
}

/// The span of the group of `width` core ranks that holds core rank `q`.
fn group(f: &Fold, m: usize, q: usize, width: usize) -> Range<usize> {
    let lo = q & !(width - 1);
    span(f, m, lo, lo + width)
}

/// Recursive-halving reduce-scatter of `count` elements (a multiple of `nranks`).
pub fn reduce_scatter(nranks: usize, count: usize) -> Schedule {
    let f = Fold::new(nranks);
    let m = count / nranks.max(1);
    let mut b = ScheduleBuilder::new(nranks, count);
    for even in (0..f.rem).map(|i| 2 * i) {
        b.transfer(even, even + 1, 0..count, RecvAction::Reduce);
    }
    for round in (0..f.rounds()).rev() {
        let width = 1 << round;
        for q in 0..f.pow2 {
            let partner = q ^ width;
            let (me, peer) = (f.rank_of(q), f.rank_of(partner));
            b.send(me, peer, group(&f, m, partner, width));
            b.recv(me, peer, group(&f, m, q, width), RecvAction::Reduce);
        }
    }
    for even in (0..f.rem).map(|i| 2 * i) {
        b.transfer(even + 1, even, block(even, m), RecvAction::Copy);
    }
    b.finish()
}

/// Recursive-doubling all-gather of `count` elements (a multiple of `nranks`).
pub fn all_gather(nranks: usize, count: usize) -> Schedule {
    let f = Fold::new(nranks);
    let m = count / nranks.max(1);
    let mut b = ScheduleBuilder::new(nranks, count);
    for even in (0..f.rem).map(|i| 2 * i) {
        b.transfer(even, even + 1, block(even, m), RecvAction::Copy);
    }
    for round in 0..f.rounds() {
        let width = 1 << round;
        for q in 0..f.pow2 {
            let partner = q ^ width;
            let (me, peer) = (f.rank_of(q), f.rank_of(partner));
            b.send(me, peer, group(&f, m, q, width));
            b.recv(me, peer, group(&f, m, partner, width), RecvAction::Copy);
        }
    }
    for even in (0..f.rem).map(|i| 2 * i) {
        b.transfer(even + 1, even, 0..even * m, RecvAction::Copy);
        b.transfer(even + 1, even, (even + 1) * m..count, RecvAction::Copy);
    }
    b.finish()
}

/// Bytes on the critical path of the core's rounds for a buffer of `bytes`: the widest group's
/// span in each round (a group of w core ranks holds w + min(w, rem) blocks).
fn core_bytes(f: &Fold, nranks: usize, bytes: f64) -> f64 {
    let m = bytes / nranks as f64;
    (0..f.rounds())
        .map(|i| {
            let w = 1usize << i;
            (w + w.min(f.rem)) as f64 * m
        })
        .sum()
}

/// lg p alpha + ((p-1)/p) n (beta + gamma) for p a power of two, n the whole buffer; otherwise
/// the fold's two steps more (n (beta + gamma) in, n/p beta out) and a core whose groups hold
/// the doubled blocks.
pub fn reduce_scatter_cost(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let f = Fold::new(nranks);
    let core = core_bytes(&f, nranks, bytes);
    let (steps, fold_bytes, fold_reduced) = if f.rem == 0 {
        (0.0, 0.0, 0.0)
    } else {
        (2.0, bytes + bytes / nranks as f64, bytes)
    };
    CostTerms {
        latency_steps: f64::from(f.rounds()) + steps,
        bytes: core + fold_bytes,
        reduced_bytes: core + fold_reduced,
    }
}

/// lg p alpha + ((p-1)/p) n beta for p a power of two; otherwise the fold's two steps more (n/p
/// in, (p-1)/p n out).
pub fn all_gather_cost(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let f = Fold::new(nranks);
    let core = core_bytes(&f, nranks, bytes);
    let (steps, fold_bytes) = if f.rem == 0 { (0.0, 0.0) } else { (2.0, bytes) };
    CostTerms {
        latency_steps: f64::from(f.rounds()) + steps,
        bytes: core + fold_bytes,
        reduced_bytes: 0.0,
    }
}
