//! A registered rank's slot: who it is, and its control stream, written by a task of its own so
//! that the event loop never waits on a slow or stopped node. The coordinator's heartbeats go
//! the same way: nodes take a coordinator silent beyond their limit for gone.

use std::time::Instant;

use tokio::sync::mpsc;
use transport::control_io;
use wire::control::{FromCoordinator, HEARTBEAT_INTERVAL_MS};

use super::failure::RunFailure;
use super::Orchestrator;
use crate::channels::RankCpus;

pub(super) struct Slot {
    pub host: String,
    pub pid: u32,
    /// Where its control connection comes from, until its channels are open; then channel 0's
    /// data-plane address.
    pub data_addr: String,
    /// Every channel's data-plane address, once open.
    pub data_addrs: Vec<String>,
    pub cpus: RankCpus,
    pub conn: quinn::Connection,
    out: mpsc::UnboundedSender<FromCoordinator>,
}

impl Slot {
    pub fn new(
        host: String,
        pid: u32,
        data_addr: String,
        cpus: RankCpus,
        conn: quinn::Connection,
        mut send: quinn::SendStream,
    ) -> Slot {
        let (out, mut queue) = mpsc::unbounded_channel::<FromCoordinator>();
        tokio::spawn(async move {
            while let Some(msg) = queue.recv().await {
                // A write error is the connection's; the reader reports it as lost.
                if control_io::send(&mut send, &msg).await.is_err() {
                    return;
                }
            }
            let _ = send.finish();
        });
        Slot {
            host,
            pid,
            data_addr,
            data_addrs: Vec::new(),
            cpus,
            conn,
            out,
        }
    }

    /// Queues `msg`; false when the stream's writer has stopped.
    pub fn send(&self, msg: FromCoordinator) -> bool {
        self.out.send(msg).is_ok()
    }
}

impl Orchestrator {
    pub(super) fn broadcast(&mut self, msg: &FromCoordinator) -> Result<(), RunFailure> {
        for rank in 0..self.nranks {
            let Some(slot) = self.slots[rank].as_ref() else {
                continue;
            };
            if !slot.send(msg.clone()) {
                return Err(self.blame(rank, "cannot be reached (its control stream is closed)"));
            }
        }
        Ok(())
    }

    /// Sends every registered node a heartbeat when one is due.
    pub(super) fn beat(&mut self, now: Instant) {
        let due = now.saturating_duration_since(self.last_beat).as_millis()
            >= u128::from(HEARTBEAT_INTERVAL_MS);
        if due {
            self.last_beat = now;
            for slot in self.slots.iter().flatten() {
                slot.send(FromCoordinator::Heartbeat);
            }
        }
    }
}
