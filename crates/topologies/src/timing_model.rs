//! Replays a schedule in virtual time under the alpha-beta-gamma model.
//!
//! Each rank has one outgoing link (messages it sends leave one after another), a message of b
//! bytes arrives alpha + b x beta after it leaves, and reducing b bytes costs b x gamma of the
//! receiver's time. A step ends when its last receive has been applied. The result is the time at
//! which the last rank finishes: the schedule's critical path, which tests hold against each
//! algorithm's analytic [`CostTerms`](crate::CostTerms).

use crate::executor::{replay, Visitor};
use crate::schedule::{Rank, Recv, RecvAction, Schedule, ScheduleError, Send};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    /// Seconds per message.
    pub alpha: f64,
    /// Seconds per byte on a link.
    pub beta: f64,
    /// Seconds per byte reduced.
    pub gamma: f64,
}

struct Clock {
    model: LinkModel,
    elem_size: usize,
    step_start: Vec<f64>,
    step_end: Vec<f64>,
    link_free: Vec<f64>,
    cpu_free: Vec<f64>,
}

impl Visitor for Clock {
    type Message = f64;
    fn begin_step(&mut self, rank: Rank, _: usize) {
        self.step_start[rank] = self.step_end[rank];
    }
    fn send(&mut self, rank: Rank, send: &Send) -> f64 {
        let bytes = (send.range.len() * self.elem_size) as f64;
        let depart = self.link_free[rank].max(self.step_start[rank]);
        self.link_free[rank] = depart + bytes * self.model.beta;
        depart + self.model.alpha + bytes * self.model.beta
    }
    fn recv(&mut self, rank: Rank, recv: &Recv, arrival: f64) {
        let bytes = (recv.range.len() * self.elem_size) as f64;
        let start = arrival.max(self.cpu_free[rank]).max(self.step_start[rank]);
        let done = match recv.action {
            RecvAction::Reduce => start + bytes * self.model.gamma,
            RecvAction::Copy => start,
        };
        self.cpu_free[rank] = done;
        self.step_end[rank] = self.step_end[rank].max(done);
    }
    fn end_step(&mut self, _: Rank, _: usize) {}
}

/// The modelled completion time of `schedule` with elements of `elem_size` bytes.
pub fn completion_time(
    schedule: &Schedule,
    elem_size: usize,
    model: LinkModel,
) -> Result<f64, ScheduleError> {
    let p = schedule.nranks;
    let mut clock = Clock {
        model,
        elem_size,
        step_start: vec![0.0; p],
        step_end: vec![0.0; p],
        link_free: vec![0.0; p],
        cpu_free: vec![0.0; p],
    };
    replay(schedule, &mut clock)?;
    Ok(clock.step_end.iter().copied().fold(0.0, f64::max))
}
