//! Ping-pong between two ranks, as a schedule: not an all-reduce, but the measurement of one
//! link (OSU's `osu_latency`: one message there, the same message back).
//!
//! Rank [`PING`] sends its whole buffer to rank [`PONG`], which receives it and sends it straight
//! back; every other rank has an empty program. Written with the same [`Step`]s as the
//! all-reduce schedules, it runs on the same executors and, in bench-node, over the same
//! data-plane link, so a message costs what it costs inside an all-reduce. Rank [`PING`]'s step
//! lasts one round trip; the one-way time is half of it.

use crate::builder::ScheduleBuilder;
use crate::schedule::{Rank, RecvAction, Schedule};

/// The rank that sends first and times the round trip.
pub const PING: Rank = 0;
/// The rank that echoes.
pub const PONG: Rank = 1;

/// The ping-pong of `count` elements between [`PING`] and [`PONG`] among `nranks` ranks. With
/// fewer than two ranks there is no link and the schedule is empty.
pub fn schedule(nranks: usize, count: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    if nranks < 2 {
        return b.finish();
    }
    b.transfer(PING, PONG, 0..count, RecvAction::Copy);
    b.transfer(PONG, PING, 0..count, RecvAction::Copy);
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::execute;
    use crate::timing_model::{completion_time, LinkModel};
    use crate::{ReduceOp, Step};

    #[test]
    fn the_message_goes_there_and_back_and_the_others_idle() {
        for p in 2..=5 {
            let s = schedule(p, 3);
            assert_eq!(s.programs[PING].len(), 1, "send and receive in one step");
            assert_eq!(s.programs[PONG].len(), 2, "receive, then send what arrived");
            assert!(s.programs[2..].iter().all(Vec::is_empty));
            assert_eq!(s.peers_of(PING), vec![PONG]);
            let inputs: Vec<Vec<i64>> = (0..p as i64).map(|r| vec![r * 10; 3]).collect();
            let out = execute(&s, ReduceOp::Sum, inputs.clone()).unwrap();
            // The echo carries PING's data: PONG holds it, and PING gets its own back.
            assert_eq!(out[PONG], inputs[PING]);
            assert_eq!(out[PING], inputs[PING]);
            assert_eq!(out[2..], inputs[2..]);
        }
    }

    #[test]
    fn one_step_of_ping_is_a_round_trip_of_two_messages() {
        let model = LinkModel {
            alpha: 5e-6,
            beta: 1e-9,
            gamma: 1e-10,
        };
        let count = 1000;
        let t = completion_time(&schedule(3, count), 4, model).unwrap();
        let one_way = model.alpha + (count * 4) as f64 * model.beta;
        assert!((t - 2.0 * one_way).abs() < 1e-15, "{t} vs 2 x {one_way}");
    }

    #[test]
    fn fewer_than_two_ranks_have_nothing_to_send() {
        assert!(schedule(1, 8).programs[0].iter().all(Step::is_empty));
        assert!(schedule(0, 8).programs.is_empty());
    }
}
