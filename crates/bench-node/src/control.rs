//! The node's end of the control connection.
//!
//! A writer task owns the send stream and a reader task the receive stream, so the node can do
//! three things at once: meet the others at barriers, send a [`Heartbeat`] every
//! [`HEARTBEAT_INTERVAL_MS`] (the coordinator's evidence that this node is alive, and where it
//! is), and notice an `Abort` while it is in the middle of a step.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use quinn::{Connection, RecvStream, SendStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use wire::control::{
    decode_from_coordinator, FromCoordinator, FromNode, Heartbeat, HEARTBEAT_INTERVAL_MS,
    MAX_AWAITED,
};

use crate::{control_io, NodeError};

/// Where this node is in the sweep; the heartbeat task reports it.
#[derive(Debug, Default)]
pub struct Position(Mutex<Heartbeat>);

impl Position {
    fn update(&self, f: impl FnOnce(&mut Heartbeat)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub fn snapshot(&self) -> Heartbeat {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Arrived at barrier `epoch`.
    pub fn at_barrier(&self, epoch: u64) {
        self.update(|h| {
            h.epoch = epoch;
            h.step = None;
            h.awaiting.clear();
        });
    }

    /// Began step `step`, which receives from `awaiting`.
    pub fn in_step(&self, step: usize, awaiting: impl Iterator<Item = usize>) {
        self.update(|h| {
            h.step = Some(u32::try_from(step).unwrap_or(u32::MAX));
            h.awaiting.clear();
            for peer in awaiting.take(MAX_AWAITED) {
                let peer = u32::try_from(peer).unwrap_or(u32::MAX);
                if !h.awaiting.contains(&peer) {
                    h.awaiting.push(peer);
                }
            }
        });
    }

    /// Finished the step it was in.
    pub fn step_done(&self) {
        self.update(|h| {
            h.steps_done += 1;
            h.awaiting.clear();
        });
    }
}

pub struct Control {
    conn: Connection,
    out: Option<mpsc::UnboundedSender<FromNode>>,
    inbox: mpsc::UnboundedReceiver<Result<FromCoordinator, NodeError>>,
    aborted: watch::Receiver<Option<String>>,
    writer: Option<JoinHandle<()>>,
    reader: JoinHandle<()>,
    heartbeat: Option<JoinHandle<()>>,
    pub position: Arc<Position>,
}

impl Control {
    /// Takes over a registered control stream.
    pub fn start(conn: Connection, mut send: SendStream, mut recv: RecvStream) -> Control {
        let (out, mut outbox) = mpsc::unbounded_channel::<FromNode>();
        let writer = tokio::spawn(async move {
            while let Some(msg) = outbox.recv().await {
                if control_io::send(&mut send, &msg).await.is_err() {
                    return;
                }
            }
            let _ = send.finish();
        });
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let (abort_tx, aborted) = watch::channel(None);
        let reader = tokio::spawn(async move {
            loop {
                let msg = match control_io::recv_payload(&mut recv).await {
                    Ok(Some(p)) => decode_from_coordinator(&p).map_err(NodeError::from),
                    Ok(None) => Err(NodeError::Coordinator("closed the control stream".into())),
                    Err(e) => Err(e),
                };
                let last = msg.is_err();
                if let Ok(FromCoordinator::Abort { reason }) = &msg {
                    let _ = abort_tx.send(Some(reason.clone()));
                }
                if inbox_tx.send(msg).is_err() || last {
                    return;
                }
            }
        });
        Control {
            conn,
            out: Some(out),
            inbox,
            aborted,
            writer: Some(writer),
            reader,
            heartbeat: None,
            position: Arc::new(Position::default()),
        }
    }

    /// Starts sending heartbeats.
    pub fn start_heartbeat(&mut self) {
        let (Some(out), None) = (self.out.clone(), &self.heartbeat) else {
            return;
        };
        let position = self.position.clone();
        self.heartbeat = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(HEARTBEAT_INTERVAL_MS));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if out.send(FromNode::Heartbeat(position.snapshot())).is_err() {
                    return;
                }
            }
        }));
    }

    pub fn send(&mut self, msg: FromNode) -> Result<(), NodeError> {
        self.out
            .as_ref()
            .and_then(|o| o.send(msg).ok())
            .ok_or_else(|| NodeError::Coordinator("the control stream is closed".into()))
    }

    pub async fn recv(&mut self) -> Result<FromCoordinator, NodeError> {
        match self.inbox.recv().await {
            Some(m) => m,
            None => Err(NodeError::Coordinator("closed the control stream".into())),
        }
    }

    /// Waits at barrier `epoch` until every rank has arrived.
    pub async fn barrier(&mut self, epoch: u64) -> Result<(), NodeError> {
        self.position.at_barrier(epoch);
        self.send(FromNode::Arrive { epoch })?;
        match self.recv().await? {
            FromCoordinator::Release { epoch: e } if e == epoch => Ok(()),
            FromCoordinator::Abort { reason } => Err(NodeError::Aborted(reason)),
            other => Err(NodeError::Coordinator(format!(
                "expected release of barrier {epoch}, got {other:?}"
            ))),
        }
    }

    /// Resolves when the coordinator aborts the run, whatever the node is doing.
    pub fn aborted(&self) -> impl std::future::Future<Output = NodeError> + 'static {
        let mut rx = self.aborted.clone();
        async move {
            loop {
                if let Some(reason) = rx.borrow_and_update().clone() {
                    return NodeError::Aborted(reason);
                }
                if rx.changed().await.is_err() {
                    // The reader is gone without an abort: never resolve; a lost connection
                    // is noticed by whoever watches it.
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Stops the heartbeat, sends what is queued, finishes the stream (waiting at most
    /// `limit`), then closes the connection.
    pub async fn close(mut self, limit: Duration) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        self.out = None;
        if let Some(w) = self.writer.take() {
            let _ = tokio::time::timeout(limit, w).await;
        }
        self.reader.abort();
        self.conn.close(0u32.into(), b"bye");
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        if let Some(w) = self.writer.take() {
            w.abort();
        }
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn position_follows_barriers_and_steps() {
        let p = Position::default();
        p.at_barrier(3);
        p.in_step(2, [1usize, 3, 1].into_iter());
        let h = p.snapshot();
        assert_eq!(
            (h.epoch, h.step, h.awaiting.clone()),
            (3, Some(2), vec![1, 3])
        );
        p.step_done();
        p.at_barrier(4);
        let h = p.snapshot();
        assert_eq!((h.epoch, h.step, h.steps_done), (4, None, 1));
        assert!(h.awaiting.is_empty());
        // Never more peers than a heartbeat may carry.
        p.in_step(0, 0..1000);
        assert_eq!(p.snapshot().awaiting.len(), MAX_AWAITED);
    }
}
