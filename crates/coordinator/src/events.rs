//! What the coordinator's event loop reacts to.

use std::net::SocketAddr;

use quinn::{Connection, SendStream};
use wire::FromNode;

/// A node that passed registration: right CA, its own pinned certificate, the run's token.
pub struct Registered {
    pub rank: usize,
    pub host: String,
    pub pid: u32,
    pub data_addr: String,
    /// The CPUs it may run on, parsed from its registration.
    pub cpus: std::collections::BTreeSet<u32>,
    pub machine: String,
    pub cpu_quota: Option<f64>,
    pub conn: Connection,
    pub send: SendStream,
}

pub enum Event {
    Registered(Box<Registered>),
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
    /// A launched process exited.
    Exited {
        rank: usize,
        status: String,
    },
    /// A connection or registration that was refused (an intruder, or a stray process).
    Refused {
        remote: SocketAddr,
        reason: String,
    },
}
