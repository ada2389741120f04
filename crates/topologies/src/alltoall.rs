//! All-to-all over a buffer of p equal blocks: before, rank r's block j is its data for rank j;
//! after, block j holds what rank j had for rank r (nccl-tests' layout, in place or not).
//!
//! **Pairwise** ([`pairwise`]): the ranks meet in rounds of pairs, every pair exactly once (a
//! round-robin tournament: p - 1 rounds for even p, p for odd p, where one rank sits each round
//! out). A pair swaps the blocks each holds for the other, in one step: a step's sends read the
//! buffer as it began, so the swap is safe in place, and each block is written only by the round
//! that empties it. One message out and one in per rank and round: the link never carries two.
//!
//! **Linear** ([`linear`]): every rank posts all its p - 1 blocks at once and takes all p - 1
//! in, as NCCL's all-to-all does (grouped sends and receives); fewer steps, but p - 1 senders
//! share each rank's incoming link.
//!
//! **Bruck** ([`bruck`](crate::bruck)): about lg p rounds of about half the blocks each, for
//! small blocks at large p, where the p - 1 latencies of the others dominate.

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::partition::block;
use crate::schedule::{Rank, RecvAction, Schedule};

/// Rounds of the round-robin tournament among `nranks`.
pub fn rounds(nranks: usize) -> usize {
    match nranks {
        0 | 1 => 0,
        p if p % 2 == 0 => p - 1,
        p => p,
    }
}

/// Rank `r`'s partner in round `round` of the tournament, or `None` when it sits out. The
/// circle method: with n = p rounded up to even, rank n - 1 meets rank `round`, and every other
/// rank r meets (2 round - r) mod (n - 1); for odd p, meeting the missing rank p is sitting out.
pub fn partner(nranks: usize, round: usize, r: Rank) -> Option<Rank> {
    let n = nranks + nranks % 2;
    let fixed = n - 1;
    let other = if r == fixed {
        round
    } else if r == round {
        fixed
    } else {
        (2 * round + 2 * fixed - r) % fixed
    };
    (other < nranks && other != r).then_some(other)
}

/// Pairwise-exchange all-to-all of `count` elements (a multiple of `nranks`).
pub fn pairwise(nranks: usize, count: usize) -> Schedule {
    let m = count / nranks.max(1);
    let mut b = ScheduleBuilder::new(nranks, count);
    for round in 0..rounds(nranks) {
        for r in 0..nranks {
            if let Some(q) = partner(nranks, round, r) {
                b.send(r, q, block(q, m));
                b.recv(r, q, block(q, m), RecvAction::Copy);
            }
        }
    }
    b.finish()
}

/// All-at-once all-to-all of `count` elements (a multiple of `nranks`): rank r sends to and
/// receives from r + 1, r + 2, ... in that order, so no two ranks start on the same receiver.
pub fn linear(nranks: usize, count: usize) -> Schedule {
    let p = nranks.max(1);
    let m = count / p;
    let mut b = ScheduleBuilder::new(nranks, count);
    for r in 0..nranks {
        for k in 1..p {
            let to = (r + k) % p;
            b.send(r, to, block(to, m));
        }
        for k in 1..p {
            let from = (r + p - k) % p;
            b.recv(r, from, block(from, m), RecvAction::Copy);
        }
    }
    b.finish()
}

/// Pairwise: one block of n/p per round and rank: ((p-1)/p) n for even p; for odd p each
/// round waits for a pair the round before, so the critical path takes p blocks, n.
pub fn pairwise_cost(nranks: usize, bytes: f64) -> CostTerms {
    let rounds = rounds(nranks) as f64;
    CostTerms {
        latency_steps: rounds,
        bytes: rounds / nranks.max(1) as f64 * bytes,
        reduced_bytes: 0.0,
    }
}

/// Linear: the same bytes in one step. (Its p - 1 messages each pay their alpha, but alpha
/// overlaps with the links in the model, as a tree root's several sends do.)
pub fn linear_cost(nranks: usize, bytes: f64) -> CostTerms {
    CostTerms {
        latency_steps: f64::from(u8::from(nranks > 1)),
        ..exchange_bytes(nranks, bytes)
    }
}

fn exchange_bytes(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let p = nranks as f64;
    CostTerms {
        latency_steps: 0.0,
        bytes: (p - 1.0) / p * bytes,
        reduced_bytes: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_meets_exactly_once() {
        for p in 1..=40 {
            let mut met = vec![vec![0; p]; p];
            for round in 0..rounds(p) {
                for (r, row) in met.iter_mut().enumerate() {
                    if let Some(q) = partner(p, round, r) {
                        assert_eq!(partner(p, round, q), Some(r), "p={p} round={round}");
                        row[q] += 1;
                    }
                }
            }
            for (r, row) in met.iter().enumerate() {
                for (q, &n) in row.iter().enumerate() {
                    assert_eq!(n, usize::from(r != q), "p={p} {r}-{q}");
                }
            }
        }
    }
}
