//! Who is alive, and who holds the run up.
//!
//! Every registered node sends a heartbeat each [`HEARTBEAT_INTERVAL_MS`] saying where it is (the
//! barrier it last reached, the step it is in, the ranks that step waits for, how many steps it
//! has finished). From them this module derives two deadlines, both following what was measured
//! in this run rather than a fixed number:
//!
//! - **silence**: a rank not heard from for [`Liveness::silence_limit`] while the others are is
//!   dead, stopped or cut off. The limit is a few seconds, stretched by the largest gap the
//!   coordinator has seen between two messages of one rank (an oversubscribed machine delays
//!   heartbeats, and the limit grows with it) and by the size being run (a node fills and checks
//!   its buffer without yielding).
//! - **progress**: no rank finished a step, reached a barrier or reported for
//!   [`Liveness::progress_limit`] while every rank is heard from: the run is stuck. The limit is
//!   the larger of `--timeout` and ten times the iteration time measured at the last size, scaled
//!   to the current size.
//!
//! The culprit is the rank that the others wait for: follow "waits for" from any waiting rank
//! until a rank that waits for no one (or for itself, round a cycle).
//!
//! Pure: time comes in as [`Instant`]s, so all of it is tested without a network.

use std::time::{Duration, Instant};

use wire::control::{Heartbeat, HEARTBEAT_INTERVAL_MS};

/// A rank is declared silent after at least this long.
pub const MIN_SILENCE: Duration = Duration::from_secs(3);
/// ... and at least this many times the largest gap seen between two messages of one rank.
pub const GAP_FACTOR: u32 = 4;
/// Bytes per second a node is assumed to fill, reduce or check its buffer at, at the least,
/// while it does not yield: silence allowed grows by size / this. A debug build on this 2-core
/// machine under load went 15.7 s without a heartbeat at 256 MiB (about 17 MB/s); this leaves
/// room for a machine twice as busy.
pub const SLOWEST_FILL_BYTES_PER_S: f64 = 10e6;
/// The progress limit is at least this many measured iteration times.
pub const ITERATIONS_OF_PATIENCE: u32 = 10;
/// A pause of the coordinator itself longer than this (it was not scheduled) is not held
/// against the nodes.
pub const PAUSE: Duration = Duration::from_secs(1);

/// What a silent rank's last heartbeat and the others' say.
#[derive(Debug, Clone, PartialEq)]
pub struct Silent {
    pub rank: usize,
    pub silent_for: Duration,
    pub limit: Duration,
}

pub struct Liveness {
    last_heard: Vec<Option<Instant>>,
    position: Vec<Option<Heartbeat>>,
    max_gap: Duration,
    last_progress: Instant,
    last_tick: Instant,
    /// The last barrier release: its instant and size.
    last_release: Option<(Instant, u64)>,
    /// The latest iteration measured: size and time from release to release.
    iteration: Option<(u64, Duration)>,
}

impl Liveness {
    pub fn new(nranks: usize, now: Instant) -> Liveness {
        Liveness {
            last_heard: vec![None; nranks],
            position: vec![None; nranks],
            max_gap: Duration::from_millis(HEARTBEAT_INTERVAL_MS),
            last_progress: now,
            last_tick: now,
            last_release: None,
            iteration: None,
        }
    }

    /// Any message from `rank`.
    pub fn heard(&mut self, rank: usize, now: Instant) {
        let Some(slot) = self.last_heard.get_mut(rank) else {
            return;
        };
        if let Some(prev) = *slot {
            self.max_gap = self.max_gap.max(now.saturating_duration_since(prev));
        }
        *slot = Some(now);
    }

    /// A heartbeat from `rank`: where it is; progress when it finished a step since the last.
    pub fn heartbeat(&mut self, rank: usize, hb: Heartbeat, now: Instant) {
        let Some(slot) = self.position.get_mut(rank) else {
            return;
        };
        let before = slot.as_ref().map_or(0, |h| h.steps_done);
        if hb.steps_done > before {
            self.last_progress = now;
        }
        *slot = Some(hb);
    }

    /// `rank` reached barrier `epoch`: where it is, and progress.
    pub fn arrived(&mut self, rank: usize, epoch: u64, now: Instant) {
        if let Some(slot) = self.position.get_mut(rank) {
            let (steps_done, refused) = slot.as_ref().map_or((0, 0), |h| (h.steps_done, h.refused));
            *slot = Some(Heartbeat {
                epoch,
                step: None,
                iteration: None,
                awaiting: Vec::new(),
                steps_done,
                refused,
            });
        }
        self.last_progress = now;
    }

    /// A rank reported: progress.
    pub fn progress(&mut self, now: Instant) {
        self.last_progress = now;
    }

    /// Every rank reached a barrier of an iteration of `size` bytes and it was released.
    pub fn released(&mut self, size: u64, now: Instant) {
        if let Some((at, s)) = self.last_release {
            if s == size {
                self.iteration = Some((size, now.saturating_duration_since(at)));
            }
        }
        self.last_release = Some((now, size));
        self.last_progress = now;
    }

    /// Called on every timer tick. A coordinator that was not scheduled for a while sees every
    /// rank as silent for as long; that pause is forgiven.
    pub fn tick(&mut self, now: Instant) {
        let pause = now.saturating_duration_since(self.last_tick);
        if pause > PAUSE {
            for t in self.last_heard.iter_mut().flatten() {
                *t = (*t + pause).min(now);
            }
            self.last_progress = (self.last_progress + pause).min(now);
        }
        self.last_tick = now;
    }

    /// How long `rank` has not been heard from.
    pub fn silent_for(&self, rank: usize, now: Instant) -> Option<Duration> {
        Some(now.saturating_duration_since((*self.last_heard.get(rank)?)?))
    }

    /// The largest gap seen between two messages of one rank.
    pub fn max_gap(&self) -> Duration {
        self.max_gap
    }

    pub fn silence_limit(&self, size: u64) -> Duration {
        let base = MIN_SILENCE.max(self.max_gap * GAP_FACTOR);
        base + Duration::from_secs_f64(size as f64 / SLOWEST_FILL_BYTES_PER_S)
    }

    /// The rank silent longest beyond the limit, provided some other rank was heard within it
    /// (if every rank is silent, the fault is nearer the coordinator and no one is blamed).
    pub fn silent(&self, now: Instant, size: u64) -> Option<Silent> {
        let limit = self.silence_limit(size);
        let silence = |t: &Option<Instant>| t.map(|t| now.saturating_duration_since(t));
        let (rank, silent_for) = self
            .last_heard
            .iter()
            .enumerate()
            .filter_map(|(r, t)| Some((r, silence(t)?)))
            .filter(|&(_, s)| s > limit)
            .max_by_key(|&(_, s)| s)?;
        let others_heard = self
            .last_heard
            .iter()
            .enumerate()
            .any(|(r, t)| r != rank && silence(t).is_some_and(|s| s <= limit));
        others_heard.then_some(Silent {
            rank,
            silent_for,
            limit,
        })
    }

    pub fn progress_limit(&self, floor: Duration, size: u64) -> Duration {
        let measured = self.iteration.map(|(s, d)| {
            let scale = (size as f64 / s.max(1) as f64).max(1.0);
            d.mul_f64(scale) * ITERATIONS_OF_PATIENCE
        });
        measured.map_or(floor, |m| m.max(floor))
    }

    pub fn since_progress(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_progress)
    }

    pub fn position(&self, rank: usize) -> Option<&Heartbeat> {
        self.position.get(rank)?.as_ref()
    }

    /// The ranks `rank` waits for, as far as its last heartbeat says (in range only).
    fn awaits(&self, rank: usize) -> Vec<usize> {
        let n = self.position.len();
        self.position(rank)
            .map(|h| {
                h.awaiting
                    .iter()
                    .map(|&r| r as usize)
                    .filter(|&r| r < n && r != rank)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ranks whose last heartbeat waits for `rank`.
    pub fn waiting_for(&self, rank: usize) -> Vec<usize> {
        (0..self.position.len())
            .filter(|&r| self.awaits(r).contains(&rank))
            .collect()
    }

    /// The rank at the end of the "waits for" chain that starts at `from`: one that waits for
    /// no one, or the first rank met twice (a cycle).
    pub fn blocker(&self, from: usize) -> usize {
        let mut seen = vec![false; self.position.len()];
        let mut at = from;
        loop {
            if at >= seen.len() || seen[at] {
                return at;
            }
            seen[at] = true;
            // Prefer the awaited rank that others wait for most: the common cause.
            let next = self
                .awaits(at)
                .into_iter()
                .max_by_key(|&r| (self.waiting_for(r).len(), std::cmp::Reverse(r)));
            match next {
                Some(n) => at = n,
                None => return at,
            }
        }
    }

    /// The rank most of `stuck` lead to.
    pub fn culprit(&self, stuck: &[usize]) -> Option<usize> {
        let mut votes = vec![0usize; self.position.len()];
        for &r in stuck {
            if let Some(v) = votes.get_mut(self.blocker(r)) {
                *v += 1;
            }
        }
        let best = votes.iter().copied().max().filter(|&v| v > 0)?;
        votes.iter().position(|&v| v == best)
    }

    /// "at barrier 5" / "in step 3 of the iteration after barrier 5, waiting for rank 1" / "not
    /// heard from yet".
    pub fn describe(&self, rank: usize) -> String {
        match self.position(rank) {
            None => "no heartbeat yet".into(),
            Some(h) => match h.step {
                None if h.epoch == 0 => "setting up".into(),
                None => format!("at barrier {}", h.epoch),
                Some(step) => {
                    let waiting = match self.awaits(rank).as_slice() {
                        [] => String::new(),
                        [one] => format!(", waiting for rank {one}"),
                        many => format!(", waiting for ranks {many:?}"),
                    };
                    format!("at step {step}{waiting}")
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(step: u32, awaiting: &[u32]) -> Heartbeat {
        Heartbeat {
            epoch: 1,
            step: Some(step),
            iteration: Some(0),
            awaiting: awaiting.to_vec(),
            steps_done: 0,
            refused: 0,
        }
    }

    #[test]
    fn a_rank_silent_while_the_others_beat_is_named_in_seconds() {
        let t0 = Instant::now();
        let mut l = Liveness::new(4, t0);
        let ms = Duration::from_millis;
        let mut found = None;
        for i in 0..20u64 {
            let now = t0 + ms(500 * i);
            l.tick(now);
            for r in 0..4 {
                // Rank 2 is last heard at 1.5 s.
                if r != 2 || i <= 3 {
                    l.heard(r, now);
                }
            }
            match (l.silent(now, 1024), found) {
                (None, None) => {}
                (Some(s), None) => {
                    assert_eq!(s.rank, 2);
                    found = Some(now - t0);
                }
                (Some(s), Some(_)) => assert_eq!(s.rank, 2),
                (None, Some(_)) => panic!("rank 2 was silent and no longer is at {i}"),
            }
        }
        // Found at the first tick after 3 s of silence, not before.
        assert_eq!(found, Some(ms(5000)));
    }

    #[test]
    fn slow_heartbeats_stretch_the_limit_and_large_sizes_add_to_it() {
        let t0 = Instant::now();
        let mut l = Liveness::new(2, t0);
        assert_eq!(l.silence_limit(0), MIN_SILENCE);
        l.heard(0, t0);
        l.heard(0, t0 + Duration::from_secs(2));
        assert_eq!(l.silence_limit(0), Duration::from_secs(8));
        // 1 GiB adds the time to fill it at the slowest rate assumed.
        assert!(l.silence_limit(1 << 30) > Duration::from_secs(8 + 100));
    }

    #[test]
    fn nobody_is_blamed_when_everyone_is_silent_or_the_coordinator_paused() {
        let t0 = Instant::now();
        let mut l = Liveness::new(3, t0);
        for r in 0..3 {
            l.heard(r, t0);
        }
        let later = t0 + Duration::from_secs(30);
        assert_eq!(l.silent(later, 0), None);
        // The coordinator itself was not scheduled for 30 s: a tick forgives it, and the
        // first rank heard afterwards does not make the others look dead.
        l.tick(later);
        l.heard(0, later);
        assert_eq!(l.silent(later + Duration::from_millis(100), 0), None);
    }

    #[test]
    fn the_culprit_is_where_the_waits_lead() {
        let t0 = Instant::now();
        let mut l = Liveness::new(5, t0);
        // 0 waits for 1, 1 waits for 2, 3 waits for 2, 2 is at the barrier (done): 2.
        l.heartbeat(0, at(1, &[1]), t0);
        l.heartbeat(1, at(2, &[2]), t0);
        l.heartbeat(3, at(2, &[2]), t0);
        l.heartbeat(
            2,
            Heartbeat {
                epoch: 2,
                ..Default::default()
            },
            t0,
        );
        assert_eq!(l.blocker(0), 2);
        assert_eq!(l.culprit(&[0, 1, 3]), Some(2));
        assert_eq!(l.waiting_for(2), vec![1, 3]);
        assert!(l.describe(1).contains("step 2, waiting for rank 2"));
        assert_eq!(l.describe(2), "at barrier 2");
        // A cycle ends where it closes; out-of-range ranks in a heartbeat are ignored.
        l.heartbeat(2, at(0, &[0, 99]), t0);
        assert!(l.blocker(0) < 5);
        assert_eq!(l.describe(4), "no heartbeat yet");
    }

    #[test]
    fn progress_limit_follows_measured_iterations() {
        let t0 = Instant::now();
        let mut l = Liveness::new(2, t0);
        let floor = Duration::from_secs(60);
        assert_eq!(l.progress_limit(floor, 1 << 20), floor);
        l.released(1 << 20, t0);
        l.released(1 << 20, t0 + Duration::from_secs(10));
        // 10 s per 1 MiB iteration: 16 MiB gets 10 x 160 s.
        assert_eq!(l.progress_limit(floor, 16 << 20), Duration::from_secs(1600));
        assert_eq!(l.progress_limit(floor, 1024), Duration::from_secs(100));
        // Steps finishing count as progress.
        let later = t0 + Duration::from_secs(50);
        assert_eq!(l.since_progress(later), Duration::from_secs(40));
        l.heartbeat(
            0,
            Heartbeat {
                steps_done: 3,
                ..Default::default()
            },
            later,
        );
        assert_eq!(l.since_progress(later), Duration::ZERO);
    }
}
