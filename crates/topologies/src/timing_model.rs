//! Replays a schedule in virtual time under the alpha-beta-gamma model.
//!
//! Each rank has one outgoing and one incoming link, as a NIC port (or an emulated node shaped in
//! both directions) has. Messages a rank sends leave one after another: a message of b bytes
//! holds the sender's egress for b x beta and arrives alpha + b x beta after it leaves. Its b
//! bytes then also cross the receiver's ingress, which carries one message at a time: the message
//! is in only once the ingress has finished the receiver's previous message and spent b x beta on
//! this one, so its effective arrival is max(arrival, ingress free + b x beta). Reducing b bytes
//! costs b x gamma of the receiver's time. A step ends when its last receive has been applied.
//! The result is the time at which the last rank finishes: the schedule's critical path, which
//! tests hold against each algorithm's analytic [`CostTerms`](crate::CostTerms).
//!
//! Two things are approximations. Alpha is a per-message delay that overlaps with the links (it
//! is not serialized at either end), and the ingress takes messages in the receiver's program
//! order, the order it applies them in: a message listed later that physically arrives first
//! still waits behind the earlier-listed ones, where a real port would have let it through while
//! it idled. So the model may overstate a schedule whose receives are not listed in the order
//! they arrive. The binomial tree lists them in that order; the double binary tree, whose rounds
//! interleave two trees, does not always (see [`dbtree::cost`](crate::dbtree::cost)). Without a
//! second sender there is nothing to wait for: messages from one peer arrive at least b x beta
//! apart, because they left over one egress.

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

struct Clock<'a> {
    model: LinkModel,
    /// Draws the delay a rank waits before a step's sends (`--fault jitter`), if any.
    jitter: Option<&'a mut dyn FnMut() -> f64>,
    /// Whether each rank has waited its delay for the step it is in.
    waited: Vec<bool>,
    elem_size: usize,
    step_start: Vec<f64>,
    step_end: Vec<f64>,
    /// When each rank's outgoing link has sent its last posted message.
    link_free: Vec<f64>,
    /// When each rank's incoming link has taken in its last applied message.
    ingress_free: Vec<f64>,
    cpu_free: Vec<f64>,
    /// Where asked for: each rank's steps per iteration, and when each of its iterations ended.
    iterations: Option<(Vec<usize>, Vec<Vec<f64>>)>,
}

impl Visitor for Clock<'_> {
    type Message = f64;
    fn begin_step(&mut self, rank: Rank, _: usize) {
        self.step_start[rank] = self.step_end[rank];
        self.waited[rank] = false;
    }
    fn send(&mut self, rank: Rank, send: &Send) -> f64 {
        if let (Some(draw), false) = (self.jitter.as_mut(), self.waited[rank]) {
            // The rank waits before the step's first send, and so does everything it does in
            // the step.
            self.step_start[rank] += draw();
            self.step_end[rank] = self.step_end[rank].max(self.step_start[rank]);
            self.waited[rank] = true;
        }
        let bytes = (send.range.len() * self.elem_size) as f64;
        let depart = self.link_free[rank].max(self.step_start[rank]);
        self.link_free[rank] = depart + bytes * self.model.beta;
        depart + self.model.alpha + bytes * self.model.beta
    }
    fn recv(&mut self, rank: Rank, recv: &Recv, arrival: f64) {
        let bytes = (recv.range.len() * self.elem_size) as f64;
        // The bytes cross this rank's one incoming link after those of its previous receive.
        let arrival = arrival.max(self.ingress_free[rank] + bytes * self.model.beta);
        self.ingress_free[rank] = arrival;
        let start = arrival.max(self.cpu_free[rank]).max(self.step_start[rank]);
        let done = match recv.action {
            RecvAction::Reduce => start + bytes * self.model.gamma,
            RecvAction::Copy => start,
        };
        self.cpu_free[rank] = done;
        self.step_end[rank] = self.step_end[rank].max(done);
    }
    fn end_step(&mut self, rank: Rank, step: usize) {
        if let Some((steps, ends)) = self.iterations.as_mut() {
            if steps[rank] > 0 && (step + 1).is_multiple_of(steps[rank]) {
                ends[rank].push(self.step_end[rank]);
            }
        }
    }
}

/// The modelled completion time of `schedule` with elements of `elem_size` bytes.
pub fn completion_time(
    schedule: &Schedule,
    elem_size: usize,
    model: LinkModel,
) -> Result<f64, ScheduleError> {
    run(schedule, elem_size, model, None)
}

/// The same with host noise: before each step that sends, a rank waits `jitter()` (drawn
/// afresh for every rank and step), as `--fault jitter` makes the nodes do.
pub fn completion_time_with_jitter(
    schedule: &Schedule,
    elem_size: usize,
    model: LinkModel,
    jitter: &mut dyn FnMut() -> f64,
) -> Result<f64, ScheduleError> {
    run(schedule, elem_size, model, Some(jitter))
}

/// Each rank's time per iteration when `one` (one iteration) runs `iterations` times back to
/// back, as a timed loop runs it, with every step's sends delayed by `jitter()`: `[rank][i]`
/// is the time from the end of its iteration i - 1 (from 0 for the first) to the end of i.
pub fn iteration_times_with_jitter(
    one: &Schedule,
    iterations: usize,
    elem_size: usize,
    model: LinkModel,
    jitter: &mut dyn FnMut() -> f64,
) -> Result<Vec<Vec<f64>>, ScheduleError> {
    let all = one.back_to_back(iterations);
    let steps: Vec<usize> = one.programs.iter().map(|p| p.len()).collect();
    let mut clock = clock(all.nranks, elem_size, model, Some(jitter));
    clock.iterations = Some((steps, vec![Vec::with_capacity(iterations); all.nranks]));
    replay(&all, &mut clock)?;
    let ends = clock.iterations.map(|(_, e)| e).unwrap_or_default();
    Ok(ends
        .into_iter()
        .map(|e| {
            let mut last = 0.0;
            e.into_iter()
                .map(|t| {
                    let d = t - last;
                    last = t;
                    d
                })
                .collect()
        })
        .collect())
}

fn clock<'a>(
    p: usize,
    elem_size: usize,
    model: LinkModel,
    jitter: Option<&'a mut dyn FnMut() -> f64>,
) -> Clock<'a> {
    Clock {
        model,
        jitter,
        waited: vec![false; p],
        elem_size,
        step_start: vec![0.0; p],
        step_end: vec![0.0; p],
        link_free: vec![0.0; p],
        ingress_free: vec![0.0; p],
        cpu_free: vec![0.0; p],
        iterations: None,
    }
}

fn run(
    schedule: &Schedule,
    elem_size: usize,
    model: LinkModel,
    jitter: Option<&mut dyn FnMut() -> f64>,
) -> Result<f64, ScheduleError> {
    let p = schedule.nranks;
    let mut clock = clock(p, elem_size, model, jitter);
    replay(schedule, &mut clock)?;
    Ok(clock.step_end.iter().copied().fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::ScheduleBuilder;
    use crate::schedule::RecvAction;

    const MODEL: LinkModel = LinkModel {
        alpha: 10.0,
        beta: 1.0,
        gamma: 0.0,
    };

    #[test]
    fn iteration_times_back_to_back_add_up_to_the_whole() {
        // 100 bytes from rank 0 to 1, then back: 110 a message, and a delay of 5 before each
        // step's sends. Rank 0's iteration ends when the reply is in (2 x 115); rank 1's first
        // when it has sent its reply (115 + 5), then every 230.
        let mut b = ScheduleBuilder::new(2, 100);
        b.transfer(0, 1, 0..100, RecvAction::Copy);
        b.transfer(1, 0, 0..100, RecvAction::Copy);
        let one = b.finish();
        let t = iteration_times_with_jitter(&one, 3, 1, MODEL, &mut || 5.0).unwrap();
        assert_eq!(t, vec![vec![230.0; 3], vec![120.0, 230.0, 230.0]]);
        let mut k = 0.0;
        let mut growing = || {
            k += 1.0;
            k
        };
        let t = iteration_times_with_jitter(&one, 4, 1, MODEL, &mut growing).unwrap();
        let whole = {
            let mut k = 0.0;
            let mut again = || {
                k += 1.0;
                k
            };
            completion_time_with_jitter(&one.back_to_back(4), 1, MODEL, &mut again).unwrap()
        };
        for rank in &t {
            assert_eq!(rank.len(), 4);
        }
        let slowest: f64 = t.iter().map(|r| r.iter().sum::<f64>()).fold(0.0, f64::max);
        assert_eq!(slowest, whole);
    }

    #[test]
    fn two_senders_share_the_receivers_incoming_link() {
        // Both leave at 0 and would be in at 10 + 100; the second waits for the first's bytes.
        let mut b = ScheduleBuilder::new(3, 100);
        b.transfer(1, 0, 0..100, RecvAction::Reduce);
        b.transfer(2, 0, 0..100, RecvAction::Reduce);
        let t = completion_time(&b.finish(), 1, MODEL).unwrap();
        assert_eq!(t, 10.0 + 200.0);
    }

    #[test]
    fn one_sender_never_waits_for_the_incoming_link() {
        // Its two messages of 50 bytes left 50 apart over its outgoing link and arrive 50 apart,
        // at 60 and 110.
        let mut b = ScheduleBuilder::new(2, 100);
        b.transfer(1, 0, 0..50, RecvAction::Copy);
        b.transfer(1, 0, 50..100, RecvAction::Copy);
        let t = completion_time(&b.finish(), 1, MODEL).unwrap();
        assert_eq!(t, 10.0 + 100.0);
    }

    #[test]
    fn the_incoming_link_takes_messages_in_program_order() {
        // Rank 1 forwards what rank 2 sent it, in at 2 x (10 + 100) = 220. Rank 3's message,
        // in at 110, is listed after rank 1's, so it waits: 220 + 100, where a port that took
        // messages as they came would have finished at 220. The approximation the module notes.
        let mut b = ScheduleBuilder::new(4, 100);
        b.transfer(2, 1, 0..100, RecvAction::Copy);
        b.transfer(1, 0, 0..100, RecvAction::Reduce);
        b.transfer(3, 0, 0..100, RecvAction::Reduce);
        let t = completion_time(&b.finish(), 1, MODEL).unwrap();
        assert_eq!(t, 320.0);
    }
}
