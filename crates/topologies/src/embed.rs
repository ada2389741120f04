//! Running a schedule built for k ranks on a subset of a larger communicator.
//!
//! Composite algorithms (hierarchical, 2D torus) are phases of smaller all-reduces,
//! reduce-scatters and all-gathers, each on a group of ranks and a part of the buffer. Rather
//! than restate each algorithm for those cases, a phase is built on its own, for ranks `0..k`
//! over `0..len` elements, and [`embed`] appends it to the larger schedule: sub-rank `i` becomes
//! `ranks[i]` and element `e` becomes `range.start + e`. Appending keeps the per-pair message
//! order, so phases that run one after another on the same ranks still pair up, and phases on
//! disjoint groups run side by side.

use std::ops::Range;

use crate::builder::ScheduleBuilder;
use crate::schedule::{Rank, Schedule};

/// Appends `sub` to `target`, mapping sub-rank `i` to `ranks[i]` and element `e` to
/// `range.start + e`.
///
/// # Panics
///
/// If `sub` was not built for `ranks.len()` ranks and `range.len()` elements, or `range` does
/// not lie in `target`'s buffer, or a rank in `ranks` is out of range: all are bugs in the
/// caller, which derives them from an already validated shape.
pub fn embed(target: &mut ScheduleBuilder, sub: &Schedule, ranks: &[Rank], range: Range<usize>) {
    assert_eq!(sub.nranks, ranks.len(), "one target rank per sub-rank");
    assert_eq!(sub.count, range.len(), "the sub-range holds the sub-buffer");
    assert!(range.end <= target.count(), "sub-range inside the buffer");
    assert!(
        ranks.iter().all(|&r| r < target.nranks()),
        "target ranks in range"
    );
    let shift = |r: &Range<usize>| range.start + r.start..range.start + r.end;
    for (sub_rank, program) in sub.programs.iter().enumerate() {
        let rank = ranks[sub_rank];
        for step in program {
            for s in &step.sends {
                target.send(rank, ranks[s.peer], shift(&s.range));
            }
            for r in &step.recvs {
                target.recv(rank, ranks[r.peer], shift(&r.range), r.action);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::count_wrong_on_pattern;
    use crate::ring;
    use crate::ReduceOp;

    #[test]
    fn phases_on_groups_and_sub_ranges_compose_into_an_all_reduce() {
        // Elements 0..9: all-reduce inside {0,1,2} and {3,4,5}, then across {0,3}, {1,4},
        // {2,5}. Elements 9..20: one ring over all six ranks in reverse order.
        let mut b = ScheduleBuilder::new(6, 20);
        embed(&mut b, &ring::schedule(3, 9, 0), &[0, 1, 2], 0..9);
        embed(&mut b, &ring::schedule(3, 9, 0), &[3, 4, 5], 0..9);
        let first_phase = b.clone().finish();
        for i in 0..3 {
            embed(&mut b, &ring::schedule(2, 9, 0), &[i, i + 3], 0..9);
        }
        embed(
            &mut b,
            &ring::schedule(6, 11, 0),
            &[5, 4, 3, 2, 1, 0],
            9..20,
        );
        assert_eq!(count_wrong_on_pattern(&b.finish(), ReduceOp::Sum), Ok(0));
        // The first phase stays inside its groups and its range, and alone is not enough.
        for r in 0..6 {
            assert!(first_phase.peers_of(r).iter().all(|q| q / 3 == r / 3));
            for st in &first_phase.programs[r] {
                assert!(st.sends.iter().all(|x| x.range.end <= 9));
            }
        }
        assert!(count_wrong_on_pattern(&first_phase, ReduceOp::Sum).unwrap() > 0);
    }

    #[test]
    fn embedding_the_identity_changes_nothing_that_matters() {
        let s = ring::schedule(5, 23, 0);
        let mut b = ScheduleBuilder::new(5, 23);
        embed(&mut b, &s, &[0, 1, 2, 3, 4], 0..23);
        assert_eq!(b.finish(), s);
    }
}
