//! Waiting for the next event, with the deadlines that end a run that would otherwise hang.
//!
//! Heartbeats are taken here and never reach the phases. Before the sweep a fixed limit bounds
//! the wait (registration); in the sweep the liveness watch decides, on a timer tick: a rank
//! silent beyond the silence limit, or no progress beyond the progress limit, ends the run with
//! the culprit named.

use std::time::{Duration, Instant};

use wire::FromNode;

use super::failure::RunFailure;
use super::Orchestrator;
use crate::events::Event;

/// How often the liveness watch looks.
pub(super) const TICK: Duration = Duration::from_millis(250);

/// What bounds a wait.
pub(super) enum Deadline<'a> {
    /// This long in all; the closure makes the failure (it is given the limit).
    Fixed(Duration, &'a dyn Fn(&Orchestrator, Duration) -> RunFailure),
    /// The liveness watch.
    Liveness,
}

impl Orchestrator {
    pub(super) async fn next_event(&mut self, deadline: Deadline<'_>) -> Result<Event, RunFailure> {
        let start = Instant::now();
        loop {
            tokio::select! {
                ev = self.events.recv() => {
                    let ev = ev.ok_or_else(|| {
                        RunFailure::new("every node and the control endpoint are gone")
                    })?;
                    if let Event::Node { rank, msg } = &ev {
                        let now = Instant::now();
                        self.liveness.heard(*rank, now);
                        if let FromNode::Heartbeat(h) = msg {
                            self.liveness.heartbeat(*rank, h.clone(), now);
                            continue;
                        }
                    }
                    return Ok(ev);
                }
                _ = self.tick.tick() => {
                    let now = Instant::now();
                    self.liveness.tick(now);
                    self.beat(now);
                    match &deadline {
                        Deadline::Fixed(limit, failure) => {
                            if now.duration_since(start) > *limit {
                                return Err(failure(self, *limit));
                            }
                        }
                        Deadline::Liveness => self.check_liveness(now)?,
                    }
                }
                _ = &mut self.interrupt => return Err(RunFailure::new("interrupted (Ctrl-C)")),
            }
        }
    }

    fn check_liveness(&self, now: Instant) -> Result<(), RunFailure> {
        let size = self.size_at(self.epoch.max(1)).unwrap_or(0);
        if let Some(s) = self.liveness.silent(now, size) {
            return Err(self.silent_failure(&s));
        }
        let limit = self.liveness.progress_limit(self.opts.stall_timeout, size);
        if self.liveness.since_progress(now) > limit {
            return Err(self.stall_failure(now, limit));
        }
        Ok(())
    }
}
