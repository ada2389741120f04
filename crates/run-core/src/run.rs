//! One run as a state machine: [`Input`]s in, each with the time it happened, [`Command`]s out.
//! Nothing here reads a clock, touches a socket or a file, or starts a process: the driver (the
//! coordinator) does, and passes what happened in. So every path, faults included, can be
//! replayed in virtual time.
//!
//! The phases: every rank registers ([`crate::registration`]); the coordinator decides the
//! channels and every rank opens them; the plan goes out; the sweep's barriers and reports
//! ([`crate::sweep`]), then the ping-pong's; then `Done`. A failure anywhere ends the run with
//! the culprit named ([`crate::failure`]), an abort to every rank, and what to record.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use topologies::Series;
use wire::control::{
    FromCoordinator, Placement, Report, COORDINATOR_SILENCE_MIN_MS, HEARTBEAT_INTERVAL_MS,
};
use wire::results::Failure;
use wire::FromNode;

use crate::epochs::Epochs;
use crate::io::{Command, Input};
use crate::liveness::{Liveness, PAUSE};
use crate::roster::Roster;
use crate::run_failure::RunFailure;
use crate::spec::RunSpec;

/// Where a run is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Waiting for every rank to register, since then.
    Registering { since: Instant },
    /// Every rank was asked to open `count` channels, since then; `open` have.
    Opening {
        since: Instant,
        count: u32,
        open: BTreeSet<usize>,
    },
    /// The all-reduce sweep.
    Sweeping,
    /// The ping-pong after the sweep; `done` sizes reported.
    PingPong { done: usize },
    /// Finished, well or not: nothing more comes out.
    Over,
}

pub struct Run {
    pub(crate) spec: RunSpec,
    pub(crate) roster: Roster,
    pub(crate) epochs: Epochs,
    pub(crate) liveness: Liveness,
    pub(crate) phase: Phase,
    /// Highest barrier any rank has reached.
    pub(crate) epoch: u64,
    /// The ranks at each barrier not yet released.
    pub(crate) arrivals: BTreeMap<u64, BTreeSet<usize>>,
    pub(crate) reports: HashMap<(Series, u64, Placement), Vec<Option<Report>>>,
    pub(crate) rows_done: usize,
    /// The cores each rank was given, once registered.
    pub(crate) cores: Vec<f64>,
    /// The machine each rank runs on, once registered (see [`crate::channels::machine_of`]).
    pub(crate) machines: Vec<usize>,
    /// The channels every rank opened.
    pub(crate) channels: u32,
    /// The CPUs each rank's channel threads were bound to (empty: not bound).
    pub(crate) bound_cpus: Vec<Vec<u32>>,
    /// When the ranks were last sent a heartbeat.
    last_beat: Instant,
    /// When the last input was handled, and the last pause of the coordinator itself (when it
    /// ended, how long it was).
    last_input: Instant,
    pause: Option<(Instant, Duration)>,
    pub(crate) out: Vec<Command>,
}

impl Run {
    pub fn new(spec: RunSpec, now: Instant) -> Run {
        let pingpong = spec.pingpong.then_some(spec.warmup_iters + spec.iters);
        Run {
            roster: Roster::new(spec.nranks, &spec.launched_pids),
            epochs: Epochs::new(&spec.series, &spec.sizes, pingpong),
            liveness: Liveness::new(spec.nranks, now),
            phase: Phase::Registering { since: now },
            epoch: 0,
            arrivals: BTreeMap::new(),
            reports: HashMap::new(),
            rows_done: 0,
            cores: Vec::new(),
            machines: Vec::new(),
            channels: 1,
            bound_cpus: Vec::new(),
            last_beat: now,
            last_input: now,
            pause: None,
            out: Vec::new(),
            spec,
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The heartbeats, silences and positions of the ranks so far.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    pub fn is_over(&self) -> bool {
        self.phase == Phase::Over
    }

    /// Takes `input`, which happened at `now`; returns what the driver is to do, in order.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Command> {
        // The timer ticks several times a second: a longer gap between two inputs is time the
        // coordinator itself was not scheduled.
        let gap = now.saturating_duration_since(self.last_input);
        if gap > PAUSE {
            self.pause = Some((now, gap));
        }
        self.last_input = now;
        if self.phase != Phase::Over {
            if let Err(f) = self.step(input, now) {
                let f = self.after_pause(f, now);
                self.fail(f);
            }
        }
        std::mem::take(&mut self.out)
    }

    fn step(&mut self, input: Input, now: Instant) -> Result<(), RunFailure> {
        match input {
            Input::Tick => self.tick(now),
            Input::Interrupted => Err(RunFailure::new("interrupted (Ctrl-C)")),
            Input::Fatal(message) => Err(RunFailure::new(message)),
            Input::Exited { rank, status } => Err(self.exited(rank, &status, now)),
            Input::Lost { rank, error } => {
                Err(self.blame(rank, &format!("lost its control connection ({error})")))
            }
            Input::Unreachable { rank } => {
                Err(self.blame(rank, "cannot be reached (its control stream is closed)"))
            }
            Input::Registered(reg) => self.registered(reg, now),
            Input::Node { rank, msg } => self.message(rank, msg, now),
        }
    }

    fn message(&mut self, rank: usize, msg: FromNode, now: Instant) -> Result<(), RunFailure> {
        if rank >= self.spec.nranks {
            return Ok(());
        }
        self.liveness.heard(rank, now);
        match msg {
            FromNode::Heartbeat(h) => {
                self.liveness.heartbeat(rank, h, now);
                Ok(())
            }
            FromNode::Failed {
                context,
                error,
                peer,
                step,
            } => Err(self.reported(rank, &context, &error, peer, step)),
            msg => match self.phase {
                Phase::Registering { .. } => {
                    Err(self.blame(rank, &format!("sent {msg:?} before the plan")))
                }
                Phase::Opening { .. } => self.channels_message(rank, msg, now),
                Phase::Sweeping | Phase::PingPong { .. } => self.sweep_message(rank, msg, now),
                Phase::Over => Ok(()),
            },
        }
    }

    fn tick(&mut self, now: Instant) -> Result<(), RunFailure> {
        self.liveness.tick(now);
        if now.saturating_duration_since(self.last_beat)
            >= Duration::from_millis(HEARTBEAT_INTERVAL_MS)
        {
            self.last_beat = now;
            self.out
                .push(Command::Broadcast(FromCoordinator::Heartbeat));
        }
        match &self.phase {
            Phase::Registering { since } => {
                let limit = self.spec.setup_timeout;
                if now.saturating_duration_since(*since) > limit {
                    let what = format!(
                        "did not register within {}",
                        crate::run_failure::secs(limit)
                    );
                    return Err(self.missing_within(&self.roster.missing(), &what));
                }
                Ok(())
            }
            Phase::Opening { since, open, .. } => {
                let limit = self.spec.setup_timeout;
                if now.saturating_duration_since(*since) > limit {
                    let missing: Vec<usize> = (0..self.spec.nranks)
                        .filter(|r| !open.contains(r))
                        .collect();
                    let what = format!(
                        "did not open its channels within {}",
                        crate::run_failure::secs(limit)
                    );
                    return Err(self.missing_within(&missing, &what));
                }
                Ok(())
            }
            Phase::Sweeping | Phase::PingPong { .. } => self.check_liveness(now),
            Phase::Over => Ok(()),
        }
    }

    /// A rank silent beyond its limit, or no progress beyond the progress limit, ends the run.
    fn check_liveness(&self, now: Instant) -> Result<(), RunFailure> {
        let size = self.epochs.size_at(self.epoch.max(1)).unwrap_or(0);
        if let Some(s) = self.liveness.silent(now, size) {
            return Err(self.silent_failure(&s));
        }
        let limit = self.liveness.progress_limit(self.spec.stall_timeout, size);
        if self.liveness.since_progress(now) > limit {
            return Err(self.stall_failure(now, limit));
        }
        Ok(())
    }

    /// A failure just after the coordinator was not scheduled for longer than a node waits for
    /// it: the nodes gave up on the coordinator, so no rank is to blame.
    fn after_pause(&self, f: RunFailure, now: Instant) -> RunFailure {
        let patience = Duration::from_millis(COORDINATOR_SILENCE_MIN_MS);
        match self.pause {
            Some((resumed, gap))
                if gap >= patience
                    && f.rank.is_some()
                    && now.saturating_duration_since(resumed) <= PAUSE =>
            {
                RunFailure {
                    message: format!(
                        "the coordinator was not scheduled for {}, longer than a node waits for \
                         it ({}), and the nodes gave up: {}",
                        crate::run_failure::secs(gap),
                        crate::run_failure::secs(patience),
                        f.message
                    ),
                    rank: None,
                    waiting_ranks: Vec::new(),
                    unresponsive: false,
                    ..f
                }
            }
            _ => f,
        }
    }

    /// Ends the run: the unresponsive culprit killed, every rank told to stop, the failure out.
    fn fail(&mut self, f: RunFailure) {
        if let (true, Some(rank)) = (f.unresponsive, f.rank) {
            self.out.push(Command::Kill { rank });
        }
        self.out.push(Command::Broadcast(FromCoordinator::Abort {
            reason: f.message.clone(),
        }));
        self.out.push(Command::Failed(Failure {
            message: f.message,
            rank: f.rank,
            host: f.rank.and_then(|r| self.roster.host_name(r)),
            collective: f.case.map(|c| c.collective),
            algorithm: f.case.map(|c| c.algorithm),
            size: f.size,
            step: f.step,
            waiting_ranks: f.waiting_ranks,
        }));
        self.phase = Phase::Over;
    }

    /// The run is over and went well: every rank is told.
    pub(crate) fn finish(&mut self) {
        self.out.push(Command::Broadcast(FromCoordinator::Done));
        self.out.push(Command::Done);
        self.phase = Phase::Over;
    }
}
