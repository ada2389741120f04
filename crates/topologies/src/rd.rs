//! Recursive doubling all-reduce.
//!
//! In round i (i = 0..lg p) rank q exchanges its whole buffer with rank q XOR 2^i and both
//! reduce what they receive, so after lg p rounds every rank holds the sum of all. It takes the
//! fewest rounds of any algorithm but sends the whole buffer in each, so it suits small messages.
//! For p not a power of two the extra ranks fold into partners first and get the result back at
//! the end ([`Fold`]).

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::fold::Fold;
use crate::schedule::{RecvAction, Schedule};

pub fn schedule(nranks: usize, count: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    if nranks < 2 {
        return b.finish();
    }
    let f = Fold::new(nranks);
    f.fold_in(&mut b, 0..count);
    for round in 0..f.rounds() {
        for q in 0..f.pow2 {
            let (me, partner) = (f.rank_of(q), f.rank_of(q ^ (1 << round)));
            // Both directions in one step: the send reads the buffer before the receive lands.
            b.send(me, partner, 0..count);
            b.recv(me, partner, 0..count, RecvAction::Reduce);
        }
    }
    f.unfold(&mut b, 0..count);
    b.finish()
}

/// lg p (alpha + n beta + n gamma) for p a power of two (Thakur et al. 2005). Otherwise, with
/// p' = 2^floor(lg p), the fold adds a reduced message before and a copied one after:
/// (lg p' + 2) alpha + (lg p' + 2) n beta + (lg p' + 1) n gamma.
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let f = Fold::new(nranks);
    let rounds = f64::from(f.rounds());
    let round = CostTerms {
        latency_steps: rounds,
        bytes: rounds * bytes,
        reduced_bytes: rounds * bytes,
    };
    if f.rem == 0 {
        return round;
    }
    round.plus(CostTerms {
        latency_steps: 2.0,
        bytes: 2.0 * bytes,
        reduced_bytes: bytes,
    })
}
