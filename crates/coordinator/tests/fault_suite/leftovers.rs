//! What a run may leave behind, and finding it: bench-node processes, the run's namespaces
//! (`cb-<run id>-…`, which hold its veths, bridges and shapers), links in the root namespace,
//! the run's claim under /run/collbench, and credentials outside a process (files, or a live
//! process still holding the run's token in its environment).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use transport::credentials::ENV_TOKEN;

use crate::common::alive;

pub const CLAIMS: &str = "/run/collbench";

/// The machine's state before a run, to tell what the run added.
pub struct Before {
    root_links: BTreeSet<String>,
    temp_entries: BTreeSet<PathBuf>,
}

pub fn namespaces() -> BTreeSet<String> {
    let out = Command::new("ip").args(["netns", "list"]).output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn root_links() -> BTreeSet<String> {
    let out = Command::new("ip").args(["-o", "link"]).output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .map(|s| s.trim().split('@').next().unwrap_or("").to_string())
            .collect()
    })
    .unwrap_or_default()
}

/// Entries of the places a run could put credentials in files.
fn temp_entries() -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for dir in [std::env::temp_dir(), PathBuf::from("/dev/shm")] {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            out.extend(rd.flatten().map(|e| e.path()));
        }
    }
    out
}

impl Before {
    pub fn now() -> Before {
        Before {
            root_links: root_links(),
            temp_entries: temp_entries(),
        }
    }
}

/// The parent of process `pid`.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; the state and ppid follow it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

fn runs(pid: u32, exe: &Path) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe)
}

/// Live processes of `exe` that hold a run token in their environment and whose run is over.
/// (A node whose parent is a live coordinator belongs to a run still going on: another test's,
/// running beside this one. This run's coordinator has exited by now, so a node of it that
/// escaped has lost its parent.)
fn holding_credentials(exe: &Path) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != std::process::id() && alive(pid))
        .filter(|&pid| runs(pid, exe))
        .filter(|&pid| !parent_of(pid).is_some_and(|pp| alive(pp) && runs(pp, exe)))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|kv| kv.starts_with(format!("{ENV_TOKEN}=").as_bytes()))
            })
        })
        .collect()
}

/// Everything of run `run_id` (its coordinator and nodes are `pids`) still there; one line each.
pub fn find(before: &Before, run_id: Option<&str>, pids: &[u32], exe: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for &pid in pids {
        if alive(pid) {
            found.push(format!("process {pid} of the run still running"));
        }
    }
    for pid in holding_credentials(exe) {
        found.push(format!(
            "process {pid} still holds a run token in its environment"
        ));
    }
    if let Some(id) = run_id {
        let prefix = format!("cb-{id}-");
        for ns in namespaces().into_iter().filter(|n| n.starts_with(&prefix)) {
            found.push(format!("namespace {ns}"));
        }
        let claim = Path::new(CLAIMS).join(id);
        if claim.exists() {
            found.push(format!("claim {}", claim.display()));
        }
    }
    for link in root_links().difference(&before.root_links) {
        found.push(format!("link {link} in the root namespace"));
    }
    for entry in temp_entries().difference(&before.temp_entries) {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Only this run's: named after its id, or a credential-looking name carrying the PID
        // of its coordinator or of one of its nodes (other programs use /tmp too).
        let credential_like = ["cred", "private", "token", ".key", ".pem", ".env"]
            .iter()
            .any(|w| name.contains(w));
        let ours = pids.iter().any(|p| name.contains(&p.to_string()));
        let suspicious = run_id.is_some_and(|id| name.contains(id)) || (credential_like && ours);
        if suspicious {
            found.push(format!("file {}", entry.display()));
        }
    }
    found
}
