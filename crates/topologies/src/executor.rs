//! The in-memory executor: runs a schedule on real data in the order a network would.
//!
//! [`replay`] is the one traversal both this executor and the [`timing_model`](crate::timing_model)
//! use. It posts a rank's sends when the rank enters a step (messages are buffered, so a send
//! never blocks, as in bench-node) and applies the step's receives in order as matching
//! messages arrive. Ranks advance independently; if no rank can move while some are unfinished,
//! the schedule deadlocks and the replay says which ranks are stuck. Messages left over at the
//! end, or whose length differs from the receive that takes them, are pairing errors.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;

use crate::layout::Layout;

use crate::reduce::{reduce_elements, Element};
use crate::schedule::{Rank, Recv, Schedule, ScheduleError, Send};
use crate::ReduceOp;

/// What a replay does at each event. `M` is what travels in a message.
pub trait Visitor {
    type Message;
    /// Rank `rank` enters step `step`.
    fn begin_step(&mut self, rank: Rank, step: usize);
    /// Rank `rank` posts `send` (at the start of its step).
    fn send(&mut self, rank: Rank, send: &Send) -> Self::Message;
    /// Rank `rank` applies `recv` with the message that matched it.
    fn recv(&mut self, rank: Rank, recv: &Recv, message: Self::Message);
    /// Rank `rank` has applied every receive of step `step`.
    fn end_step(&mut self, rank: Rank, step: usize);
}

struct InFlight<M> {
    len: usize,
    message: M,
}

/// Replays `schedule`, checking that every send pairs with a receive of the same length and that
/// the order is deadlock-free.
pub fn replay<V: Visitor>(schedule: &Schedule, visitor: &mut V) -> Result<(), ScheduleError> {
    schedule.validate()?;
    let p = schedule.nranks;
    let mut queues: HashMap<(Rank, Rank), VecDeque<InFlight<V::Message>>> = HashMap::new();
    let mut pc = vec![0usize; p];
    let mut posted = vec![false; p];
    let mut next_recv = vec![0usize; p];
    loop {
        let mut progress = false;
        for rank in 0..p {
            let program = &schedule.programs[rank];
            while pc[rank] < program.len() {
                let step = &program[pc[rank]];
                if !posted[rank] {
                    visitor.begin_step(rank, pc[rank]);
                    // Every send reads the buffer as it was at the start of the step.
                    let messages: Vec<_> = step
                        .sends
                        .iter()
                        .map(|s| (s, visitor.send(rank, s)))
                        .collect();
                    for (s, message) in messages {
                        queues
                            .entry((rank, s.peer))
                            .or_default()
                            .push_back(InFlight {
                                len: s.range.len(),
                                message,
                            });
                    }
                    posted[rank] = true;
                    progress = true;
                }
                while let Some(recv) = step.recvs.get(next_recv[rank]) {
                    let Some(arrived) = queues
                        .get_mut(&(recv.peer, rank))
                        .and_then(|q| q.pop_front())
                    else {
                        break;
                    };
                    if arrived.len != recv.range.len() {
                        return Err(ScheduleError::Unmatched {
                            from: recv.peer,
                            to: rank,
                            detail: format!(
                                "rank {rank} step {} expects {} elements, the message holds {}",
                                pc[rank],
                                recv.range.len(),
                                arrived.len
                            ),
                        });
                    }
                    visitor.recv(rank, recv, arrived.message);
                    next_recv[rank] += 1;
                    progress = true;
                }
                if next_recv[rank] < step.recvs.len() {
                    break;
                }
                visitor.end_step(rank, pc[rank]);
                pc[rank] += 1;
                posted[rank] = false;
                next_recv[rank] = 0;
                progress = true;
            }
        }
        let blocked: Vec<Rank> = (0..p)
            .filter(|&r| pc[r] < schedule.programs[r].len())
            .collect();
        if blocked.is_empty() {
            break;
        }
        if !progress {
            return Err(ScheduleError::Deadlock { blocked });
        }
    }
    if let Some(((from, to), q)) = queues.iter().find(|(_, q)| !q.is_empty()) {
        return Err(ScheduleError::Unmatched {
            from: *from,
            to: *to,
            detail: format!("{} message(s) sent but never received", q.len()),
        });
    }
    Ok(())
}

struct DataVisitor<T> {
    op: ReduceOp,
    buffers: Vec<Vec<T>>,
}

impl<T: Element> Visitor for DataVisitor<T> {
    type Message = Vec<T>;
    fn begin_step(&mut self, _: Rank, _: usize) {}
    fn send(&mut self, rank: Rank, send: &Send) -> Vec<T> {
        self.buffers[rank][send.range.clone()].to_vec()
    }
    fn recv(&mut self, rank: Rank, recv: &Recv, message: Vec<T>) {
        let dst = &mut self.buffers[rank][recv.range.clone()];
        match recv.action {
            crate::RecvAction::Reduce => reduce_elements(self.op, dst, &message),
            crate::RecvAction::Copy => dst.copy_from_slice(&message),
        }
    }
    fn end_step(&mut self, _: Rank, _: usize) {}
}

/// Runs `schedule` on `inputs` (one buffer per rank, each `schedule.count` long) and returns
/// every rank's buffer afterwards.
pub fn execute<T: Element>(
    schedule: &Schedule,
    op: ReduceOp,
    inputs: Vec<Vec<T>>,
) -> Result<Vec<Vec<T>>, ScheduleError> {
    assert_eq!(inputs.len(), schedule.nranks, "one input per rank");
    let mut visitor = DataVisitor {
        op,
        buffers: inputs,
    };
    replay(schedule, &mut visitor)?;
    Ok(visitor.buffers)
}

/// Runs `schedule` on the [`pattern`](crate::pattern) inputs and returns the number of wrong
/// elements over all ranks (0 when the schedule is a correct all-reduce).
pub fn count_wrong_on_pattern(schedule: &Schedule, op: ReduceOp) -> Result<u64, ScheduleError> {
    count_wrong_on_pattern_from(schedule, op, 0)
}

/// Like [`count_wrong_on_pattern`] for a schedule over the part of the buffer that starts at
/// element `first` (a [`channel`](crate::channels)'s part): its inputs and expected results are
/// the pattern's from there.
pub fn count_wrong_on_pattern_from(
    schedule: &Schedule,
    op: ReduceOp,
    first: usize,
) -> Result<u64, ScheduleError> {
    use crate::pattern::{expected_table, value, PERIOD};
    // int64's inputs. Avg combines as sum and is checked as its sum: its division comes after
    // the collective, outside the schedule.
    let dtype = crate::DataType::Int64;
    let inputs: Vec<Vec<i64>> = (0..schedule.nranks)
        .map(|r| {
            (first..first + schedule.count)
                .map(|i| value(dtype, op, r, i))
                .collect()
        })
        .collect();
    let outputs = execute(schedule, op, inputs)?;
    let table = expected_table(dtype, op, schedule.nranks);
    Ok(outputs
        .iter()
        .flat_map(|b| b.iter().enumerate())
        .filter(|(i, v)| **v != i64::from_exact(table[(first + i) % PERIOD]))
        .count() as u64)
}

/// Runs a channel's `schedule` of a collective on the [`pattern`](crate::pattern) inputs and
/// returns the number of wrong elements over all ranks: the channel's buffer holds the ranges
/// `runs` of the whole buffer one after another ([`Layout::channel_runs`]; one channel: the
/// whole buffer), and element g of rank r must hold what `layout.expect(r, g)` says.
///
/// [`Layout::channel_runs`]: crate::layout::Layout::channel_runs
pub fn count_wrong_on_layout(
    schedule: &Schedule,
    op: ReduceOp,
    layout: &Layout,
    runs: &[Range<usize>],
) -> Result<u64, ScheduleError> {
    use crate::pattern::{expected_table, value, Expect, PERIOD};
    let global: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
    assert_eq!(
        global.len(),
        schedule.count,
        "the runs make the channel's buffer"
    );
    // int64's inputs; avg is checked as its sum, as in `count_wrong_on_pattern_from`.
    let dtype = crate::DataType::Int64;
    let inputs: Vec<Vec<i64>> = (0..schedule.nranks)
        .map(|r| global.iter().map(|&g| value(dtype, op, r, g)).collect())
        .collect();
    let outputs = execute(schedule, op, inputs)?;
    let table = expected_table(dtype, op, schedule.nranks);
    let mut wrong = 0;
    for (rank, buf) in outputs.iter().enumerate() {
        for (&g, &v) in global.iter().zip(buf) {
            let want = match layout.expect(rank, g) {
                Expect::Reduced => i64::from_exact(table[g % PERIOD]),
                Expect::Input { rank, index } => value(dtype, op, rank, index),
                Expect::Unchecked => continue,
            };
            wrong += u64::from(v != want);
        }
    }
    Ok(wrong)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{RecvAction, Step};

    fn step(sends: Vec<Send>, recvs: Vec<Recv>) -> Step {
        Step { sends, recvs }
    }

    #[test]
    fn a_receive_without_a_send_is_a_deadlock_naming_the_rank() {
        let mut s = Schedule::empty(2, 4);
        s.programs[1].push(step(
            vec![],
            vec![Recv {
                peer: 0,
                range: 0..4,
                action: RecvAction::Copy,
            }],
        ));
        assert_eq!(
            replay_data(&s),
            Err(ScheduleError::Deadlock { blocked: vec![1] })
        );
    }

    #[test]
    fn a_send_without_a_receive_is_unmatched() {
        let mut s = Schedule::empty(2, 4);
        s.programs[0].push(step(
            vec![Send {
                peer: 1,
                range: 0..4,
            }],
            vec![],
        ));
        assert!(matches!(
            replay_data(&s),
            Err(ScheduleError::Unmatched { from: 0, to: 1, .. })
        ));
    }

    #[test]
    fn lengths_must_agree() {
        let mut s = Schedule::empty(2, 4);
        s.programs[0].push(step(
            vec![Send {
                peer: 1,
                range: 0..4,
            }],
            vec![],
        ));
        s.programs[1].push(step(
            vec![],
            vec![Recv {
                peer: 0,
                range: 0..2,
                action: RecvAction::Copy,
            }],
        ));
        assert!(matches!(
            replay_data(&s),
            Err(ScheduleError::Unmatched { .. })
        ));
    }

    #[test]
    fn a_wait_cycle_is_a_deadlock() {
        // Each rank first waits for the other, then sends: the network would hang.
        let mut s = Schedule::empty(2, 1);
        for (me, other) in [(0, 1), (1, 0)] {
            s.programs[me].push(step(
                vec![],
                vec![Recv {
                    peer: other,
                    range: 0..1,
                    action: RecvAction::Reduce,
                }],
            ));
            s.programs[me].push(step(
                vec![Send {
                    peer: other,
                    range: 0..1,
                }],
                vec![],
            ));
        }
        assert_eq!(
            replay_data(&s),
            Err(ScheduleError::Deadlock {
                blocked: vec![0, 1]
            })
        );
    }

    #[test]
    fn sends_read_the_buffer_as_the_step_began() {
        // Recursive-doubling shape: both ranks swap the same range in one step.
        let mut s = Schedule::empty(2, 1);
        for (me, other) in [(0, 1), (1, 0)] {
            s.programs[me].push(step(
                vec![Send {
                    peer: other,
                    range: 0..1,
                }],
                vec![Recv {
                    peer: other,
                    range: 0..1,
                    action: RecvAction::Reduce,
                }],
            ));
        }
        let out = execute(&s, ReduceOp::Sum, vec![vec![1i64], vec![10]]).unwrap();
        assert_eq!(out, vec![vec![11], vec![11]]);
    }

    fn replay_data(s: &Schedule) -> Result<(), ScheduleError> {
        execute(s, ReduceOp::Sum, vec![vec![0i64; s.count]; s.nranks]).map(|_| ())
    }
}
