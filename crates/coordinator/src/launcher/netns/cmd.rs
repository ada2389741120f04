//! Running `ip` and `tc`, with errors that show the command and what it printed.

use std::process::{Command, Stdio};

use tracing::debug;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("the netns launcher needs root (it creates network namespaces); run it with sudo, or use --launcher local")]
    NotRoot,
    #[error("{1} missing: '{0}' was not found on PATH (install the {1} package)")]
    Missing(&'static str, &'static str),
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("`{command}` could not be started: {error}")]
    Spawn { command: String, error: String },
    #[error("{0}")]
    Other(String),
}

/// One `ip` or `tc` invocation (`ip netns exec NS sysctl ...` for a namespace's settings), kept as
/// data so a fabric's plan can be checked without root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: &'static str,
    pub args: Vec<String>,
}

impl Cmd {
    pub fn ip(args: &[&str]) -> Cmd {
        Cmd {
            program: "ip",
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn tc(args: &[&str]) -> Cmd {
        Cmd {
            program: "tc",
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn line(&self) -> String {
        format!("{} {}", self.program, self.args.join(" "))
    }

    /// Runs the command; its stdout on success.
    pub fn run(&self) -> Result<String, NetnsError> {
        debug!(command = %self.line(), "netns");
        let out = Command::new(self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| NetnsError::Spawn {
                command: self.line(),
                error: e.to_string(),
            })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(NetnsError::Failed {
                command: self.line(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}

/// Checks that this process may build a fabric: root, and `ip`, `tc` and `bridge` on PATH (and
/// `sysctl`, which nodes with several NICs are set up with, when `sysctl` is asked for).
pub fn preflight(sysctl: bool) -> Result<(), NetnsError> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(NetnsError::NotRoot);
    }
    let procps = sysctl.then_some(("sysctl", "procps"));
    for (tool, package) in [
        ("ip", "iproute2"),
        ("tc", "iproute2"),
        ("bridge", "iproute2"),
    ]
    .into_iter()
    .chain(procps)
    {
        if find_on_path(tool).is_none() {
            return Err(NetnsError::Missing(tool, package));
        }
    }
    Ok(())
}

fn find_on_path(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The network namespaces that exist now, by name.
pub fn list_namespaces() -> Result<Vec<String>, NetnsError> {
    let out = Cmd::ip(&["netns", "list"]).run()?;
    // Lines look like `name` or `name (id: 3)`.
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// The PIDs of processes whose network namespace is `ns`.
pub fn pids_in(ns: &str) -> Vec<i32> {
    Cmd::ip(&["netns", "pids", ns])
        .run()
        .map(|out| out.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}
