//! What goes into a run ([`Input`]) and what comes out ([`Command`]).

use std::collections::BTreeSet;

use wire::control::FromCoordinator;
use wire::results::{Failure, PingPongRow, RankHost, ResultRow};
use wire::FromNode;

/// A node that passed the control endpoint's checks (its certificate, the run's token) and
/// registered.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub rank: usize,
    pub host: String,
    pub pid: u32,
    pub data_addr: String,
    pub cpus: BTreeSet<u32>,
    pub machine: String,
    pub cpu_quota: Option<f64>,
    /// What the node could read of its host, for the results.
    pub facts: wire::control::HostFacts,
}

/// Something that happened; the driver passes each with the time it happened at.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Registered(Registration),
    /// A message from a registered rank.
    Node {
        rank: usize,
        msg: FromNode,
    },
    /// A registered rank's control stream broke or carried garbage.
    Lost {
        rank: usize,
        error: String,
    },
    /// A launched process exited (`status` says how).
    Exited {
        rank: usize,
        status: String,
    },
    /// A rank's control stream cannot take a message any more.
    Unreachable {
        rank: usize,
    },
    /// The timer: liveness, deadlines and the coordinator's own heartbeats are judged here.
    Tick,
    /// Ctrl-C.
    Interrupted,
    /// Something the driver cannot go on without failed (writing the results, say).
    Fatal(String),
}

/// What the driver is to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send `msg` to `rank`.
    Send { rank: usize, msg: FromCoordinator },
    /// Send `msg` to every registered rank.
    Broadcast(FromCoordinator),
    /// Close the connection of a second registration for `rank`, already taken.
    Refuse { rank: usize },
    /// Every rank registered and opened its channels: where each runs, the channels, the cores
    /// each was given and how long the ranks poll; the sweep begins.
    Started {
        hosts: Vec<RankHost>,
        channels: u32,
        cores: Vec<f64>,
        poll_us: u32,
    },
    /// A size of the sweep starts (its first barrier was released): the `--fault` hooks for it.
    SizeStarted { size: u64 },
    /// A measured row of the sweep.
    Row(Box<ResultRow>),
    /// The sweep's last row is out.
    SweepDone,
    /// A measured size of the ping-pong.
    PingPongRow(PingPongRow),
    /// Kill `rank`'s process now: it does not respond, so it would not take an abort.
    Kill { rank: usize },
    /// The run failed: what to record and say. An abort was broadcast first.
    Failed(Failure),
    /// The run is over and every rank was told.
    Done,
}
