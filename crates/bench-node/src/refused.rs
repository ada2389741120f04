//! The connection attempts this node refused, over all its channels: logged at most once a
//! second per kind ([`transport::refusals`]) and counted for the coordinator (each heartbeat
//! carries the total), which records them with the run's results.

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use transport::refusals::Refusals;

/// One node is one process: its channels' refusals are counted together.
static REFUSED: Mutex<Refusals> = Mutex::new(Refusals::new());

/// Counts a refused data-plane connection from `remote`, and logs it when a line is due.
pub fn data_plane(remote: SocketAddr, why: &str) {
    let line = REFUSED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .record("data-plane connection", remote, why, Instant::now());
    if let Some(line) = line {
        tracing::warn!("{line}");
    }
}

/// Every refusal counted so far.
pub fn total() -> u64 {
    REFUSED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .total()
}

/// Logs what was refused since the last line (when the node stops).
pub fn flush() {
    let lines = REFUSED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .flush(Instant::now());
    for line in lines {
        tracing::warn!("{line}");
    }
}
