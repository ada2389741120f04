//! A node's channels, driven together: every job goes to the channels a size runs on, and the
//! first failure of any channel is the node's.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use wire::control::Plan;

use crate::channel::{Channel, ChannelStart, Job, Reply};
use crate::channel_work::{Measure, PingPong, Timed};
use crate::control::Position;
use crate::NodeError;
use transport::credentials::NodeCredentials;

pub struct ChannelSet {
    channels: Vec<Channel>,
    /// Tells every channel to drop its work and close (also when the set is dropped).
    stop: watch::Sender<bool>,
}

/// The timed iterations of one measurement over every channel it ran on.
#[derive(Debug)]
pub struct Merged {
    /// Each timed iteration's time: from the end of the iteration before (over all channels)
    /// to the end of this one, the first from when the channels began.
    pub iter_ns: Vec<u64>,
    /// CPU time of each channel's thread over the timed iterations, less its idle polling.
    pub cpu_ns: Vec<u64>,
    /// Time each channel's thread spent polling while nothing happened.
    pub poll_idle_ns: Vec<u64>,
    /// Time each channel's thread spent runnable but waiting for a core; empty where the
    /// kernel does not say for every thread.
    pub runq_wait_ns: Vec<u64>,
    /// Bytes the rank sends per iteration, over all channels.
    pub sent_bytes: u64,
}

impl ChannelSet {
    /// Starts `count` channels for rank `me`, each bound to `bind` (port chosen by the OS); with
    /// `cpus`, channel i's thread runs on CPU `cpus[i % len]` only.
    pub fn open(
        count: usize,
        me: usize,
        (bind, cpus): (IpAddr, &[u32]),
        credentials: &NodeCredentials,
        position: &Arc<Position>,
    ) -> Result<ChannelSet, NodeError> {
        let (stop, stopped) = watch::channel(false);
        let mut set = ChannelSet {
            channels: Vec::with_capacity(count),
            stop,
        };
        for index in 0..count {
            set.channels.push(Channel::start(ChannelStart {
                index,
                me,
                bind,
                cpu: (!cpus.is_empty()).then(|| cpus[index % cpus.len()]),
                credentials: credentials.clone(),
                position: position.clone(),
                stop: stopped.clone(),
            })?);
        }
        Ok(set)
    }

    pub fn len(&self) -> usize {
        self.channels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Every channel's data-plane address, in channel order.
    pub fn addrs(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.addr.to_string()).collect()
    }

    /// Connects every channel to `peers`.
    pub async fn connect(
        &self,
        plan: &Arc<Plan>,
        peers: &Arc<BTreeSet<usize>>,
        timeout: Duration,
    ) -> Result<(), NodeError> {
        self.on(self.len(), |reply| Job::Connect {
            plan: plan.clone(),
            peers: peers.clone(),
            timeout,
            reply,
        })
        .await
        .map(|_| ())
    }

    /// The warm-up and timed iterations of `m` on its channels.
    pub async fn timed(&self, m: &Arc<Measure>) -> Result<Merged, NodeError> {
        let per_channel = self
            .on(m.channels, |reply| Job::Timed {
                measure: m.clone(),
                reply,
            })
            .await?;
        Ok(merge(&per_channel, m.warmup_iters as usize))
    }

    /// The check iteration of `m`: wrong elements over its channels.
    pub async fn check(&self, m: &Arc<Measure>) -> Result<u64, NodeError> {
        let wrong = self
            .on(m.channels, |reply| Job::Check {
                measure: m.clone(),
                reply,
            })
            .await?;
        Ok(wrong.iter().sum())
    }

    /// One round trip of the ping-pong: from the first channel's start to the last one's end.
    pub async fn pingpong(&self, pp: &Arc<PingPong>) -> Result<Duration, NodeError> {
        let spans = self
            .on(pp.channels, |reply| Job::PingPong {
                pingpong: pp.clone(),
                reply,
            })
            .await?;
        let start = spans.iter().map(|s| s.0).min();
        let end = spans.iter().map(|s| s.1).max();
        Ok(match (start, end) {
            (Some(s), Some(e)) => e.saturating_duration_since(s),
            _ => Duration::ZERO,
        })
    }

    /// Closes every channel's connections (the peers are told) and waits for them, at most
    /// `limit`.
    pub async fn close(self, limit: Duration) {
        let _ =
            tokio::time::timeout(limit, self.on(self.len(), |reply| Job::Close { reply })).await;
    }

    /// Gives the first `n` channels the job `make` builds, and collects their answers in
    /// channel order; the first failure of any channel ends the wait.
    async fn on<T>(&self, n: usize, make: impl Fn(Reply<T>) -> Job) -> Result<Vec<T>, NodeError> {
        let n = n.min(self.channels.len());
        let (tx, mut rx) = mpsc::unbounded_channel();
        for c in &self.channels[..n] {
            c.send(make(tx.clone()))?;
        }
        drop(tx);
        let mut answers: Vec<Option<T>> = (0..n).map(|_| None).collect();
        for _ in 0..n {
            let (index, answer) = rx
                .recv()
                .await
                .ok_or_else(|| NodeError::Io("a channel stopped mid-job".into()))?;
            answers[index] = Some(answer?);
        }
        answers
            .into_iter()
            .enumerate()
            .map(|(i, a)| a.ok_or_else(|| NodeError::Io(format!("channel {i} did not answer"))))
            .collect()
    }
}

impl Drop for ChannelSet {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// One measurement's iteration times from every channel's: an iteration ends when its last
/// channel ends it, and is timed from the end of the one before (the first, from the earliest
/// start); the warm-up ones are dropped.
fn merge(per_channel: &[Timed], warmup: usize) -> Merged {
    let iterations = per_channel.iter().map(|t| t.ends.len()).min().unwrap_or(0);
    let mut last = per_channel
        .iter()
        .map(|t| t.start)
        .min()
        .unwrap_or_else(Instant::now);
    let mut iter_ns = Vec::with_capacity(iterations.saturating_sub(warmup));
    for i in 0..iterations {
        let Some(end) = per_channel.iter().map(|t| t.ends[i]).max() else {
            break;
        };
        if i >= warmup {
            let ns = end.saturating_duration_since(last).as_nanos();
            iter_ns.push(u64::try_from(ns).unwrap_or(u64::MAX));
        }
        last = end;
    }
    Merged {
        iter_ns,
        cpu_ns: per_channel.iter().map(|t| nanos(t.cpu)).collect(),
        poll_idle_ns: per_channel.iter().map(|t| nanos(t.idle)).collect(),
        runq_wait_ns: per_channel
            .iter()
            .map(|t| t.waited.map(nanos))
            .collect::<Option<Vec<u64>>>()
            .unwrap_or_default(),
        sent_bytes: per_channel.iter().map(|t| t.sent_bytes).sum(),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iteration_ends_with_its_last_channel_and_warm_up_is_dropped() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let a = Timed {
            start: ms(1),
            ends: vec![ms(10), ms(20), ms(30)],
            cpu: Duration::from_millis(5),
            idle: Duration::from_millis(1),
            waited: Some(Duration::from_millis(2)),
            sent_bytes: 100,
        };
        let b = Timed {
            start: ms(0),
            ends: vec![ms(12), ms(19), ms(35)],
            cpu: Duration::from_millis(7),
            idle: Duration::ZERO,
            waited: Some(Duration::ZERO),
            sent_bytes: 60,
        };
        let m = merge(&[a, b], 1);
        // Iteration 1 ends at 20 (the later channel), timed from 12; iteration 2 from 20 to 35.
        assert_eq!(m.iter_ns, vec![8_000_000, 15_000_000]);
        assert_eq!(m.cpu_ns, vec![5_000_000, 7_000_000]);
        assert_eq!(m.poll_idle_ns, vec![1_000_000, 0]);
        assert_eq!(m.runq_wait_ns, vec![2_000_000, 0]);
        assert_eq!(m.sent_bytes, 160);
        // Without warm-up, the first is timed from the earliest start.
        let c = Timed {
            start: ms(2),
            ends: vec![ms(9)],
            cpu: Duration::ZERO,
            idle: Duration::ZERO,
            waited: None,
            sent_bytes: 0,
        };
        let m = merge(&[c], 0);
        assert_eq!(m.iter_ns, vec![7_000_000]);
        // A thread the kernel says nothing about leaves the whole rank's wait unknown.
        assert!(m.runq_wait_ns.is_empty());
    }
}
