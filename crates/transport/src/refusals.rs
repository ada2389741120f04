//! Refused connection attempts, counted and summarised: a flood of forged attempts at a run's
//! ports must not become a flood of log lines, and is worth recording.
//!
//! Pure: callers pass the time. Each kind of refusal logs at most once per [`INTERVAL`]: the
//! first one at once, then one line with how many came since and one of their sources.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The shortest gap between two log lines of one kind.
pub const INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Kind {
    total: u64,
    /// Refusals since the last line, and one of their sources.
    pending: u64,
    sample: Option<(SocketAddr, String)>,
    last_line: Option<Instant>,
}

/// The refusals of one endpoint (or process), by kind.
#[derive(Debug, Default)]
pub struct Refusals {
    kinds: BTreeMap<&'static str, Kind>,
}

impl Refusals {
    /// None yet (usable in a `static`).
    pub const fn new() -> Refusals {
        Refusals {
            kinds: BTreeMap::new(),
        }
    }

    /// Records one refusal of `kind` from `remote` (`why` says what was wrong); returns the line
    /// to log now, if one is due.
    pub fn record(
        &mut self,
        kind: &'static str,
        remote: SocketAddr,
        why: &str,
        now: Instant,
    ) -> Option<String> {
        let k = self.kinds.entry(kind).or_default();
        k.total += 1;
        k.pending += 1;
        k.sample = Some((remote, why.to_string()));
        let due = k
            .last_line
            .is_none_or(|t| now.saturating_duration_since(t) >= INTERVAL);
        due.then(|| line(kind, k, now))
    }

    /// The lines of every kind with refusals not yet logged (at the end of a run, say).
    pub fn flush(&mut self, now: Instant) -> Vec<String> {
        self.kinds
            .iter_mut()
            .filter(|(_, k)| k.pending > 0)
            .map(|(kind, k)| line(kind, k, now))
            .collect()
    }

    /// How many refusals of each kind there have been.
    pub fn totals(&self) -> BTreeMap<String, u64> {
        self.kinds
            .iter()
            .map(|(kind, k)| (kind.to_string(), k.total))
            .collect()
    }

    /// All refusals, of every kind.
    pub fn total(&self) -> u64 {
        self.kinds.values().map(|k| k.total).sum()
    }
}

fn line(kind: &str, k: &mut Kind, now: Instant) -> String {
    let (remote, why) = k
        .sample
        .clone()
        .unwrap_or_else(|| (SocketAddr::from(([0, 0, 0, 0], 0)), String::new()));
    let text = if k.pending == 1 {
        format!("refused a {kind} from {remote}: {why}")
    } else {
        format!(
            "refused {} {kind}s since the last report ({} in all), for example from {remote}: {why}",
            k.pending, k.total
        )
    };
    k.pending = 0;
    k.last_line = Some(now);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn the_first_is_logged_then_one_line_a_second_with_the_count() {
        let t0 = Instant::now();
        let mut r = Refusals::default();
        let first = r.record("control connection", addr(1), "wrong token", t0);
        assert_eq!(
            first.as_deref(),
            Some("refused a control connection from 127.0.0.1:1: wrong token")
        );
        for i in 0..999u16 {
            let at = t0 + Duration::from_micros(u64::from(i) * 500);
            assert_eq!(
                r.record("control connection", addr(2), "wrong token", at),
                None
            );
        }
        let line = r
            .record(
                "control connection",
                addr(3),
                "bad certificate",
                t0 + INTERVAL,
            )
            .unwrap_or_default();
        assert!(
            line.starts_with("refused 1000 control connections since the last report (1001 in all), for example from 127.0.0.1:3"),
            "{line}"
        );
        // Another kind has its own clock; what is left is flushed at the end.
        assert!(r
            .record("data-plane connection", addr(4), "x", t0 + INTERVAL)
            .is_some());
        assert!(r
            .record("data-plane connection", addr(5), "y", t0 + INTERVAL)
            .is_none());
        let rest = r.flush(t0 + INTERVAL);
        assert_eq!(rest.len(), 1);
        assert!(rest[0].contains("127.0.0.1:5"), "{rest:?}");
        assert_eq!(r.total(), 1003);
        assert_eq!(r.totals()["data-plane connection"], 2);
    }

    proptest! {
        /// However the attempts are spread in time, every kind logs at most one line a second
        /// (the first at once) and the lines and the flush account for every attempt.
        #[test]
        fn at_most_a_line_a_second_and_nothing_lost(gaps_ms in proptest::collection::vec(0u64..700, 1..400)) {
            let t0 = Instant::now();
            let mut r = Refusals::default();
            let mut at = t0;
            let mut lines = Vec::new();
            for g in &gaps_ms {
                at += Duration::from_millis(*g);
                if let Some(l) = r.record("connection", addr(9), "x", at) {
                    lines.push(at);
                    let _ = l;
                }
            }
            for pair in lines.windows(2) {
                prop_assert!(pair[1] - pair[0] >= INTERVAL);
            }
            let span = at - t0;
            prop_assert!(lines.len() as u64 <= span.as_secs() + 1);
            r.flush(at);
            prop_assert_eq!(r.total(), gaps_ms.len() as u64);
            prop_assert!(r.flush(at).is_empty());
        }
    }
}
