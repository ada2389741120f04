//! A simulated bench-node: it follows the real node's protocol (register, open the channels, the
//! plan's barriers, iterations and reports, the ping-pong, a heartbeat every 500 ms) and runs
//! each iteration's schedule step by step over [`Links`], so its heartbeats say truly which step
//! it is in and whom it waits for. Compute takes virtual time; a slowed rank takes longer.

use std::rc::Rc;

use topologies::{Algorithm, Schedule};
use wire::control::{Heartbeat, Placement, Report, MAX_AWAITED};
use wire::FromNode;

use super::links::{Links, Micros};

/// A step's own work: this long, plus the bytes received at [`COMPUTE_BYTES_PER_US`].
pub const STEP_US: Micros = 5;
pub const COMPUTE_BYTES_PER_US: u64 = 2_000;

/// What a node does, in order, once it has the plan.
#[derive(Clone)]
pub enum Action {
    /// Arrive at barrier `epoch` and wait for its release.
    Arrive(u64),
    /// Run `schedule` `times` times; the iterations from `timed_from` on are timed.
    Iterate {
        schedule: Rc<Schedule>,
        times: u32,
        timed_from: u32,
    },
    /// Report the iterations timed since the last report.
    Report {
        algorithm: Algorithm,
        size: u64,
        placement: Placement,
    },
    /// Report the ping-pong's round trips just timed.
    PingPong { size: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Life {
    /// Not started yet.
    Unborn,
    Running,
    /// SIGSTOP: nothing happens any more, and nothing is sent.
    Stopped,
    Dead,
}

/// Where a node is inside an [`Action::Iterate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepState {
    /// The step is next: its sends go out when it starts.
    Start,
    /// Its sends are out; it waits for its receives.
    Receiving,
    /// Its receives are in; it computes until the step-done event with this token.
    Computing(u64),
}

/// What a node's progress asks the simulation to do.
#[derive(Debug)]
pub enum Effect {
    /// A message to the coordinator.
    Send(Box<FromNode>),
    /// Rank `peer` has a new message waiting: it may go on.
    Wake(usize),
    /// The current step's work ends at `at`; the event carries `token`.
    StepDone { at: Micros, token: u64 },
    /// The node waits for this peer: its link may have gone idle.
    WatchLink(usize),
}

pub struct Node {
    pub rank: usize,
    pub life: Life,
    pub program: Vec<Action>,
    pc: usize,
    /// The barrier the node waits at (arrived, not released).
    pub at_barrier: Option<u64>,
    /// The last barrier arrived at.
    pub epoch: u64,
    iteration: u32,
    step: usize,
    state: StepState,
    next_token: u64,
    iteration_start: Micros,
    timed_ns: Vec<u64>,
    sent_bytes: u64,
    pub steps_done: u64,
    /// Peers the current step waits for.
    pub awaiting: Vec<usize>,
    /// Compute takes this many times longer from `slow_from` on.
    pub slow: Option<(u32, Micros)>,
    /// The coordinator: last heard, and the largest gap between two of its messages.
    pub coordinator_heard: Option<Micros>,
    pub coordinator_gap: Micros,
    /// When the node last sent a message to the coordinator (what it says before a fault is
    /// what the coordinator can know).
    pub last_sent: Micros,
}

impl Node {
    pub fn new(rank: usize) -> Node {
        Node {
            rank,
            life: Life::Unborn,
            program: Vec::new(),
            pc: 0,
            at_barrier: None,
            epoch: 0,
            iteration: 0,
            step: 0,
            state: StepState::Start,
            next_token: 0,
            iteration_start: 0,
            timed_ns: Vec::new(),
            sent_bytes: 0,
            steps_done: 0,
            awaiting: Vec::new(),
            slow: None,
            coordinator_heard: None,
            coordinator_gap: 0,
            last_sent: 0,
        }
    }

    pub fn running(&self) -> bool {
        self.life == Life::Running
    }

    pub fn heartbeat(&self) -> Heartbeat {
        let iterating = matches!(self.program.get(self.pc), Some(Action::Iterate { .. }));
        Heartbeat {
            epoch: self.epoch,
            step: iterating.then_some(self.step as u32),
            iteration: iterating.then_some(self.iteration),
            awaiting: self
                .awaiting
                .iter()
                .take(MAX_AWAITED)
                .map(|&r| r as u32)
                .collect(),
            steps_done: self.steps_done,
            refused: 0,
        }
    }

    /// The step the node is in, when it is in one.
    pub fn step(&self) -> Option<u32> {
        self.heartbeat().step
    }

    /// The barrier `epoch` was released.
    pub fn released(&mut self, epoch: u64, links: &mut Links, now: Micros, out: &mut Vec<Effect>) {
        if self.at_barrier == Some(epoch) {
            self.at_barrier = None;
            self.pc += 1;
            self.advance(links, now, out);
        }
    }

    /// The current step's work is done (when `token` is still the current one).
    pub fn step_done(&mut self, token: u64, links: &mut Links, now: Micros, out: &mut Vec<Effect>) {
        if self.state != StepState::Computing(token) {
            return;
        }
        self.steps_done += 1;
        self.step += 1;
        self.state = StepState::Start;
        self.advance(links, now, out);
    }

    /// Goes on as far as it can at `now`.
    pub fn advance(&mut self, links: &mut Links, now: Micros, out: &mut Vec<Effect>) {
        while self.running() {
            let Some(action) = self.program.get(self.pc).cloned() else {
                return;
            };
            match action {
                Action::Arrive(epoch) => {
                    if self.at_barrier != Some(epoch) {
                        self.at_barrier = Some(epoch);
                        self.epoch = epoch;
                        out.push(Effect::Send(Box::new(FromNode::Arrive { epoch })));
                    }
                    return;
                }
                Action::Iterate {
                    schedule,
                    times,
                    timed_from,
                } => {
                    if !self.iterate(&schedule, times, timed_from, links, now, out) {
                        return;
                    }
                }
                Action::Report {
                    algorithm,
                    size,
                    placement,
                } => {
                    let report = self.report(algorithm, size, placement);
                    out.push(Effect::Send(Box::new(FromNode::Report(report))));
                    self.pc += 1;
                }
                Action::PingPong { size } => {
                    let report = wire::control::PingPongReport {
                        size,
                        round_trip_ns: std::mem::take(&mut self.timed_ns),
                    };
                    out.push(Effect::Send(Box::new(FromNode::PingPong(report))));
                    self.pc += 1;
                }
            }
        }
    }

    /// Runs the iterations of an [`Action::Iterate`] as far as possible; true when they are all
    /// done (the action is over).
    fn iterate(
        &mut self,
        schedule: &Schedule,
        times: u32,
        timed_from: u32,
        links: &mut Links,
        now: Micros,
        out: &mut Vec<Effect>,
    ) -> bool {
        let program = &schedule.programs[self.rank];
        loop {
            if self.iteration == times {
                self.iteration = 0;
                self.pc += 1;
                return true;
            }
            if self.step == program.len() {
                if self.iteration >= timed_from {
                    self.timed_ns.push((now - self.iteration_start) * 1_000);
                }
                self.iteration += 1;
                self.step = 0;
                continue;
            }
            let step = &program[self.step];
            match self.state {
                StepState::Start => {
                    if self.step == 0 {
                        self.iteration_start = now;
                    }
                    for send in &step.sends {
                        let bytes = (send.range.len() * 4) as u64;
                        links.send(self.rank, send.peer, bytes, now);
                        if self.iteration >= timed_from {
                            self.sent_bytes += bytes;
                        }
                        out.push(Effect::Wake(send.peer));
                    }
                    self.state = StepState::Receiving;
                }
                StepState::Receiving => {
                    self.awaiting = short_peers(step, self.rank, links);
                    if !self.awaiting.is_empty() {
                        for &peer in &self.awaiting {
                            out.push(Effect::WatchLink(peer));
                        }
                        return false;
                    }
                    let mut arrived = now;
                    let mut bytes = 0;
                    self.awaiting.clear();
                    for recv in &step.recvs {
                        arrived = arrived.max(links.take(recv.peer, self.rank).unwrap_or(now));
                        bytes += (recv.range.len() * 4) as u64;
                    }
                    let factor = match self.slow {
                        Some((k, from)) if now >= from => u64::from(k),
                        _ => 1,
                    };
                    let work = (STEP_US + bytes / COMPUTE_BYTES_PER_US) * factor;
                    self.next_token += 1;
                    self.state = StepState::Computing(self.next_token);
                    out.push(Effect::StepDone {
                        at: arrived + work,
                        token: self.next_token,
                    });
                    return false;
                }
                StepState::Computing(_) => return false,
            }
        }
    }

    fn report(&mut self, algorithm: Algorithm, size: u64, placement: Placement) -> Report {
        let mut hist = wire::histogram::new();
        for &ns in &self.timed_ns {
            wire::histogram::record(&mut hist, ns);
        }
        Report {
            series: topologies::Series {
                case: topologies::Case::all_reduce(algorithm),
                dtype: topologies::DataType::Float,
                op: topologies::ReduceOp::Sum,
            },
            size,
            placement,
            iter_ns: std::mem::take(&mut self.timed_ns),
            histogram: wire::histogram::to_base64(&hist).expect("a histogram encodes"),
            nwrong: Some(0),
            channels: 1,
            cpu_ns: vec![1_000],
            poll_idle_ns: vec![0],
            runq_wait_ns: vec![0],
            sent_bytes: std::mem::take(&mut self.sent_bytes),
        }
    }
}

/// The peers whose messages for `step` have not all been sent yet.
fn short_peers(step: &topologies::Step, rank: usize, links: &Links) -> Vec<usize> {
    let mut need: Vec<(usize, usize)> = Vec::new();
    for recv in &step.recvs {
        match need.iter_mut().find(|(p, _)| *p == recv.peer) {
            Some((_, n)) => *n += 1,
            None => need.push((recv.peer, 1)),
        }
    }
    need.into_iter()
        .filter(|&(peer, n)| links.waiting(peer, rank) < n)
        .map(|(peer, _)| peer)
        .collect()
}
