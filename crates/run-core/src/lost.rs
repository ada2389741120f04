//! A message sent and never received. Every schedule is free of deadlock (the topologies crate's
//! property tests check it), so when the ranks wait for each other and nothing moves, either a
//! rank stopped or a message was lost on its way. The heartbeats say where each rank is (barrier,
//! iteration, step) and whom it waits for; the schedule says at which step the awaited rank sends
//! what the waiting rank waits for. An awaited rank already past that step sent it: the link
//! between the two lost it.

use topologies::Schedule;

/// Where a rank is, as its heartbeat says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub epoch: u64,
    /// The iteration after barrier `epoch`, and the step in it; `None` at a barrier or between
    /// steps.
    pub step: Option<(u32, usize)>,
}

/// The step of `from`'s program that sends the message `to` receives from it first at step
/// `to_step` (messages between two ranks arrive in the order sent).
pub fn sending_step(s: &Schedule, to: usize, to_step: usize, from: usize) -> Option<usize> {
    let earlier = s
        .programs
        .get(to)?
        .get(..to_step)?
        .iter()
        .flat_map(|step| &step.recvs)
        .filter(|r| r.peer == from)
        .count();
    let mut sent = 0;
    for (t, step) in s.programs.get(from)?.iter().enumerate() {
        sent += step.sends.iter().filter(|x| x.peer == to).count();
        if sent > earlier {
            return Some(t);
        }
    }
    None
}

/// Whether `sender`, at `sender_at`, has sent what `waiter`, at `waiter_at`, waits for from it:
/// it is at a later barrier or iteration, or past the step that sends it. `schedule` is the one
/// run after `waiter_at`'s barrier.
pub fn already_sent(
    schedule: &Schedule,
    waiter: usize,
    waiter_at: At,
    sender: usize,
    sender_at: At,
) -> bool {
    let Some((iteration, step)) = waiter_at.step else {
        return false;
    };
    if sender_at.epoch != waiter_at.epoch {
        return sender_at.epoch > waiter_at.epoch;
    }
    match sender_at.step {
        Some((it, _)) if it != iteration => it > iteration,
        Some((_, at)) => sending_step(schedule, waiter, step, sender).is_some_and(|t| at > t),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use topologies::{Algorithm, BuildOptions};

    use super::*;

    fn ring(p: usize) -> Schedule {
        Algorithm::Ring
            .build(p, 64, 4, &BuildOptions::default())
            .expect("a ring builds")
    }

    #[test]
    fn in_a_ring_each_step_receives_what_the_previous_rank_sent_at_the_same_step() {
        let s = ring(4);
        for step in 0..s.programs[1].len() {
            assert_eq!(sending_step(&s, 1, step, 0), Some(step));
        }
        assert_eq!(
            sending_step(&s, 1, 0, 2),
            None,
            "rank 2 sends nothing to rank 1"
        );
    }

    #[test]
    fn a_sender_past_its_send_has_sent_and_one_before_it_has_not() {
        let s = ring(4);
        let waiter = At {
            epoch: 3,
            step: Some((1, 2)),
        };
        let at = |epoch, step| At { epoch, step };
        assert!(already_sent(&s, 1, waiter, 0, at(3, Some((1, 3)))));
        assert!(!already_sent(&s, 1, waiter, 0, at(3, Some((1, 2)))));
        assert!(already_sent(&s, 1, waiter, 0, at(3, Some((2, 0)))));
        assert!(!already_sent(&s, 1, waiter, 0, at(3, Some((0, 5)))));
        assert!(already_sent(&s, 1, waiter, 0, at(4, None)));
        assert!(!already_sent(&s, 1, waiter, 0, at(3, None)));
    }

    proptest! {
        /// Every receive has its send, and no rank has sent a message before the step at which
        /// the schedule sends it.
        #[test]
        fn every_receive_has_a_sending_step_that_sends_to_it(
            algo in 0usize..Algorithm::ALL_REDUCE.len(), p in 2usize..=16, count in 1usize..200,
        ) {
            let a = Algorithm::ALL_REDUCE[algo];
            let Ok(s) = a.build(p, count, 4, &BuildOptions::default()) else {
                return Ok(());
            };
            for to in 0..p {
                for (step, st) in s.programs[to].iter().enumerate() {
                    for r in &st.recvs {
                        let t = sending_step(&s, to, step, r.peer);
                        prop_assert!(t.is_some(), "{a} p={p}: rank {to} step {step} from {}", r.peer);
                        let t = t.unwrap_or(0);
                        prop_assert!(s.programs[r.peer][t].sends.iter().any(|x| x.peer == to));
                        let waiter = At { epoch: 1, step: Some((0, step)) };
                        let at_send = At { epoch: 1, step: Some((0, t)) };
                        prop_assert!(!already_sent(&s, to, waiter, r.peer, at_send));
                    }
                }
            }
        }
    }
}
