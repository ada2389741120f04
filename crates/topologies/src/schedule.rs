//! The schedule data model shared by every algorithm and both executors.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A rank's index in the run, `0..nranks`.
pub type Rank = usize;

/// What a receive does with the elements that arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecvAction {
    /// Combine the incoming elements into the buffer with the reduction operator.
    Reduce,
    /// Overwrite the buffer's elements with the incoming ones.
    Copy,
}

/// Send `range` (element indices) of this rank's buffer to `peer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub peer: Rank,
    pub range: Range<usize>,
}

/// Receive `range` (element indices) from `peer` and apply `action` to this rank's buffer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recv {
    pub peer: Rank,
    pub range: Range<usize>,
    pub action: RecvAction,
}

/// One step of one rank.
///
/// Semantics, the same in every executor: every send of a step reads the buffer as it was when
/// the step began (so a step may send and receive the same range, as recursive doubling does);
/// receives are applied in the order listed; the step ends when all its receives have been
/// applied. Sends never block a step: messages between a pair of ranks are delivered in the order
/// they were sent, and the k-th send from `a` to `b` is matched with the k-th receive at `b` from
/// `a`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub sends: Vec<Send>,
    pub recvs: Vec<Recv>,
}

impl Step {
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.recvs.is_empty()
    }
}

/// The whole all-reduce: a program of steps for every rank over a buffer of `count` elements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub nranks: usize,
    pub count: usize,
    /// `programs[r]` is rank r's list of steps.
    pub programs: Vec<Vec<Step>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("rank {rank} step {step}: peer {peer} is outside 0..{nranks}")]
    PeerOutOfRange {
        rank: Rank,
        step: usize,
        peer: Rank,
        nranks: usize,
    },
    #[error("rank {rank} step {step}: a transfer to or from itself")]
    SelfTransfer { rank: Rank, step: usize },
    #[error(
        "rank {rank} step {step}: range {start}..{end} is outside the buffer of {count} elements"
    )]
    RangeOutOfBounds {
        rank: Rank,
        step: usize,
        start: usize,
        end: usize,
        count: usize,
    },
    #[error("{nprograms} programs for {nranks} ranks")]
    ProgramCount { nprograms: usize, nranks: usize },
    #[error("messages from rank {from} to rank {to} do not pair up: {detail}")]
    Unmatched {
        from: Rank,
        to: Rank,
        detail: String,
    },
    #[error("deadlock: ranks {blocked:?} wait for messages that are never sent")]
    Deadlock { blocked: Vec<Rank> },
}

impl Schedule {
    /// `times` runs of this schedule back to back, as a timed loop runs it: every rank's
    /// program repeated.
    pub fn back_to_back(&self, times: usize) -> Schedule {
        Schedule {
            nranks: self.nranks,
            count: self.count,
            programs: self
                .programs
                .iter()
                .map(|p| p.iter().cycle().take(p.len() * times).cloned().collect())
                .collect(),
        }
    }

    /// An empty schedule (nothing moves): the all-reduce of a single rank.
    pub fn empty(nranks: usize, count: usize) -> Self {
        Schedule {
            nranks,
            count,
            programs: vec![Vec::new(); nranks],
        }
    }

    /// Checks ranks and ranges; pairing and deadlock freedom are checked by the executor.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.programs.len() != self.nranks {
            return Err(ScheduleError::ProgramCount {
                nprograms: self.programs.len(),
                nranks: self.nranks,
            });
        }
        for (rank, program) in self.programs.iter().enumerate() {
            for (step, s) in program.iter().enumerate() {
                let transfers = s
                    .sends
                    .iter()
                    .map(|x| (x.peer, &x.range))
                    .chain(s.recvs.iter().map(|x| (x.peer, &x.range)));
                for (peer, range) in transfers {
                    if peer >= self.nranks {
                        return Err(ScheduleError::PeerOutOfRange {
                            rank,
                            step,
                            peer,
                            nranks: self.nranks,
                        });
                    }
                    if peer == rank {
                        return Err(ScheduleError::SelfTransfer { rank, step });
                    }
                    if range.start > range.end || range.end > self.count {
                        return Err(ScheduleError::RangeOutOfBounds {
                            rank,
                            step,
                            start: range.start,
                            end: range.end,
                            count: self.count,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Every rank this rank sends to or receives from, sorted, without repeats.
    pub fn peers_of(&self, rank: Rank) -> Vec<Rank> {
        let mut peers: Vec<Rank> = self.programs[rank]
            .iter()
            .flat_map(|s| {
                s.sends
                    .iter()
                    .map(|x| x.peer)
                    .chain(s.recvs.iter().map(|x| x.peer))
            })
            .collect();
        peers.sort_unstable();
        peers.dedup();
        peers
    }

    /// The largest number of steps with any communication, over ranks.
    pub fn max_steps(&self) -> usize {
        self.programs
            .iter()
            .map(|p| p.iter().filter(|s| !s.is_empty()).count())
            .max()
            .unwrap_or(0)
    }

    /// Elements sent by each rank, summed over its whole program.
    pub fn elements_sent(&self) -> Vec<usize> {
        self.programs
            .iter()
            .map(|p| {
                p.iter()
                    .flat_map(|s| s.sends.iter())
                    .map(|x| x.range.len())
                    .sum()
            })
            .collect()
    }
}
