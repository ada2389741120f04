//! Writing a schedule as one sequential program per rank, compiled into [`Step`]s.
//!
//! Algorithms are easiest to state as "rank r receives this, then sends that". The builder takes
//! such a program, event by event, and packs it into steps that mean the same thing under the
//! step semantics documented on [`Step`]: a send that follows a receive in program order must see
//! that receive's data, so it opens a new step; consecutive sends, and receives that follow
//! sends, share a step. Transfers of empty ranges are dropped at both ends (both ends compute the
//! same ranges, so pairing is kept).

use std::ops::Range;

use crate::schedule::{Rank, Recv, RecvAction, Schedule, Send, Step};

/// Per-rank programs under construction; [`finish`](Self::finish) turns them into a
/// [`Schedule`].
#[derive(Clone, Debug)]
pub struct ScheduleBuilder {
    nranks: usize,
    count: usize,
    programs: Vec<Vec<Step>>,
}

impl ScheduleBuilder {
    /// Empty programs for `nranks` ranks over a buffer of `count` elements.
    pub fn new(nranks: usize, count: usize) -> Self {
        ScheduleBuilder {
            nranks,
            count,
            programs: vec![Vec::new(); nranks],
        }
    }

    pub fn nranks(&self) -> usize {
        self.nranks
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// Rank `rank` sends `range` of its buffer to `peer`, after everything it did before.
    pub fn send(&mut self, rank: Rank, peer: Rank, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let program = &mut self.programs[rank];
        // A send must not read the buffer before an earlier receive has landed in it.
        if program.last().is_none_or(|s| !s.recvs.is_empty()) {
            program.push(Step::default());
        }
        if let Some(step) = program.last_mut() {
            step.sends.push(Send { peer, range });
        }
    }

    /// Rank `rank` receives `range` from `peer` and applies `action`, after everything it did
    /// before.
    pub fn recv(&mut self, rank: Rank, peer: Rank, range: Range<usize>, action: RecvAction) {
        if range.is_empty() {
            return;
        }
        let program = &mut self.programs[rank];
        if program.is_empty() {
            program.push(Step::default());
        }
        if let Some(step) = program.last_mut() {
            step.recvs.push(Recv {
                peer,
                range,
                action,
            });
        }
    }

    /// `from` sends `range` to `to`, which applies `action`: a send appended to `from`'s program
    /// and the matching receive appended to `to`'s.
    pub fn transfer(&mut self, from: Rank, to: Rank, range: Range<usize>, action: RecvAction) {
        self.send(from, to, range.clone());
        self.recv(to, from, range, action);
    }

    pub fn finish(self) -> Schedule {
        Schedule {
            nranks: self.nranks,
            count: self.count,
            programs: self.programs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_after_a_receive_opens_a_new_step() {
        let mut b = ScheduleBuilder::new(2, 8);
        b.send(0, 1, 0..4);
        b.send(0, 1, 4..8);
        b.recv(0, 1, 0..4, RecvAction::Reduce);
        b.recv(0, 1, 4..8, RecvAction::Reduce);
        b.send(0, 1, 0..8);
        b.send(0, 1, 5..5);
        let s = b.finish();
        let shape: Vec<(usize, usize)> = s.programs[0]
            .iter()
            .map(|st| (st.sends.len(), st.recvs.len()))
            .collect();
        assert_eq!(shape, vec![(2, 2), (1, 0)]);
        assert!(s.programs[1].is_empty());
    }

    #[test]
    fn a_leading_receive_gets_its_own_step() {
        let mut b = ScheduleBuilder::new(2, 4);
        b.recv(1, 0, 0..4, RecvAction::Copy);
        b.send(1, 0, 0..4);
        assert_eq!(b.finish().programs[1].len(), 2);
    }
}
