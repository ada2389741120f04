//! What the coordinator's event loop reacts to.

use std::net::SocketAddr;

use quinn::{Connection, SendStream};
use run_core::Registration;
use wire::FromNode;

/// A node that passed registration (right CA, its own pinned certificate, the run's token):
/// what it said, for run-core, and its control connection, for the driver.
pub struct Registered {
    pub registration: Registration,
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
