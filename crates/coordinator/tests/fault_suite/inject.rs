//! One run of the suite: start a run on the emulated cluster, inject one fault, and watch it end.
//!
//! Node and coordinator faults at a random moment are sent from here (SIGKILL or SIGSTOP to the
//! process of a rank, timed from when the nodes start, so some land while they register; SIGKILL
//! to the coordinator, timed from its start, so some land while it builds the fabric). Half the
//! SIGSTOPs and every link-down use the coordinator's own `--fault` hooks at a random size, so
//! they land while data moves.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::leftovers::{namespaces, CLAIMS};

/// A run that has not ended this long after it started hangs.
pub const HANG_BOUND: Duration = Duration::from_secs(90);
/// After the coordinator is killed, its nodes must be gone within this.
pub const NODE_EXIT_BOUND: Duration = Duration::from_secs(15);
/// The sweep every run measures: 1K, 4K, 16K, 64K, 256K and 1M per rank.
pub const SIZES: [u64; 6] = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];
pub const ALGORITHMS: [&str; 5] = ["ring", "tree", "dbtree", "rhd", "rd"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SIGKILL a node at a random moment.
    Kill,
    /// SIGSTOP a node (at a random moment, or by the `stop` hook at a random size).
    Stop,
    /// Take a node's switch port down (the `link-down` hook at a random size).
    LinkDown,
    /// SIGKILL the coordinator at a random moment.
    Coordinator,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Kill, Kind::Stop, Kind::LinkDown, Kind::Coordinator];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Kill => "kill",
            Kind::Stop => "stop",
            Kind::LinkDown => "link-down",
            Kind::Coordinator => "coordinator",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    pub nranks: usize,
    pub rank: usize,
    pub algorithm: &'static str,
    /// The fault is the coordinator's `--fault` hook, fired at `size`.
    pub hook: bool,
    /// Where a hook fires.
    pub size: u64,
    /// When a signal is sent: after the first node starts (kill, stop; a coordinator kill when
    /// `after_nodes`), after the coordinator starts (other coordinator kills).
    pub delay: Duration,
    pub after_nodes: bool,
}

impl Spec {
    pub fn describe(&self) -> String {
        let what = match self.kind {
            Kind::Kill => format!(
                "SIGKILL rank {} {:.2} s after the nodes started",
                self.rank,
                secs(self.delay)
            ),
            Kind::Stop if self.hook => format!("SIGSTOP rank {} at {}", self.rank, self.size),
            Kind::Stop => format!(
                "SIGSTOP rank {} {:.2} s after the nodes started",
                self.rank,
                secs(self.delay)
            ),
            Kind::LinkDown => format!("link of rank {} down at {}", self.rank, self.size),
            Kind::Coordinator if self.after_nodes => format!(
                "SIGKILL the coordinator {:.2} s after its nodes started",
                secs(self.delay)
            ),
            Kind::Coordinator => format!("SIGKILL the coordinator at {:.2} s", secs(self.delay)),
        };
        format!("{what} ({} p={})", self.algorithm, self.nranks)
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Lines of a child's output with when they arrived.
type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

fn collect(stream: impl Read + Send + 'static) -> (Lines, std::thread::JoinHandle<()>) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let handle = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(mut l) = sink.lock() {
                l.push((Instant::now(), line));
            }
        }
    });
    (lines, handle)
}

pub struct Outcome {
    pub spec: Spec,
    pub dir: PathBuf,
    /// `None`: it hung and was killed.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub run_id: Option<String>,
    /// Coordinator and every node process seen.
    pub pids: Vec<u32>,
    /// The fault reached its target while the run was going.
    pub injected: bool,
    /// From the fault to the coordinator's exit (or, for a killed coordinator, to the exit of
    /// its last node).
    pub reaction: Option<Duration>,
    /// Nodes of a killed coordinator still running after [`NODE_EXIT_BOUND`].
    pub lingering: Vec<u32>,
}

/// `(pid, ppid)` of every process.
fn parents() -> Vec<(u32, u32)> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((pid, crate::leftovers::parent_of(pid)?))
        })
        .collect()
}

/// The `--rank` a node process was started with.
fn rank_of(pid: u32) -> Option<usize> {
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
    let i = args.iter().position(|a| *a == b"--rank")?;
    std::str::from_utf8(args.get(i + 1)?).ok()?.parse().ok()
}

/// The run id the coordinator `pid` claimed, if it has.
fn claimed_by(pid: u32) -> Option<String> {
    for e in std::fs::read_dir(CLAIMS).ok()?.flatten() {
        let owner = std::fs::read_to_string(e.path().join("owner")).unwrap_or_default();
        if owner.split_whitespace().next() == Some(&pid.to_string()) {
            return e.file_name().to_str().map(str::to_string);
        }
    }
    None
}

/// PIDs inside the node namespaces of run `id`.
fn pids_in_run(id: &str) -> Vec<u32> {
    let prefix = format!("cb-{id}-");
    namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .flat_map(|ns| {
            let out = Command::new("ip").args(["netns", "pids", &ns]).output();
            out.map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .unwrap_or_default()
        })
        .collect()
}

fn signal(pid: u32, sig: Signal) -> bool {
    i32::try_from(pid).is_ok_and(|p| kill(Pid::from_raw(p), sig).is_ok())
}

pub fn run(exe: &Path, spec: Spec, dir: PathBuf) -> Outcome {
    let mut cmd = Command::new(exe);
    cmd.env("RUST_LOG", "warn")
        .args(["run", "--launcher", "netns", "--link-rate", "200mbit"])
        .args(["--np", &spec.nranks.to_string(), "--algo", spec.algorithm])
        .args(["-b", "1K", "-e", "1M", "-f", "4", "-n", "5", "-w", "1"])
        .arg("--out")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if spec.hook {
        let kind = if spec.kind == Kind::Stop {
            "stop"
        } else {
            "link-down"
        };
        cmd.args(["--fault", &format!("{kind}:{}@{}", spec.rank, spec.size)]);
    }
    let start = Instant::now();
    let mut child: Child = cmd.spawn().expect("collbench starts");
    let me = child.id();
    let (out_lines, out_thread) = collect(child.stdout.take().expect("stdout"));
    let (err_lines, err_thread) = collect(child.stderr.take().expect("stderr"));
    let mut nodes: Vec<(usize, u32)> = Vec::new();
    let mut run_id = None;
    let mut injected_at = None;
    let mut status = None;
    let mut nodes_started = None;
    loop {
        for (pid, ppid) in parents() {
            if ppid == me && !nodes.iter().any(|&(_, p)| p == pid) {
                if let Some(rank) = rank_of(pid) {
                    nodes.push((rank, pid));
                    nodes_started.get_or_insert_with(Instant::now);
                }
            }
        }
        if run_id.is_none() {
            run_id = claimed_by(me);
        }
        if let Some(s) = child.try_wait().expect("wait") {
            status = Some(s);
            break;
        }
        let now = Instant::now();
        let since = |t: Instant| now.duration_since(t) >= spec.delay;
        if injected_at.is_none() && !spec.hook {
            match spec.kind {
                Kind::Kill | Kind::Stop if nodes_started.is_some_and(since) => {
                    let sig = if spec.kind == Kind::Kill {
                        Signal::SIGKILL
                    } else {
                        Signal::SIGSTOP
                    };
                    // The rank's process, once it is started.
                    if let Some(&(_, pid)) = nodes.iter().find(|&&(r, _)| r == spec.rank) {
                        if signal(pid, sig) {
                            injected_at = Some(now);
                        }
                    }
                }
                Kind::Coordinator
                    if (if spec.after_nodes {
                        nodes_started.is_some_and(since)
                    } else {
                        since(start)
                    }) && signal(me, Signal::SIGKILL) =>
                {
                    injected_at = Some(now);
                }
                _ => {}
            }
        }
        if now.duration_since(start) > HANG_BOUND {
            // A hang: end it, and everything it started.
            let _ = child.kill();
            let _ = child.wait();
            for &(_, pid) in &nodes {
                signal(pid, Signal::SIGKILL);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ended = Instant::now();
    let mut lingering = Vec::new();
    let mut reaction = None;
    if spec.kind == Kind::Coordinator && injected_at.is_some() {
        // Nodes must notice on their own; the namespaces say who is still there.
        let id = run_id.clone();
        let left = || {
            let mut pids: Vec<u32> = nodes
                .iter()
                .map(|&(_, p)| p)
                .filter(|&p| crate::common::alive(p))
                .collect();
            if let Some(id) = &id {
                pids.extend(pids_in_run(id));
            }
            pids.sort_unstable();
            pids.dedup();
            pids
        };
        loop {
            let now_left = left();
            if now_left.is_empty() {
                reaction = injected_at.map(|t| t.elapsed());
                break;
            }
            if ended.elapsed() > NODE_EXIT_BOUND {
                for &p in &now_left {
                    signal(p, Signal::SIGKILL);
                }
                lingering = now_left;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = out_thread.join();
    let _ = err_thread.join();
    let text =
        |l: &Lines| -> Vec<(Instant, String)> { l.lock().map(|v| v.clone()).unwrap_or_default() };
    let stdout_lines = text(&out_lines);
    if spec.hook {
        injected_at = stdout_lines
            .iter()
            .find(|(_, l)| l.starts_with("# fault"))
            .map(|&(t, _)| t);
    }
    if spec.kind != Kind::Coordinator {
        reaction = injected_at.map(|t| ended.saturating_duration_since(t));
    }
    let join = |v: Vec<(Instant, String)>| v.into_iter().map(|(_, l)| l + "\n").collect::<String>();
    let mut pids: Vec<u32> = nodes.iter().map(|&(_, p)| p).collect();
    pids.push(me);
    Outcome {
        dir,
        status,
        stdout: join(stdout_lines),
        stderr: join(text(&err_lines)),
        run_id,
        pids,
        injected: injected_at.is_some(),
        reaction,
        lingering,
        spec,
    }
}
