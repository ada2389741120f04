//! Who owns a fabric, and removing fabrics whose owner is gone.
//!
//! Before a run creates its first namespace it claims its run id: the directory
//! `/run/collbench/<run id>` appears (atomically, by rename) holding `owner` = the coordinator's
//! PID and that process's start time (so a reused PID is not taken for the owner). At the next
//! start of any netns run, every namespace named `cb-<id>-…` whose claim is missing or whose
//! owner is no longer running is removed, with the processes inside it, and so is the claim.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use super::cmd::{list_namespaces, pids_in, Cmd, NetnsError};
use super::names::{run_id_of, Names, STATE_DIR};

/// `(pid, start time in clock ticks since boot)` of a live process.
fn identity(pid: i32) -> Option<(i32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 (comm) may hold spaces and parentheses; the fields after its last ')' are plain.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After comm: state is field 3, starttime is field 22.
    if fields.first() == Some(&"Z") {
        return None;
    }
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((pid, start))
}

fn owner_line() -> Result<String, NetnsError> {
    let me = std::process::id() as i32;
    let (pid, start) = identity(me)
        .ok_or_else(|| NetnsError::Other("cannot read this process's /proc entry".into()))?;
    Ok(format!("{pid} {start}\n"))
}

/// True while the process that claimed `dir` runs.
fn owner_alive(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("owner")) else {
        return false;
    };
    let mut it = text.split_whitespace();
    let (Some(pid), Some(start)) = (
        it.next().and_then(|p| p.parse::<i32>().ok()),
        it.next().and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return false;
    };
    identity(pid).is_some_and(|(_, s)| s == start)
}

/// Claims `names`' run id for this process. Fails if the id is already claimed.
pub fn claim(names: &Names) -> Result<PathBuf, NetnsError> {
    let base = Path::new(STATE_DIR);
    let io = |what: &str, p: &Path, e: std::io::Error| {
        NetnsError::Other(format!("{what} {}: {e}", p.display()))
    };
    std::fs::create_dir_all(base).map_err(|e| io("creating", base, e))?;
    let tmp = base.join(format!(".claim-{}-{}", names.run_id(), std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| io("creating", &tmp, e))?;
    std::fs::write(tmp.join("owner"), owner_line()?).map_err(|e| io("writing", &tmp, e))?;
    let dir = names.state_dir();
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(io("claiming", &dir, e));
    }
    Ok(dir)
}

/// Gives up a claim (after the run's namespaces are gone).
pub fn release(names: &Names) {
    let dir = names.state_dir();
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            warn!("removing {}: {e}", dir.display());
        }
    }
}

/// SIGKILLs every process in `ns` (never this one) and deletes the namespace.
pub fn remove_namespace(ns: &str) -> Result<(), NetnsError> {
    let me = std::process::id() as i32;
    for pid in pids_in(ns).into_iter().filter(|&p| p != me && p > 1) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    Cmd::ip(&["netns", "del", ns]).run().map(|_| ())
}

/// Removes the namespaces and claims of every run whose owner is gone; returns their run ids.
pub fn sweep_stale() -> Result<Vec<String>, NetnsError> {
    let mut by_run: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ns in list_namespaces()? {
        if let Some(id) = run_id_of(&ns) {
            by_run.entry(id.to_string()).or_default().push(ns);
        }
    }
    // Claims whose namespaces are already gone are stale too.
    let mut ids: BTreeSet<String> = by_run.keys().cloned().collect();
    if let Ok(entries) = std::fs::read_dir(STATE_DIR) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if Names::new(&name).is_ok() {
                ids.insert(name);
            }
        }
    }
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let Ok(names) = Names::new(&id) else { continue };
        if owner_alive(&names.state_dir()) {
            continue;
        }
        let mut nss = by_run.remove(&id).unwrap_or_default();
        // Nodes first, then the coordinator, the switch last.
        nss.sort_by_key(|ns| (ns.ends_with("-sw"), ns.ends_with("-co")));
        for ns in &nss {
            if let Err(e) = remove_namespace(ns) {
                errors.push(e.to_string());
            }
        }
        release(&names);
        info!(run_id = %id, namespaces = nss.len(), "removed the fabric of an earlier run that did not clean up");
        removed.push(id);
    }
    if errors.is_empty() {
        Ok(removed)
    } else {
        Err(NetnsError::Other(format!(
            "removing an earlier run's leftovers: {}",
            errors.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_made_up_owner_is_not() {
        let (pid, start) = identity(std::process::id() as i32).unwrap();
        let dir = std::env::temp_dir().join(format!("cb-owner-test-{pid}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("owner"), format!("{pid} {start}\n")).unwrap();
        assert!(owner_alive(&dir));
        // Same PID, other start time: a reused PID is not the owner.
        std::fs::write(dir.join("owner"), format!("{pid} {}\n", start + 1)).unwrap();
        assert!(!owner_alive(&dir));
        std::fs::write(dir.join("owner"), "garbage").unwrap();
        assert!(!owner_alive(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!owner_alive(&dir));
    }
}
