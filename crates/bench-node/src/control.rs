//! The node's end of the control connection.
//!
//! A writer task owns the send stream and a reader task the receive stream, so the node can do
//! four things at once: meet the others at barriers, send a [`Heartbeat`] every
//! [`HEARTBEAT_INTERVAL_MS`] (the coordinator's evidence that this node is alive, and where it
//! is), notice an `Abort` while it is in the middle of a step, and notice that the coordinator
//! has gone silent (killed, or this node cut off): [`Control::coordinator_gone`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use quinn::{Connection, RecvStream, SendStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use transport::control_io;
use wire::control::{
    decode_from_coordinator, FromCoordinator, FromNode, Heartbeat, COORDINATOR_SILENCE_MIN_MS,
    HEARTBEAT_INTERVAL_MS, MAX_AWAITED,
};

use crate::NodeError;

/// The coordinator is gone when silent this long at least (a little longer than the
/// coordinator waits for a node, so that a node cut off is named by the coordinator for its
/// silence before the node gives up)...
pub const MIN_SILENCE: Duration = Duration::from_millis(COORDINATOR_SILENCE_MIN_MS);
/// ... and at least this many times the largest gap seen between two of its messages.
pub const GAP_FACTOR: u32 = 4;
/// Before its first message, the coordinator gets this long from the control connection's start
/// (registering 32 ranks on a loaded machine takes a while).
pub const FIRST_MESSAGE_LIMIT: Duration = Duration::from_secs(10);
/// A pause of this node itself (not scheduled) longer than this is not held against the
/// coordinator.
const PAUSE: Duration = Duration::from_secs(1);

/// When the coordinator was last heard from, and the largest gap between two of its messages.
#[derive(Debug)]
struct Heard {
    /// When the control connection was taken over.
    started: Instant,
    last: Option<Instant>,
    max_gap: Duration,
}

impl Heard {
    fn heard(&mut self, now: Instant) {
        if let Some(prev) = self.last {
            self.max_gap = self.max_gap.max(now.saturating_duration_since(prev));
        }
        self.last = Some(now);
    }

    fn limit(&self) -> Duration {
        let beat = Duration::from_millis(HEARTBEAT_INTERVAL_MS);
        MIN_SILENCE.max(self.max_gap.max(beat) * GAP_FACTOR)
    }

    fn new(started: Instant) -> Heard {
        Heard {
            started,
            last: None,
            max_gap: Duration::ZERO,
        }
    }

    /// How long the coordinator has been silent beyond its limit, if it has.
    fn overdue(&self, now: Instant) -> Option<(Duration, Duration)> {
        let (since, limit) = match self.last {
            Some(t) => (t, self.limit()),
            None => (self.started, FIRST_MESSAGE_LIMIT),
        };
        let silent = now.saturating_duration_since(since);
        (silent > limit).then_some((silent, limit))
    }

    /// This node was not scheduled for `pause`: the coordinator's silence over it is forgiven.
    fn paused(&mut self, pause: Duration, now: Instant) {
        let t = self.last.as_mut().unwrap_or(&mut self.started);
        *t = (*t + pause).min(now);
    }
}

/// Where this node is in the sweep; the heartbeat task reports it.
///
/// Each channel runs its own program, so each says which step it is in; the heartbeat names the
/// channel furthest behind (the lowest step: within an iteration the channels meet at its end,
/// so none is an iteration ahead), which is the one the iteration waits for.
#[derive(Debug, Default)]
pub struct Position(Mutex<Where>);

#[derive(Debug, Default)]
struct Where {
    epoch: u64,
    steps_done: u64,
    /// Per channel: the step it is in and the peers that step receives from; `None` between
    /// steps.
    channels: Vec<Option<(u32, Vec<u32>)>>,
    /// Per channel: the iteration after the barrier it is in.
    iterations: Vec<u32>,
}

impl Position {
    fn update(&self, f: impl FnOnce(&mut Where)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub fn snapshot(&self) -> Heartbeat {
        let w = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let behind = w
            .channels
            .iter()
            .enumerate()
            .filter_map(|(k, c)| Some((k, c.as_ref()?)))
            .min_by_key(|(_, (step, _))| *step);
        Heartbeat {
            epoch: w.epoch,
            step: behind.map(|(_, (step, _))| *step),
            iteration: behind.map(|(k, _)| w.iterations.get(k).copied().unwrap_or(0)),
            awaiting: behind.map(|(_, (_, a))| a.clone()).unwrap_or_default(),
            steps_done: w.steps_done,
            refused: 0,
        }
    }

    /// Arrived at barrier `epoch`.
    pub fn at_barrier(&self, epoch: u64) {
        self.update(|w| {
            w.epoch = epoch;
            w.channels.iter_mut().for_each(|c| *c = None);
            w.iterations.iter_mut().for_each(|i| *i = 0);
        });
    }

    /// Channel `channel` begins iteration `it` after the barrier.
    pub fn iteration(&self, channel: usize, it: u32) {
        self.update(|w| {
            if w.iterations.len() <= channel {
                w.iterations.resize(channel + 1, 0);
            }
            w.iterations[channel] = it;
        });
    }

    /// Channel `channel` began step `step`, which receives from `awaiting`.
    pub fn in_step(&self, channel: usize, step: usize, awaiting: impl Iterator<Item = usize>) {
        let step = u32::try_from(step).unwrap_or(u32::MAX);
        let mut peers: Vec<u32> = Vec::new();
        for peer in awaiting {
            let peer = u32::try_from(peer).unwrap_or(u32::MAX);
            if peers.len() == MAX_AWAITED {
                break;
            }
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
        self.update(|w| {
            if w.channels.len() <= channel {
                w.channels.resize(channel + 1, None);
            }
            w.channels[channel] = Some((step, peers));
        });
    }

    /// Channel `channel` finished the step it was in.
    pub fn step_done(&self, channel: usize) {
        self.update(|w| {
            w.steps_done += 1;
            if let Some(c) = w.channels.get_mut(channel) {
                *c = None;
            }
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
    heard: Arc<Mutex<Heard>>,
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
        let heard = Arc::new(Mutex::new(Heard::new(Instant::now())));
        let heard_by_reader = heard.clone();
        let reader = tokio::spawn(async move {
            loop {
                let msg = match control_io::recv_payload(&mut recv).await {
                    Ok(Some(p)) => decode_from_coordinator(&p).map_err(NodeError::from),
                    Ok(None) => Err(NodeError::Coordinator("closed the control stream".into())),
                    Err(e) => Err(NodeError::from(e)),
                };
                if msg.is_ok() {
                    heard_by_reader
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .heard(Instant::now());
                }
                if let Ok(FromCoordinator::Heartbeat) = msg {
                    continue;
                }
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
            heard,
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
                let beat = Heartbeat {
                    refused: crate::refused::total(),
                    ..position.snapshot()
                };
                if out.send(FromNode::Heartbeat(beat)).is_err() {
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

    /// Resolves when the coordinator, once heard from, has been silent beyond its limit:
    /// killed, or this node's link is down. The limit follows the largest gap seen between its
    /// messages, and a pause of this node itself is not counted.
    pub fn coordinator_gone(&self) -> impl std::future::Future<Output = NodeError> + 'static {
        let heard = self.heard.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_tick = Instant::now();
            loop {
                tick.tick().await;
                let now = Instant::now();
                let mut h = heard.lock().unwrap_or_else(PoisonError::into_inner);
                let pause = now.saturating_duration_since(last_tick);
                if pause > PAUSE {
                    h.paused(pause, now);
                }
                last_tick = now;
                if let Some((silent, limit)) = h.overdue(now) {
                    return NodeError::CoordinatorGone(format!(
                        "silent for {:.1} s (limit {:.1} s)",
                        silent.as_secs_f64(),
                        limit.as_secs_f64()
                    ));
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
    fn a_coordinator_silent_beyond_its_limit_is_gone_unless_this_node_paused() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut h = Heard::new(t0);
        // Never heard from: the first message gets longer.
        assert_eq!(h.overdue(t0 + s(9)), None);
        assert!(h.overdue(t0 + s(11)).is_some());
        h.heard(t0);
        h.heard(t0 + Duration::from_millis(500));
        assert_eq!(h.limit(), MIN_SILENCE);
        assert_eq!(h.overdue(t0 + s(4)), None);
        assert!(h.overdue(t0 + s(5)).is_some());
        // This node was not scheduled for 10 s: that silence is its own.
        h.paused(s(10), t0 + s(11));
        assert_eq!(h.overdue(t0 + s(11)), None);
        // Late heartbeats stretch the limit.
        h.heard(t0 + s(13));
        // (last taken as 10.5 s after the pause, heard at 13 s: a 2.5 s gap.)
        assert_eq!(h.limit(), s(10));
    }

    #[test]
    fn position_follows_barriers_and_steps() {
        let p = Position::default();
        p.at_barrier(3);
        p.in_step(0, 2, [1usize, 3, 1].into_iter());
        let h = p.snapshot();
        assert_eq!(
            (h.epoch, h.step, h.awaiting.clone()),
            (3, Some(2), vec![1, 3])
        );
        p.step_done(0);
        p.at_barrier(4);
        let h = p.snapshot();
        assert_eq!((h.epoch, h.step, h.steps_done), (4, None, 1));
        assert!(h.awaiting.is_empty());
        // Never more peers than a heartbeat may carry.
        p.in_step(0, 0, 0..1000);
        assert_eq!(p.snapshot().awaiting.len(), MAX_AWAITED);
    }

    #[test]
    fn the_heartbeat_names_the_channel_furthest_behind() {
        let p = Position::default();
        p.at_barrier(1);
        p.in_step(0, 5, [2usize].into_iter());
        p.in_step(2, 3, [1usize].into_iter());
        let h = p.snapshot();
        assert_eq!((h.step, h.awaiting.clone()), (Some(3), vec![1]));
        // Channel 2 done with its step and between steps: channel 0 is the one in a step.
        p.step_done(2);
        let h = p.snapshot();
        assert_eq!((h.step, h.awaiting, h.steps_done), (Some(5), vec![2], 1));
    }
}
