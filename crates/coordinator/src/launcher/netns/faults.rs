//! Fault hooks: take a rank's link down, or SIGKILL / SIGSTOP a rank, when the sweep reaches a
//! size. `--fault KIND:RANK@SIZE`, repeatable; a fault fires once, right after the first barrier
//! of the first algorithm to reach SIZE is released (so it lands in that size's first warm-up
//! iteration, while data moves).
//!
//! `kill` and `stop` work with any launcher that knows its nodes' PIDs; `link-down` needs a
//! launcher that built the links (`--launcher netns`), which takes the switch's port of the rank
//! down: the rank's NIC (`eth0`, or `eth<k>` with several ranks per node) loses carrier and its
//! packets vanish, as when a cable is pulled.

use std::fmt;
use std::str::FromStr;

use tracing::warn;

use crate::sizes::{format_size, parse_size};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    LinkDown,
    Kill,
    Stop,
    /// The rank spoils one element of its checked result (carried in the plan, so any
    /// launcher): the run must report wrong results and exit with status 3.
    Corrupt,
}

impl FaultKind {
    pub const NAMES: &'static str = "link-down, kill, stop, corrupt";

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::LinkDown => "link-down",
            FaultKind::Kill => "kill",
            FaultKind::Stop => "stop",
            FaultKind::Corrupt => "corrupt",
        }
    }
}

/// One planned fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub rank: usize,
    /// Bytes per rank of the size at which it fires.
    pub size: u64,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}@{}",
            self.kind.name(),
            self.rank,
            format_size(self.size)
        )
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{spec}': {reason}; expected KIND:RANK@SIZE with KIND one of {kinds} (for example kill:2@1M)", kinds = FaultKind::NAMES)]
pub struct FaultSyntax {
    pub spec: String,
    pub reason: String,
}

impl FromStr for Fault {
    type Err = FaultSyntax;

    fn from_str(s: &str) -> Result<Fault, FaultSyntax> {
        let bad = |reason: &str| FaultSyntax {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad("no ':'"))?;
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "link-down" | "linkdown" => FaultKind::LinkDown,
            "kill" => FaultKind::Kill,
            "stop" => FaultKind::Stop,
            "corrupt" => FaultKind::Corrupt,
            _ => return Err(bad("unknown kind")),
        };
        let (rank, size) = rest.split_once('@').ok_or_else(|| bad("no '@SIZE'"))?;
        let rank = rank
            .trim()
            .parse::<usize>()
            .map_err(|_| bad("the rank is not a whole number"))?;
        let size = parse_size(size.trim()).map_err(|e| bad(&e.to_string()))?;
        Ok(Fault { kind, rank, size })
    }
}

/// Takes links down and up; launchers that built the links provide one.
pub trait LinkControl: Send {
    fn set_link(&self, rank: usize, up: bool) -> anyhow::Result<()>;
}

/// The faults of a run that have not fired yet.
pub struct FaultRunner {
    pending: Vec<Fault>,
    links: Option<Box<dyn LinkControl>>,
}

impl FaultRunner {
    pub fn new(faults: Vec<Fault>, links: Option<Box<dyn LinkControl>>) -> FaultRunner {
        FaultRunner {
            pending: faults,
            links,
        }
    }

    /// Fires every pending fault planned for `size`; `pid_of(rank)` names a node's process.
    /// Returns what was done, one line per fault (also logged).
    pub fn size_started(
        &mut self,
        size: u64,
        pid_of: &dyn Fn(usize) -> Option<u32>,
    ) -> Vec<String> {
        let (due, later): (Vec<Fault>, Vec<Fault>) =
            self.pending.iter().partition(|f| f.size == size);
        self.pending = later;
        due.into_iter()
            .map(|f| {
                let outcome = self.fire(f, pid_of);
                let line = match outcome {
                    Ok(what) => format!("fault {f}: {what}"),
                    Err(e) => format!("fault {f}: could not be injected: {e:#}"),
                };
                warn!("{line}");
                line
            })
            .collect()
    }

    fn fire(&self, f: Fault, pid_of: &dyn Fn(usize) -> Option<u32>) -> anyhow::Result<String> {
        use nix::sys::signal::{kill, Signal};
        let signal = match f.kind {
            FaultKind::LinkDown => {
                let links = self
                    .links
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("this launcher cannot take links down"))?;
                links.set_link(f.rank, false)?;
                return Ok(format!("took rank {}'s link down", f.rank));
            }
            FaultKind::Kill => Signal::SIGKILL,
            FaultKind::Stop => Signal::SIGSTOP,
            FaultKind::Corrupt => return Ok(format!("rank {} spoils its checked result", f.rank)),
        };
        let pid = pid_of(f.rank)
            .ok_or_else(|| anyhow::anyhow!("rank {} has no known process", f.rank))?;
        let raw = i32::try_from(pid).map_err(|_| anyhow::anyhow!("pid {pid} out of range"))?;
        kill(nix::unistd::Pid::from_raw(raw), signal)?;
        Ok(format!("sent {signal} to rank {} (pid {pid})", f.rank))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_prints_faults() {
        let f: Fault = "kill:2@1M".parse().unwrap();
        assert_eq!(
            f,
            Fault {
                kind: FaultKind::Kill,
                rank: 2,
                size: 1 << 20
            }
        );
        assert_eq!(f.to_string(), "kill:2@1M");
        assert_eq!(
            "link-down:0@64K".parse::<Fault>().unwrap().kind,
            FaultKind::LinkDown
        );
        assert_eq!("stop:3@4096".parse::<Fault>().unwrap().size, 4096);
        for bad in ["kill", "kill:x@1M", "nuke:1@1M", "kill:1", "kill:1@huge"] {
            let e = bad.parse::<Fault>().unwrap_err();
            assert!(e.to_string().contains("KIND:RANK@SIZE"), "{e}");
        }
    }

    struct Links(std::sync::Arc<std::sync::Mutex<Vec<(usize, bool)>>>);
    impl LinkControl for Links {
        fn set_link(&self, rank: usize, up: bool) -> anyhow::Result<()> {
            self.0.lock().unwrap().push((rank, up));
            Ok(())
        }
    }

    #[test]
    fn faults_fire_once_at_their_size() {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut r = FaultRunner::new(
            vec!["link-down:1@2K".parse().unwrap()],
            Some(Box::new(Links(log.clone()))),
        );
        assert!(r.size_started(1024, &|_| None).is_empty());
        assert_eq!(r.size_started(2048, &|_| None).len(), 1);
        assert!(r.size_started(2048, &|_| None).is_empty());
        assert_eq!(*log.lock().unwrap(), vec![(1, false)]);
        // A kill without a PID is reported, not a panic.
        let mut r = FaultRunner::new(vec!["kill:0@1K".parse().unwrap()], None);
        assert!(r.size_started(1024, &|_| None)[0].contains("no known process"));
    }
}
