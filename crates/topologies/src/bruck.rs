//! Bruck's all-to-all for any p, in place, without a local permutation.
//!
//! Bruck's algorithm (Bruck et al., "Efficient algorithms for all-to-all communications in
//! multiport message-passing systems", IEEE TPDS 1997) moves a block bound d ranks away in
//! ceil(lg p) rounds: in round k every rank sends, to the rank 2^k ahead, every block whose
//! distance has bit k set. The textbook version rotates the buffer before the first round and
//! after the last, which a schedule of sends and receives cannot express. Here the receives do
//! that work instead.
//!
//! **Slots.** Slot i holds a block whose whole journey is i ranks (from its source s to s + i),
//! wherever on that journey it is. Every rank holds exactly one block of each
//! slot at any time, and at rank r slot i starts at block r + i (the data for rank r + i) and
//! must end at block r - i (the data from rank r - i). Every rank's slot i sits at the same
//! offset from the rank, so one table of offsets describes all ranks.
//!
//! **Routes.** Slot i travels in the rounds of the bits of a route `a` with a = i (mod p) and
//! a < 2^m; round k's hop is 2^k mod p. A round's sends read the buffer as the round began, so
//! the blocks that arrive may land in any of the places the round's sends emptied. Slots i and
//! p - i swap places in a round both travel in, which turns "starts at r + i" into "ends at
//! r - i" with no copy. So the routes of i and p - i must share a bit: for a power of two p the
//! plain binary routes do (i and p - i share their lowest set bit), and m = ceil(lg p) rounds
//! suffice; for other p the cheapest routes (fewest hops) with a shared bit are chosen among
//! i, i + p, i + 2p, ... below 2^m, with m = ceil(lg p) where such routes exist and
//! ceil(lg p) + 1 otherwise (always: [2^(m-1), 2^m) then holds a route of both with bit m - 1).
//! Some blocks therefore travel a hop or two more than i's binary digits.
//!
//! Each round sends its blocks to one peer as separate messages (a rank's blocks of one slot set
//! are not contiguous), so a round costs one latency and its blocks' bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::partition::block;
use crate::schedule::{RecvAction, Schedule};

/// Slot `i`'s route and the round it swaps places with slot p - i in (`None` for the slot that
/// is its own partner, p / 2 of an even p, and for slot 0, which stays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Route {
    rounds: u64,
    swap: Option<usize>,
}

/// Bruck's rounds for `p` ranks: each round's hop and each slot's route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BruckPlan {
    nranks: usize,
    hops: Vec<usize>,
    routes: Vec<Route>,
}

impl BruckPlan {
    /// The plan for `nranks` ranks (no rounds for fewer than two).
    pub fn new(nranks: usize) -> Self {
        let Some(rounds) = rounds_needed(nranks) else {
            return BruckPlan {
                nranks,
                hops: Vec::new(),
                routes: vec![stay(); nranks],
            };
        };
        let mut routes = vec![stay(); nranks];
        for (i, j, pair) in pairs(nranks, rounds) {
            routes[i] = pair.0;
            routes[j] = pair.1;
        }
        BruckPlan {
            nranks,
            hops: hops(nranks, rounds),
            routes,
        }
    }

    /// The hop of each round: round k sends to rank r + hops[k] (mod p).
    pub fn hops(&self) -> &[usize] {
        &self.hops
    }

    /// The slots that travel in round `k`, ascending.
    pub fn slots_in(&self, k: usize) -> Vec<usize> {
        (0..self.nranks)
            .filter(|&i| self.routes[i].rounds >> k & 1 == 1)
            .collect()
    }

    /// Each slot's offset from its rank after round `k`, given the offsets before it: a slot
    /// that swaps in round k takes its partner's place.
    pub fn offsets_after(&self, k: usize, before: &[usize]) -> Vec<usize> {
        let p = self.nranks;
        (0..p)
            .map(|i| match self.routes[i].swap {
                Some(round) if round == k => before[(p - i) % p],
                _ => before[i],
            })
            .collect()
    }
}

fn stay() -> Route {
    Route {
        rounds: 0,
        swap: None,
    }
}

/// Bruck's all-to-all of `count` elements (a multiple of `nranks`).
pub fn schedule(nranks: usize, count: usize) -> Schedule {
    let p = nranks.max(1);
    let m = count / p;
    let plan = BruckPlan::new(nranks);
    let mut offsets: Vec<usize> = (0..nranks).collect();
    let mut b = ScheduleBuilder::new(nranks, count);
    for (k, &hop) in plan.hops().iter().enumerate() {
        let slots = plan.slots_in(k);
        let after = plan.offsets_after(k, &offsets);
        for r in 0..nranks {
            let to = (r + hop) % p;
            for &i in &slots {
                b.send(r, to, block((r + offsets[i]) % p, m));
            }
            let from = (r + p - hop) % p;
            for &i in &slots {
                b.recv(r, from, block((r + after[i]) % p, m), RecvAction::Copy);
            }
        }
        offsets = after;
    }
    b.finish()
}

/// Bruck's cost with a buffer of `bytes` bytes per rank: one latency per round that moves
/// anything, and every block each rank sends over all rounds (the blocks of its routes, which
/// every rank sends alike).
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    let traffic = round_traffic(nranks);
    if traffic.is_empty() {
        return CostTerms::default();
    }
    CostTerms {
        latency_steps: traffic.iter().filter(|&&(_, n)| n > 0).count() as f64,
        bytes: traffic.iter().map(|&(_, n)| n).sum::<usize>() as f64 / nranks as f64 * bytes,
        reduced_bytes: 0.0,
    }
}

/// Each round's hop and the blocks every rank sends in it.
pub type RoundTraffic = Arc<[(usize, usize)]>;

/// Each round's hop and the blocks every rank sends in it, for `nranks` ranks: what the model's
/// tier traffic needs without building the schedule. A power of two has the closed form (lg p
/// rounds of p/2 blocks); other counts are worked out once per count and kept (the model asks
/// for the same count at every size).
pub fn round_traffic(nranks: usize) -> RoundTraffic {
    if nranks >= 2 && nranks.is_power_of_two() {
        let rounds = nranks.trailing_zeros();
        return hops(nranks, rounds)
            .into_iter()
            .map(|h| (h, nranks / 2))
            .collect();
    }
    static KEPT: OnceLock<Mutex<HashMap<usize, RoundTraffic>>> = OnceLock::new();
    let kept = KEPT.get_or_init(Default::default);
    if let Some(t) = kept.lock().ok().and_then(|k| k.get(&nranks).cloned()) {
        return t;
    }
    let traffic: RoundTraffic = match rounds_needed(nranks) {
        None => Arc::from(Vec::new()),
        Some(rounds) => hops(nranks, rounds)
            .into_iter()
            .zip(round_blocks(nranks, rounds))
            .collect(),
    };
    if let Ok(mut k) = kept.lock() {
        k.insert(nranks, traffic.clone());
    }
    traffic
}

/// Blocks per round over all slots' routes.
fn round_blocks(nranks: usize, rounds: u32) -> Vec<usize> {
    let mut n = vec![0usize; rounds as usize];
    for (i, j, (a, b)) in pairs(nranks, rounds) {
        let routes = if i == j { vec![a] } else { vec![a, b] };
        for route in routes {
            for (k, count) in n.iter_mut().enumerate() {
                *count += (route.rounds >> k & 1) as usize;
            }
        }
    }
    n
}

fn hops(nranks: usize, rounds: u32) -> Vec<usize> {
    (0..rounds)
        .map(|k| ((1u128 << k) % nranks as u128) as usize)
        .collect()
}

/// The fewest rounds in which every slot pair has routes with a shared round: ceil(lg p), else
/// one more (which always has them); `None` for fewer than two ranks.
fn rounds_needed(nranks: usize) -> Option<u32> {
    if nranks < 2 {
        return None;
    }
    let m = nranks.next_power_of_two().trailing_zeros();
    let feasible = |m: u32| (1..=nranks / 2).all(|i| pair_routes(nranks, m, i).is_some());
    Some(if feasible(m) { m } else { m + 1 })
}

/// Every slot pair (i, p - i) with i <= p - i, and their routes in `rounds` rounds.
fn pairs(nranks: usize, rounds: u32) -> impl Iterator<Item = (usize, usize, (Route, Route))> {
    (1..=nranks / 2)
        .filter_map(move |i| pair_routes(nranks, rounds, i).map(|pair| (i, nranks - i, pair)))
}

/// The cheapest routes for slots i and p - i in `rounds` rounds that share a round (fewest hops
/// in all; the first such pair in ascending order), with the lowest shared round as the swap;
/// for i = p - i, the cheapest route of i alone.
fn pair_routes(nranks: usize, rounds: u32, i: usize) -> Option<(Route, Route)> {
    let limit = 1u128 << rounds;
    let candidates = |x: usize| (x as u128..limit).step_by(nranks);
    let j = nranks - i;
    if i == j {
        let a = candidates(i).min_by_key(|a| a.count_ones())?;
        let route = Route {
            rounds: a as u64,
            swap: None,
        };
        return Some((route, route));
    }
    let mut best: Option<(u32, u128, u128)> = None;
    for a in candidates(i) {
        for b in candidates(j) {
            let hops = a.count_ones() + b.count_ones();
            if a & b != 0 && best.is_none_or(|(h, _, _)| hops < h) {
                best = Some((hops, a, b));
            }
        }
    }
    let (_, a, b) = best?;
    let swap = Some((a & b).trailing_zeros() as usize);
    Some((
        Route {
            rounds: a as u64,
            swap,
        },
        Route {
            rounds: b as u64,
            swap,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where slot i sits after every round, relative to its rank.
    fn final_offsets(p: usize) -> Vec<usize> {
        let plan = BruckPlan::new(p);
        let mut offsets: Vec<usize> = (0..p).collect();
        for k in 0..plan.hops().len() {
            offsets = plan.offsets_after(k, &offsets);
        }
        offsets
    }

    #[test]
    fn every_slot_ends_at_the_block_of_its_source() {
        for p in 1..=130 {
            let want: Vec<usize> = (0..p).map(|i| (p - i) % p).collect();
            assert_eq!(final_offsets(p), want, "p={p}");
        }
    }

    #[test]
    fn every_route_travels_its_slots_distance() {
        for p in 2..=130 {
            let plan = BruckPlan::new(p);
            for i in 0..p {
                let travelled: usize = (0..plan.hops().len())
                    .filter(|&k| plan.routes[i].rounds >> k & 1 == 1)
                    .map(|k| plan.hops()[k])
                    .sum();
                assert_eq!(travelled % p, i, "p={p} slot {i}");
            }
        }
    }

    #[test]
    fn a_power_of_two_takes_lg_p_rounds_of_half_the_blocks() {
        for m in 1..=12 {
            let p = 1usize << m;
            // The closed form is what the plan of routes gives.
            let planned: Vec<(usize, usize)> =
                hops(p, m).into_iter().zip(round_blocks(p, m)).collect();
            assert_eq!(&round_traffic(p)[..], &planned[..]);
            assert!(planned.iter().all(|&(_, n)| n == p / 2));
            let c = cost(p, 1024.0);
            assert_eq!(c.latency_steps, f64::from(m));
            assert_eq!(c.bytes, f64::from(m) / 2.0 * 1024.0);
        }
    }

    #[test]
    fn other_p_take_at_most_one_round_more() {
        for p in 2..=300usize {
            let lg = p.next_power_of_two().trailing_zeros();
            let rounds = rounds_needed(p).unwrap_or(0);
            assert!(rounds == lg || rounds == lg + 1, "p={p}: {rounds} rounds");
        }
        // Three ranks cannot swap 1 and 2 in two rounds (their routes share no bit).
        assert_eq!(rounds_needed(3), Some(3));
        assert_eq!(rounds_needed(5), Some(3));
    }

    #[test]
    fn the_cost_counts_the_blocks_the_schedule_sends() {
        for p in 1..=40 {
            let s = schedule(p, p * 3);
            let c = cost(p, (p * 3) as f64);
            for (r, &sent) in s.elements_sent().iter().enumerate() {
                assert!(
                    (sent as f64 - c.bytes).abs() < 1e-9,
                    "p={p} rank {r}: {sent} vs {}",
                    c.bytes
                );
            }
            assert_eq!(s.max_steps() as f64, c.latency_steps, "p={p}");
        }
    }
}
