//! The extra step that lets power-of-two algorithms run on any number of ranks.
//!
//! With p = p' + rem, p' the largest power of two not above p, the first 2 rem ranks pair up:
//! each even rank among them sends its whole buffer to the odd rank above it, which reduces it
//! and stands in for both, then sits out while the p' remaining ranks run the power-of-two
//! algorithm. At the end each stand-in copies the result back to its partner. This is the scheme
//! of MPICH's recursive doubling and Rabenseifner all-reduce (Thakur, Rabenseifner and Gropp
//! 2005): one extra message of n bytes before and after.

use std::ops::Range;

use crate::builder::ScheduleBuilder;
use crate::schedule::{Rank, RecvAction};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    /// The power of two that runs the core algorithm.
    pub pow2: usize,
    /// How many ranks fold into a partner (p - pow2).
    pub rem: usize,
}

impl Fold {
    /// The fold for `nranks` ranks (at least one).
    pub fn new(nranks: usize) -> Self {
        let pow2 = if nranks == 0 { 1 } else { 1 << nranks.ilog2() };
        Fold {
            pow2,
            rem: nranks.saturating_sub(pow2),
        }
    }

    /// lg p', the number of rounds of the power-of-two core.
    pub fn rounds(&self) -> u32 {
        self.pow2.ilog2()
    }

    /// The rank's index `0..pow2` in the core, or `None` for a rank that folds into a partner.
    pub fn core_index(&self, rank: Rank) -> Option<usize> {
        if rank < 2 * self.rem {
            (rank % 2 == 1).then_some(rank / 2)
        } else {
            Some(rank - self.rem)
        }
    }

    /// The rank that plays core index `q`.
    pub fn rank_of(&self, q: usize) -> Rank {
        if q < self.rem {
            2 * q + 1
        } else {
            q + self.rem
        }
    }

    /// The folding ranks send `range` to their stand-ins, which reduce it.
    pub fn fold_in(&self, b: &mut ScheduleBuilder, range: Range<usize>) {
        for even in (0..self.rem).map(|i| 2 * i) {
            b.transfer(even, even + 1, range.clone(), RecvAction::Reduce);
        }
    }

    /// The stand-ins copy `range` back to the ranks that folded into them.
    pub fn unfold(&self, b: &mut ScheduleBuilder, range: Range<usize>) {
        for even in (0..self.rem).map(|i| 2 * i) {
            b.transfer(even + 1, even, range.clone(), RecvAction::Copy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_indices_are_a_bijection_onto_the_power_of_two() {
        for p in 1..=70 {
            let f = Fold::new(p);
            assert!(f.pow2 <= p && p < 2 * f.pow2);
            let core: Vec<usize> = (0..p).filter_map(|r| f.core_index(r)).collect();
            let mut sorted = core.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..f.pow2).collect::<Vec<_>>(), "p={p}");
            for r in 0..p {
                if let Some(q) = f.core_index(r) {
                    assert_eq!(f.rank_of(q), r);
                }
            }
        }
        assert_eq!(Fold::new(6), Fold { pow2: 4, rem: 2 });
    }
}
