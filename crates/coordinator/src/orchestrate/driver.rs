//! The driver of a run: it turns what happens (connections, messages, processes exiting, the
//! timer, Ctrl-C) into run-core's inputs, and carries out its commands: messages to the nodes,
//! rows printed and written, faults fired, processes killed.

use std::time::Instant;

use quinn::VarInt;
use run_core::{Command, Input};
use wire::control::FromCoordinator;
use wire::results::Failure;

use super::slot::Slot;
use super::Driver;
use crate::events::{Event, Registered};

impl Driver {
    /// Runs until run-core says the run is over: `Ok` when it went well, the failure otherwise.
    pub(super) async fn drive(&mut self) -> Result<(), Failure> {
        loop {
            let input = tokio::select! {
                ev = self.events.recv() => match ev {
                    None => Input::Fatal("every node and the control endpoint are gone".into()),
                    Some(ev) => match self.input_of(ev) {
                        Some(input) => input,
                        None => continue,
                    },
                },
                _ = self.tick.tick() => Input::Tick,
                _ = &mut self.interrupt => Input::Interrupted,
            };
            self.take(input);
            if let Some(outcome) = self.outcome.take() {
                return outcome;
            }
        }
    }

    /// The input an event is, once what only the driver can do with it is done: a registration's
    /// connection is kept (or closed, when run-core refuses it); refusals are counted.
    fn input_of(&mut self, ev: Event) -> Option<Input> {
        match ev {
            Event::Registered(reg) => {
                self.registered(*reg);
                None
            }
            Event::Node { rank, msg } => Some(Input::Node { rank, msg }),
            Event::Lost { rank, error } => Some(Input::Lost { rank, error }),
            Event::Exited { rank, status } => {
                self.exited.insert(rank);
                Some(Input::Exited { rank, status })
            }
            Event::Refused { remote, reason } => {
                let line =
                    self.refused
                        .record("control connection", remote, &reason, Instant::now());
                if let Some(line) = line {
                    tracing::warn!("{line}");
                }
                None
            }
        }
    }

    fn registered(&mut self, reg: Registered) {
        let Registered {
            registration,
            conn,
            send,
        } = reg;
        let rank = registration.rank;
        let cmds = self
            .run
            .handle(Input::Registered(registration), Instant::now());
        if cmds.contains(&Command::Refuse { rank }) {
            tracing::warn!(
                rank,
                "refused a second registration for a rank already taken"
            );
            conn.close(VarInt::from_u32(0x52), b"rank already taken");
        } else if let Some(slot) = self.slots.get_mut(rank) {
            *slot = Some(Slot::new(conn, send));
        }
        self.execute(cmds);
    }

    /// Hands `input` to run-core and carries out what it says, and whatever follows from that.
    fn take(&mut self, input: Input) {
        let cmds = self.run.handle(input, Instant::now());
        self.execute(cmds);
    }

    fn execute(&mut self, cmds: Vec<Command>) {
        let mut follow: Vec<Input> = Vec::new();
        for cmd in cmds {
            if let Some(input) = self.carry_out(cmd) {
                follow.push(input);
            }
        }
        for input in follow {
            self.take(input);
        }
    }

    /// Carries out one command; an input when it could not be (a rank unreachable, a file not
    /// written).
    fn carry_out(&mut self, cmd: Command) -> Option<Input> {
        match cmd {
            Command::Send { rank, msg } => self.send(rank, msg),
            Command::Broadcast(msg) => self.broadcast(msg),
            Command::Refuse { .. } => None,
            Command::Started {
                hosts,
                channels,
                cores,
                poll_us,
            } => self.started(hosts, channels, cores, poll_us),
            Command::SizeStarted { size } => {
                let nodes = &self.nodes;
                let pid_of = |rank: usize| nodes.get(rank).and_then(|n| n.pid);
                for line in self.faults.size_started(size, &pid_of) {
                    self.println(&format!("# {line}"));
                }
                None
            }
            Command::Row(row) => self.emit(*row),
            Command::SweepDone => {
                let text = crate::compare::render(&self.writer.file.results);
                if !text.is_empty() {
                    self.println(&text);
                }
                None
            }
            Command::PingPongRow(row) => self.emit_pingpong(row),
            Command::Kill { rank } => {
                self.kill_rank(rank);
                None
            }
            Command::Failed(f) => {
                self.outcome = Some(Err(f));
                None
            }
            Command::Done => {
                self.outcome = Some(Ok(()));
                None
            }
        }
    }

    fn send(&mut self, rank: usize, msg: FromCoordinator) -> Option<Input> {
        let sent = self
            .slots
            .get(rank)
            .and_then(|s| s.as_ref())
            .is_some_and(|s| s.send(msg));
        (!sent).then_some(Input::Unreachable { rank })
    }

    /// Sends `msg` to every registered rank. Heartbeats and aborts are best effort; a rank that
    /// cannot take anything else is unreachable.
    fn broadcast(&mut self, msg: FromCoordinator) -> Option<Input> {
        let best_effort = matches!(
            msg,
            FromCoordinator::Heartbeat | FromCoordinator::Abort { .. }
        );
        let mut unreachable = None;
        for (rank, slot) in self.slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            if !slot.send(msg.clone()) && unreachable.is_none() {
                unreachable = Some(rank);
            }
        }
        unreachable
            .filter(|_| !best_effort)
            .map(|rank| Input::Unreachable { rank })
    }
}
