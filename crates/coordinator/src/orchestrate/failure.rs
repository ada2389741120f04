//! Why a run stopped, and who is to blame: the failure a run ends with names the culprit rank,
//! its host, the algorithm, size, iteration and step, and the ranks that were waiting for it.
//!
//! The culprit is the rank that exited, whose control connection broke, that stopped sending
//! heartbeats, or that the others' data-plane errors and heartbeats say they were waiting for;
//! never merely the rank that happened to report first.

use std::time::{Duration, Instant};

use topologies::pingpong::{PING, PONG};
use topologies::Algorithm;
use tracing::warn;
use wire::control::{Placement, BARRIERS_PER_MEASUREMENT, HEARTBEAT_INTERVAL_MS};
use wire::results::Failure;
use wire::FromNode;

use super::liveness::Silent;
use super::Orchestrator;
use crate::events::Event;

/// Why a run stopped, with whatever is known of where.
#[derive(Debug, Default)]
pub(super) struct RunFailure {
    pub message: String,
    pub rank: Option<usize>,
    pub algorithm: Option<Algorithm>,
    pub size: Option<u64>,
    /// The step the run stopped at (the culprit's, or that of the ranks waiting for it).
    pub step: Option<u32>,
    /// Ranks that were waiting for the culprit.
    pub waiting_ranks: Vec<usize>,
    /// The culprit does not respond (stopped, or cut off): kill it at once rather than wait for
    /// it to take the abort.
    pub unresponsive: bool,
}

impl RunFailure {
    pub fn new(message: impl Into<String>) -> Self {
        RunFailure {
            message: message.into(),
            ..Default::default()
        }
    }
}

pub(super) fn placement_name(p: Placement) -> &'static str {
    match p {
        Placement::OutOfPlace => "out-of-place",
        Placement::InPlace => "in-place",
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn rank_list(ranks: &[usize]) -> String {
    match ranks {
        [one] => format!("rank {one}"),
        many => format!(
            "ranks {}",
            many.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Orchestrator {
    pub(super) fn host_of(&self, rank: usize) -> String {
        self.slots
            .get(rank)
            .and_then(|s| s.as_ref())
            .map(|s| format!("host {}, pid {}", s.host, s.pid))
            .or_else(|| {
                self.nodes
                    .get(rank)
                    .and_then(|n| n.pid)
                    .map(|pid| format!("pid {pid}"))
            })
            .unwrap_or_else(|| "not registered".into())
    }

    /// Which algorithm, size, placement and barrier of it (0: before the timed iterations, 1:
    /// before the check) barrier `epoch` is.
    pub(super) fn position(&self, epoch: u64) -> Option<(Algorithm, u64, Placement, u64)> {
        let per = BARRIERS_PER_MEASUREMENT;
        let idx = epoch.checked_sub(1)? / per;
        let barrier = (epoch - 1) % per;
        let placement = Placement::BOTH[(idx % 2) as usize];
        let size_idx = (idx / 2) as usize % self.opts.sizes.len();
        let algo_idx = (idx / 2) as usize / self.opts.sizes.len();
        Some((
            *self.opts.algorithms.get(algo_idx)?,
            self.opts.sizes[size_idx],
            placement,
            barrier,
        ))
    }

    /// The size barrier `epoch` is for, in the sweep or the ping-pong.
    pub(super) fn size_at(&self, epoch: u64) -> Option<u64> {
        match self.position(epoch) {
            Some((_, size, _, _)) => Some(size),
            None => self.pingpong_position(epoch).map(|(size, _)| size),
        }
    }

    /// " during ring 16384 bytes out-of-place (timed iterations)", " during the ping-pong (rank 0
    /// <-> 1) 16384 bytes iteration 0", or " before the sweep started".
    fn during(&self, epoch: u64) -> String {
        if let Some((a, s, pl, barrier)) = self.position(epoch) {
            let phase = if barrier == 0 {
                "timed iterations"
            } else {
                "check"
            };
            return format!(" during {a} {s} bytes {} ({phase})", placement_name(pl));
        }
        match self.pingpong_position(epoch) {
            Some((s, it)) => {
                format!(" during the ping-pong (rank {PING} <-> {PONG}) {s} bytes iteration {it}")
            }
            None => " before the sweep started".into(),
        }
    }

    /// The barrier `rank` last reached, as its heartbeat says; the run's latest otherwise.
    fn epoch_of(&self, rank: usize) -> u64 {
        self.liveness
            .position(rank)
            .map(|h| h.epoch)
            .filter(|&e| e > 0)
            .unwrap_or(self.epoch)
    }

    /// A failure blamed on `rank`: "rank R (host H, pid P) WHAT during ALGO SIZE bytes
    /// PLACEMENT iteration I, at step S, waiting for rank Q; rank X (at step T, waiting for rank
    /// R) was waiting for it".
    pub(super) fn blame(&self, rank: usize, what: &str) -> RunFailure {
        let epoch = self.epoch_of(rank);
        let own = self.liveness.position(rank);
        let at = match own {
            Some(h) if h.step.is_some() || h.epoch > 0 => {
                format!(", {}", self.liveness.describe(rank))
            }
            _ => String::new(),
        };
        let waiting = self.liveness.waiting_for(rank);
        let described = |w: &usize| format!("{w} ({})", self.liveness.describe(*w));
        let waiters = match waiting.as_slice() {
            [] => String::new(),
            [one] => format!("; rank {} was waiting for it", described(one)),
            many => format!(
                "; ranks {} were waiting for it",
                many.iter().map(described).collect::<Vec<_>>().join(", ")
            ),
        };
        let step = own
            .and_then(|h| h.step)
            .or_else(|| self.liveness.position(*waiting.first()?)?.step);
        let algorithm = self.position(epoch).map(|(a, _, _, _)| a);
        let size = self.size_at(epoch);
        RunFailure {
            message: format!(
                "rank {rank} ({}) {what}{}{at}{waiters}",
                self.host_of(rank),
                self.during(epoch)
            ),
            rank: Some(rank),
            algorithm,
            size,
            step,
            waiting_ranks: waiting,
            unresponsive: false,
        }
    }

    pub(super) fn failure_record(&self, f: &RunFailure) -> Failure {
        Failure {
            message: f.message.clone(),
            rank: f.rank,
            host: f
                .rank
                .and_then(|r| self.slots.get(r)?.as_ref().map(|s| s.host.clone())),
            algorithm: f.algorithm,
            size: f.size,
            step: f.step,
            waiting_ranks: f.waiting_ranks.clone(),
        }
    }

    /// Handles the events that mean the same in every phase; returns the others.
    pub(super) fn common(&mut self, ev: Event) -> Result<Option<Event>, RunFailure> {
        match ev {
            Event::Refused { remote, reason } => {
                let line =
                    self.refused
                        .record("control connection", remote, &reason, Instant::now());
                if let Some(line) = line {
                    warn!("{line}");
                }
                Ok(None)
            }
            Event::Exited { rank, status } => {
                self.exited.insert(rank);
                // A node cut off from the coordinator gives up on its own: say it went quiet.
                let quiet = self
                    .liveness
                    .silent_for(rank, Instant::now())
                    .filter(|d| d.as_millis() > 2 * u128::from(HEARTBEAT_INTERVAL_MS))
                    .map(|d| format!(" after {} without a heartbeat", secs(d)))
                    .unwrap_or_default();
                Err(self.blame(rank, &format!("{status}{quiet}")))
            }
            Event::Lost { rank, error } => {
                Err(self.blame(rank, &format!("lost its control connection ({error})")))
            }
            Event::Node {
                rank,
                msg:
                    FromNode::Failed {
                        context,
                        error,
                        peer,
                        step,
                    },
            } => Err(self.reported(rank, &context, &error, peer, step)),
            other => Ok(Some(other)),
        }
    }

    /// A node's own failure report. A data-plane error names the peer it was waiting for or
    /// sending to: that peer is the culprit (a node that could still report has a working
    /// control path; the one it lost is the one gone), and the step the reporter was in.
    fn reported(
        &self,
        rank: usize,
        context: &str,
        error: &str,
        peer: Option<u32>,
        step: Option<u32>,
    ) -> RunFailure {
        let peer = peer
            .map(|p| p as usize)
            .filter(|&p| p < self.nranks && p != rank);
        match peer {
            Some(culprit) => {
                let mut f = self.blame(
                    culprit,
                    &format!(
                        "is unreachable or failed (rank {rank}, {}, reports {context}: {error})",
                        self.host_of(rank)
                    ),
                );
                if !f.waiting_ranks.contains(&rank) {
                    f.waiting_ranks.push(rank);
                    f.waiting_ranks.sort_unstable();
                }
                f.step = f.step.or(step);
                f
            }
            None => {
                let mut f = self.blame(rank, "failed");
                f.message = format!(
                    "rank {rank} ({}) failed: {context}: {error}{}",
                    self.host_of(rank),
                    // A data-plane context already says where; anything else gets the sweep's.
                    if step.is_some() {
                        String::new()
                    } else {
                        self.during(self.epoch_of(rank))
                    }
                );
                f
            }
        }
    }

    /// A rank that stopped sending heartbeats while the others did.
    pub(super) fn silent_failure(&self, s: &Silent) -> RunFailure {
        let mut f = self.blame(
            s.rank,
            &format!(
                "stopped responding (no heartbeat for {}, limit {})",
                secs(s.silent_for),
                secs(s.limit)
            ),
        );
        f.unresponsive = true;
        f
    }

    /// Everyone alive, nothing moving: blame where the waits lead.
    pub(super) fn stall_failure(&self, now: Instant, limit: Duration) -> RunFailure {
        let stalled = secs(self.liveness.since_progress(now));
        let stuck: Vec<usize> = (0..self.nranks)
            .filter(|&r| self.liveness.position(r).is_some_and(|h| h.step.is_some()))
            .collect();
        match self.liveness.culprit(&stuck) {
            Some(c) => self.blame(
                c,
                &format!(
                    "holds the run up (no rank made progress for {stalled}, limit {})",
                    secs(limit)
                ),
            ),
            None => {
                let at: Vec<String> = (0..self.nranks)
                    .map(|r| format!("rank {r} {}", self.liveness.describe(r)))
                    .collect();
                let mut f = RunFailure::new(format!(
                    "no rank made progress for {stalled} (limit {}){}: {}",
                    secs(limit),
                    self.during(self.epoch),
                    at.join("; ")
                ));
                f.algorithm = self.position(self.epoch).map(|(a, _, _, _)| a);
                f.size = self.size_at(self.epoch);
                f
            }
        }
    }

    /// Registration timed out: the ranks that did not register are named.
    pub(super) fn unregistered(&self, missing: &[usize], limit: Duration) -> RunFailure {
        self.missing_within(missing, &format!("did not register within {}", secs(limit)))
    }

    pub(super) fn channels_not_open(&self, missing: &[usize], limit: Duration) -> RunFailure {
        let text = format!("did not open its channels within {}", secs(limit));
        self.missing_within(missing, &text)
    }

    fn missing_within(&self, missing: &[usize], text: &str) -> RunFailure {
        match missing {
            [one] => self.blame(*one, text),
            many => RunFailure::new(format!("{} {text}", rank_list(many))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_lists_read_as_words() {
        assert_eq!(rank_list(&[1, 3]), "ranks 1, 3");
        assert_eq!(rank_list(&[2]), "rank 2");
    }
}
