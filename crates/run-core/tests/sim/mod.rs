//! A whole run in virtual time: the real [`Run`] state machine as the coordinator, simulated
//! nodes ([`node`]) over a simulated data plane ([`links`]), and one fault. No processes, no
//! sockets, no clock: an event queue ordered by virtual time, so a case runs in microseconds of
//! real time and replays exactly from its seed.
//!
//! What the driver does here is what the coordinator's driver does: stamp every input with the
//! time it is handled, broadcast to the registered ranks, kill on `Kill`, stop at the end. A
//! coordinator that is paused (not scheduled) handles nothing until it resumes, and then handles
//! everything that came meanwhile at the resumption's time.

pub mod case;
pub mod links;
pub mod node;
mod program;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use run_core::{Command, Input, Registration, Run};
use wire::control::{FromCoordinator, HEARTBEAT_INTERVAL_MS};
use wire::FromNode;

pub use case::{Case, Fault, Outcome};
use links::{Links, Micros, LATENCY_US};
use node::{Effect, Life, Node};
use program::program;

/// The coordinator's timer, as in the coordinator.
pub const TICK_US: Micros = 250_000;
/// From a kill to the driver seeing the process exit.
pub const EXIT_DELAY_US: Micros = 2_000;
/// A data-plane connection that carried nothing for this long is closed (QUIC's idle timeout).
pub const IDLE_US: Micros = wire::control::CONTROL_IDLE_TIMEOUT_MS * 1_000;
/// A node gives up on a coordinator silent this long at least, or four times its largest gap.
pub const NODE_PATIENCE_US: Micros = wire::control::COORDINATOR_SILENCE_MIN_MS * 1_000;
/// No case runs longer than this in virtual time.
const HORIZON_US: Micros = 600_000_000;

enum Event {
    Launch(usize),
    ToCoordinator(Input),
    ToNode(usize, FromCoordinator),
    Wake(usize),
    StepDone { rank: usize, token: u64 },
    NodeBeat(usize),
    LinkIdle { rank: usize, peer: usize },
    Tick,
    Fault,
    Resume,
}

/// SplitMix64: small, seeded, good enough to order ties.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

struct Sim {
    case: Case,
    base: Instant,
    now: Micros,
    queue: BTreeMap<(Micros, u64), Event>,
    rng: Rng,
    run: Run,
    nodes: Vec<Node>,
    links: Links,
    registered: BTreeSet<usize>,
    /// Until when the coordinator is paused, and what came meanwhile.
    paused_until: Option<Micros>,
    deferred: Vec<Input>,
    /// When each node stopped or died (its links go idle from then).
    gone_at: Vec<Option<Micros>>,
    out: Outcome,
}

pub fn simulate(case: Case) -> Outcome {
    let base = Instant::now();
    let p = case.nranks;
    let mut sim = Sim {
        base,
        now: 0,
        queue: BTreeMap::new(),
        rng: Rng(case.seed),
        run: Run::new(case::spec(&case), base),
        nodes: (0..p).map(Node::new).collect(),
        links: Links::new(p),
        registered: BTreeSet::new(),
        paused_until: None,
        deferred: Vec::new(),
        gone_at: vec![None; p],
        out: Outcome::default(),
        case,
    };
    for rank in 0..p {
        let at = sim.rng.next() % 20_000;
        sim.at(at, Event::Launch(rank));
    }
    sim.at(TICK_US, Event::Tick);
    if let Some(at) = sim.case.fault.at() {
        sim.at(at, Event::Fault);
    }
    while let Some(((t, _), event)) = sim.queue.pop_first() {
        if sim.run.is_over() || t > HORIZON_US {
            break;
        }
        sim.now = t;
        sim.event(event);
    }
    if !sim.run.is_over() {
        sim.out.end = sim.now;
    }
    sim.out
}

impl Sim {
    fn at(&mut self, t: Micros, event: Event) {
        let tie = self.rng.next();
        self.queue.insert((t, tie), event);
    }

    fn instant(&self) -> Instant {
        self.base + Duration::from_micros(self.now)
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Launch(rank) => self.launch(rank),
            Event::ToCoordinator(input) => self.coordinator(input),
            Event::ToNode(rank, msg) => self.node_hears(rank, msg),
            Event::Wake(rank) => {
                self.progress(rank, |n, links, now, out| n.advance(links, now, out))
            }
            Event::StepDone { rank, token } => self.progress(rank, |n, links, now, out| {
                n.step_done(token, links, now, out)
            }),
            Event::NodeBeat(rank) => self.node_beat(rank),
            Event::LinkIdle { rank, peer } => self.link_idle(rank, peer),
            Event::Tick => {
                self.coordinator(Input::Tick);
                let next = self.now + TICK_US;
                self.at(next, Event::Tick);
            }
            Event::Fault => self.fault(),
            Event::Resume => self.resume(),
        }
    }

    fn launch(&mut self, rank: usize) {
        if self.nodes[rank].life != Life::Unborn {
            return;
        }
        self.nodes[rank].life = Life::Running;
        self.send_input(
            rank,
            Input::Registered(Registration {
                rank,
                host: format!("m{rank}"),
                pid: 1_000 + rank as u32,
                data_addr: format!("sim:{rank}"),
                cpus: BTreeSet::from([0]),
                machine: format!("m{rank}"),
                cpu_quota: None,
                facts: Default::default(),
            }),
        );
        let beat = self.now + HEARTBEAT_INTERVAL_MS * 1_000;
        self.at(beat, Event::NodeBeat(rank));
    }

    /// `input` from `rank`'s node reaches the coordinator after the control path's latency.
    fn send_input(&mut self, rank: usize, input: Input) {
        self.nodes[rank].last_sent = self.now;
        let t = self.now + LATENCY_US;
        self.at(t, Event::ToCoordinator(input));
    }

    fn node_says(&mut self, rank: usize, msg: FromNode) {
        if let FromNode::Report(r) = &msg {
            let e = self
                .out
                .reports_sent
                .entry((r.series.case.algorithm, r.size))
                .or_default();
            *e = (e.0.max(self.now), e.1 + 1);
        }
        self.send_input(rank, Input::Node { rank, msg });
    }

    // ---- the coordinator ----

    fn coordinator(&mut self, input: Input) {
        if self.paused_until.is_some() {
            if input != Input::Tick {
                self.deferred.push(input);
            }
            return;
        }
        if let Input::Registered(reg) = &input {
            // The driver holds the rank's control connection from here on.
            self.registered.insert(reg.rank);
        }
        let now = self.instant();
        let commands = self.run.handle(input, now);
        for c in commands {
            self.command(c);
        }
    }

    fn resume(&mut self) {
        self.paused_until = None;
        let mut inputs = std::mem::take(&mut self.deferred);
        // The timer fires first or last after a pause, as the runtime happens to order it.
        if self.rng.next().is_multiple_of(2) {
            inputs.insert(0, Input::Tick);
        } else {
            inputs.push(Input::Tick);
        }
        for input in inputs {
            self.coordinator(input);
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Send { rank, msg } => self.send_to(rank, msg),
            Command::Broadcast(msg) => {
                for rank in self.registered.clone() {
                    self.send_to(rank, msg.clone());
                }
            }
            Command::Refuse { .. } | Command::SizeStarted { .. } | Command::SweepDone => {}
            Command::Started { .. } => self.out.started = Some(self.now),
            Command::Row(row) => self.out.rows.push((row.algorithm, row.size)),
            Command::PingPongRow(_) => self.out.pingpong_rows += 1,
            Command::Kill { rank } => {
                self.out.killed.push(rank);
                self.die(rank);
            }
            Command::Failed(f) => {
                self.out.failure = Some((f, self.now));
                self.out.end = self.now;
            }
            Command::Done => {
                self.out.done = true;
                self.out.end = self.now;
            }
        }
    }

    fn send_to(&mut self, rank: usize, msg: FromCoordinator) {
        let t = self.now + LATENCY_US;
        self.at(t, Event::ToNode(rank, msg));
    }

    // ---- the nodes ----

    fn node_hears(&mut self, rank: usize, msg: FromCoordinator) {
        if !self.nodes[rank].running() {
            return;
        }
        let now = self.now;
        let n = &mut self.nodes[rank];
        if let Some(prev) = n.coordinator_heard {
            n.coordinator_gap = n.coordinator_gap.max(now - prev);
        }
        n.coordinator_heard = Some(now);
        match msg {
            FromCoordinator::OpenChannels { count, .. } => {
                let addrs = (0..count).map(|k| format!("sim:{rank}:{k}")).collect();
                self.node_says(rank, FromNode::Channels { addrs });
            }
            FromCoordinator::Plan(plan) => {
                self.nodes[rank].program = program(&plan, rank);
                self.node_says(rank, FromNode::Ready {});
                self.progress(rank, |n, links, now, out| n.advance(links, now, out));
            }
            FromCoordinator::Release { epoch } => {
                self.progress(rank, |n, links, now, out| {
                    n.released(epoch, links, now, out)
                });
            }
            FromCoordinator::Heartbeat => {}
            FromCoordinator::Abort { .. } => self.exit(rank, "exited with status 1"),
            FromCoordinator::Done => self.exit(rank, "exited with status 0"),
        }
    }

    /// Lets `rank`'s node go on with `f`, then carries out what it asks for.
    fn progress(
        &mut self,
        rank: usize,
        f: impl FnOnce(&mut Node, &mut Links, Micros, &mut Vec<Effect>),
    ) {
        if !self.nodes[rank].running() {
            return;
        }
        let mut effects = Vec::new();
        f(
            &mut self.nodes[rank],
            &mut self.links,
            self.now,
            &mut effects,
        );
        for e in effects {
            match e {
                Effect::Send(msg) => self.node_says(rank, *msg),
                Effect::Wake(peer) => {
                    let now = self.now;
                    self.at(now, Event::Wake(peer));
                }
                Effect::StepDone { at, token } => self.at(at, Event::StepDone { rank, token }),
                Effect::WatchLink(peer) => self.watch_link(rank, peer),
            }
        }
    }

    /// `rank` waits for `peer`: when their link is silent, or `peer` is gone, the connection
    /// goes idle [`IDLE_US`] later.
    fn watch_link(&mut self, rank: usize, peer: usize) {
        let silent_since = [self.links.cut_since(rank, peer), self.gone_at[peer]]
            .into_iter()
            .flatten()
            .min();
        if let Some(since) = silent_since {
            let at = since.max(self.now) + IDLE_US;
            self.at(at, Event::LinkIdle { rank, peer });
        }
    }

    fn link_idle(&mut self, rank: usize, peer: usize) {
        let n = &self.nodes[rank];
        if !n.running() || !n.awaiting.contains(&peer) {
            return;
        }
        let step = n.step();
        self.node_says(
            rank,
            FromNode::Failed {
                context: format!("receiving from rank {peer}"),
                error: "timed out (connection idle)".into(),
                peer: Some(peer as u32),
                step,
            },
        );
        self.exit(rank, "exited with status 1");
    }

    fn node_beat(&mut self, rank: usize) {
        let n = &self.nodes[rank];
        if !n.running() {
            return;
        }
        if let Some(heard) = n.coordinator_heard {
            let limit =
                NODE_PATIENCE_US.max(4 * n.coordinator_gap.max(HEARTBEAT_INTERVAL_MS * 1_000));
            if self.now - heard > limit {
                let step = n.step();
                self.node_says(
                    rank,
                    FromNode::Failed {
                        context: "the coordinator".into(),
                        error: format!("silent for {} ms", (self.now - heard) / 1_000),
                        peer: None,
                        step,
                    },
                );
                self.exit(rank, "exited with status 1");
                return;
            }
        }
        let hb = n.heartbeat();
        self.node_says(rank, FromNode::Heartbeat(hb));
        let next = self.now + HEARTBEAT_INTERVAL_MS * 1_000;
        self.at(next, Event::NodeBeat(rank));
    }

    /// The node's process ends on its own: its control connection closes, then it exits.
    fn exit(&mut self, rank: usize, status: &str) {
        self.die(rank);
        let t = self.now + EXIT_DELAY_US;
        self.at(
            t,
            Event::ToCoordinator(Input::Exited {
                rank,
                status: status.into(),
            }),
        );
    }

    fn die(&mut self, rank: usize) {
        let n = &mut self.nodes[rank];
        if n.life == Life::Dead {
            return;
        }
        let was_running = n.life == Life::Running;
        n.life = Life::Dead;
        self.registered.remove(&rank);
        if was_running {
            self.gone_at[rank].get_or_insert(self.now);
        }
    }

    // ---- the fault ----

    fn fault(&mut self) {
        match self.case.fault {
            Fault::None => {}
            Fault::Kill { rank, .. } => {
                if self.nodes[rank].life != Life::Dead {
                    self.die(rank);
                    let t = self.now + EXIT_DELAY_US;
                    self.at(
                        t,
                        Event::ToCoordinator(Input::Exited {
                            rank,
                            status: "killed by signal 9 (SIGKILL)".into(),
                        }),
                    );
                }
            }
            Fault::Stop { rank, .. } => {
                // A process stopped before it registered never does.
                if matches!(self.nodes[rank].life, Life::Running | Life::Unborn) {
                    self.nodes[rank].life = Life::Stopped;
                    self.gone_at[rank] = Some(self.now);
                }
            }
            Fault::Cut { a, b, .. } => {
                let now = self.now;
                self.links.cut(a, b, now);
                for (x, y) in [(a, b), (b, a)] {
                    if self.nodes[x].awaiting.contains(&y) {
                        self.watch_link(x, y);
                    }
                }
            }
            Fault::Slow { rank, factor, .. } => self.nodes[rank].slow = Some((factor, self.now)),
            Fault::Pause { for_us, .. } => {
                let until = self.now + for_us;
                self.paused_until = Some(until);
                self.at(until, Event::Resume);
            }
        }
    }
}
