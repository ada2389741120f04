//! Why a run stopped, and who is to blame: the failure a run ends with names the culprit rank,
//! its host, the algorithm, size, iteration and step, and the ranks that were waiting for it.
//!
//! The culprit is the rank that exited, whose control connection broke, that stopped sending
//! heartbeats, or that the others' data-plane errors and heartbeats say they were waiting for;
//! never merely the rank that happened to report first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use topologies::layout::Layout;
use topologies::{pingpong, Collective, Schedule};
use wire::control::HEARTBEAT_INTERVAL_MS;

use crate::liveness::Silent;
use crate::lost::{self, At};
use crate::run::Run;
use crate::run_failure::{secs, RunFailure};

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

impl Run {
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
    pub(crate) fn blame(&self, rank: usize, what: &str) -> RunFailure {
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
        RunFailure {
            message: format!(
                "rank {rank} ({}) {what}{}{at}{waiters}",
                self.roster.describe(rank),
                self.epochs.during(epoch)
            ),
            rank: Some(rank),
            case: self.epochs.position(epoch).map(|(s, _, _, _)| s.case),
            size: self.epochs.size_at(epoch),
            step,
            waiting_ranks: waiting,
            unresponsive: false,
        }
    }

    /// A launched process exited; a node cut off from the coordinator gives up on its own, so
    /// a long silence before is said too.
    pub(crate) fn exited(&self, rank: usize, status: &str, now: Instant) -> RunFailure {
        let quiet = self
            .liveness
            .silent_for(rank, now)
            .filter(|d| d.as_millis() > 2 * u128::from(HEARTBEAT_INTERVAL_MS))
            .map(|d| format!(" after {} without a heartbeat", secs(d)))
            .unwrap_or_default();
        self.blame(rank, &format!("{status}{quiet}"))
    }

    /// A node's own failure report. A data-plane error names the peer it was waiting for or
    /// sending to: that peer is the culprit (a node that could still report has a working
    /// control path; the one it lost is the one gone), and the step the reporter was in.
    pub(crate) fn reported(
        &self,
        rank: usize,
        context: &str,
        error: &str,
        peer: Option<u32>,
        step: Option<u32>,
    ) -> RunFailure {
        let peer = peer
            .map(|p| p as usize)
            .filter(|&p| p < self.spec.nranks && p != rank);
        match peer {
            Some(culprit) => {
                let mut f = self.blame(
                    culprit,
                    &format!(
                        "is unreachable or failed (rank {rank}, {}, reports {context}: {error})",
                        self.roster.describe(rank)
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
                    self.roster.describe(rank),
                    // A data-plane context already says where; anything else gets the sweep's.
                    if step.is_some() {
                        String::new()
                    } else {
                        self.epochs.during(self.epoch_of(rank))
                    }
                );
                f
            }
        }
    }

    /// A rank that stopped sending heartbeats while the others did.
    pub(crate) fn silent_failure(&self, s: &Silent) -> RunFailure {
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

    /// Everyone alive, nothing moving: blame the link that lost a message, or else where the
    /// waits lead.
    pub(crate) fn stall_failure(&self, now: Instant, limit: Duration) -> RunFailure {
        let stalled = secs(self.liveness.since_progress(now));
        if let Some(f) = self.lost_message(&stalled, limit) {
            return f;
        }
        let stuck: Vec<usize> = (0..self.spec.nranks)
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
                let at: Vec<String> = (0..self.spec.nranks)
                    .map(|r| format!("rank {r} {}", self.liveness.describe(r)))
                    .collect();
                let mut f = RunFailure::new(format!(
                    "no rank made progress for {stalled} (limit {}){}: {}",
                    secs(limit),
                    self.epochs.during(self.epoch),
                    at.join("; ")
                ));
                f.case = self.epochs.position(self.epoch).map(|(s, _, _, _)| s.case);
                f.size = self.epochs.size_at(self.epoch);
                f
            }
        }
    }

    /// A rank waiting for a message its sender is already past: the link between them lost it.
    fn lost_message(&self, stalled: &str, limit: Duration) -> Option<RunFailure> {
        let p = self.spec.nranks;
        let at = |rank: usize| {
            let h = self.liveness.position(rank)?;
            Some(At {
                epoch: h.epoch,
                step: h.iteration.zip(h.step).map(|(i, s)| (i, s as usize)),
            })
        };
        let mut schedules: HashMap<u64, Option<Schedule>> = HashMap::new();
        for waiter in 0..p {
            let Some(waiter_at) = at(waiter).filter(|a| a.step.is_some()) else {
                continue;
            };
            let schedule = schedules
                .entry(waiter_at.epoch)
                .or_insert_with(|| self.schedule_at(waiter_at.epoch));
            let Some(schedule) = schedule.as_ref() else {
                continue;
            };
            let awaited = self.liveness.position(waiter)?.awaiting.clone();
            for sender in awaited.into_iter().map(|r| r as usize).filter(|&r| r < p) {
                let Some(sender_at) = at(sender) else {
                    continue;
                };
                if lost::already_sent(schedule, waiter, waiter_at, sender, sender_at) {
                    let mut f = self.blame(
                        sender,
                        &format!(
                            "sent rank {waiter} a message it never received (no rank made \
                             progress for {stalled}, limit {}): the link between them lost it",
                            secs(limit)
                        ),
                    );
                    f.waiting_ranks = vec![waiter];
                    f.step = waiter_at.step.map(|(_, s)| s as u32);
                    return Some(f);
                }
            }
        }
        None
    }

    /// The schedule the ranks run after barrier `epoch` (channel 0's part, the largest).
    fn schedule_at(&self, epoch: u64) -> Option<Schedule> {
        let s = &self.spec;
        let min = usize::try_from(s.channel_min_bytes).unwrap_or(usize::MAX);
        let first_part = |collective: Collective, elem: usize, size: u64| {
            let layout = Layout::for_size(collective, s.nranks, size, elem, s.root);
            let used = layout.channels_used(elem, self.channels as usize, min);
            layout.channel_count(used, 0)
        };
        match self.epochs.position(epoch) {
            Some((series, size, _, _)) => {
                let (case, elem) = (series.case, series.dtype.size());
                let count = first_part(case.collective, elem, size);
                let c = case.collective;
                c.build(case.algorithm, s.nranks, count, elem, &s.build, s.root)
                    .ok()
            }
            None => {
                let (size, _) = self.epochs.pingpong_position(epoch)?;
                let elem = s.dtype.size();
                let count = first_part(Collective::AllReduce, elem, size);
                Some(pingpong::schedule(s.nranks, count))
            }
        }
    }

    /// The ranks in `missing` did not do `what` within the set-up limit. One rank alone is
    /// unresponsive (stopped, or hung): it is killed rather than left to take the abort.
    pub(crate) fn missing_within(&self, missing: &[usize], what: &str) -> RunFailure {
        match missing {
            [one] => RunFailure {
                unresponsive: true,
                ..self.blame(*one, what)
            },
            many => RunFailure::new(format!("{} {what}", rank_list(many))),
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
