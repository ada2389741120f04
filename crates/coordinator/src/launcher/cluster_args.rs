//! Flags of the launchers that start nodes on other machines (ssh, slurm, k8s), and their
//! checks. Each is refused with a launcher it does not apply to, so a typo in `--launcher`
//! is not silently ignored.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::ssh_hostfile::{self, HostEntry};
use crate::options::kinds::{LauncherKind, OptionError};

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Cluster launchers (ssh, slurm, k8s)")]
pub struct ClusterArgs {
    /// ssh: hosts to run on, one per line: `[user@]host [slots=N]`, `#` comments. Ranks fill
    /// each host's slots in file order; --np defaults to the total slots.
    #[arg(long = "hostfile")]
    pub hostfile: Option<PathBuf>,
    /// ssh, slurm, k8s: IP[:PORT] the coordinator listens on and nodes dial [ssh: the address
    /// this machine uses to reach the first host; slurm: this host's address; k8s:
    /// 0.0.0.0:29400]. A host that cannot reach it is named before the run starts.
    #[arg(long = "listen")]
    pub listen: Option<String>,
    /// ssh: path of the collbench binary on every host. Without it, this binary is copied to a
    /// private temporary directory (mode 0700) on each host first and removed after the run.
    #[arg(long = "remote-exe")]
    pub remote_exe: Option<String>,
    /// ssh: an ssh option as KEY=VALUE, passed as `-o KEY=VALUE`; repeatable. BatchMode=yes is
    /// always set, so ssh never prompts; ~/.ssh/config, agents and jump hosts apply.
    #[arg(long = "ssh-option")]
    pub ssh_option: Vec<String>,
    /// slurm: an extra argument for srun, repeatable (for example --srun-arg=--overcommit).
    #[arg(long = "srun-arg", allow_hyphen_values = true)]
    pub srun_arg: Vec<String>,
    /// slurm: a directory every node of the allocation sees (a shared filesystem); the run's
    /// credentials go into a private subdirectory of it (0700, files 0600), removed after the
    /// run [default: $HOME/.collbench].
    #[arg(long = "shared-dir")]
    pub shared_dir: Option<PathBuf>,
    /// k8s: the directory holding the run's credentials (the Secret `collbench k8s` wrote,
    /// mounted into the coordinator's pod).
    #[arg(long = "credentials")]
    pub credentials: Option<PathBuf>,
    /// Seconds nodes get to start and register with the coordinator [default: 30; k8s: 600,
    /// pods may wait for an image pull].
    #[arg(long = "setup-timeout")]
    pub setup_timeout: Option<u64>,
}

/// The checked cluster flags.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub hosts: Vec<HostEntry>,
    /// `--listen`, with port 0 when none was given.
    pub listen: Option<SocketAddr>,
    pub remote_exe: Option<String>,
    pub ssh_options: Vec<String>,
    pub srun_args: Vec<String>,
    pub shared_dir: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
    pub setup_timeout: Duration,
}

/// Port the coordinator listens on in a Kubernetes run.
pub const K8S_PORT: u16 = 29400;

fn bad(flag: &'static str, message: impl Into<String>) -> OptionError {
    OptionError {
        flag,
        message: message.into(),
    }
}

/// `IP` or `IP:PORT` (`[v6]:PORT`).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    Err(format!(
        "'{s}' is not IP or IP:PORT (for example 10.0.0.1 or 10.0.0.1:29400)"
    ))
}

/// The rank count when --np is not given: the hostfile's slots (ssh) or the allocation's tasks
/// (slurm).
pub fn default_nodes(a: &ClusterArgs, launcher: &str) -> Result<Option<usize>, OptionError> {
    match launcher {
        "ssh" => match &a.hostfile {
            Some(p) => Ok(Some(ssh_hostfile::total_slots(
                &ssh_hostfile::load(p).map_err(|e| bad("--hostfile", e.to_string()))?,
            ))),
            None => Ok(None),
        },
        "slurm" => Ok(std::env::var("SLURM_NTASKS")
            .ok()
            .and_then(|v| v.trim().parse().ok())),
        _ => Ok(None),
    }
}

impl ClusterOptions {
    pub fn from_args(
        a: &ClusterArgs,
        launcher: LauncherKind,
        nodes: usize,
    ) -> Result<ClusterOptions, OptionError> {
        use LauncherKind::*;
        let only = |flag: &'static str, given: bool, ok: &[LauncherKind], names: &str| {
            if given && !ok.contains(&launcher) {
                Err(bad(flag, format!("applies only to --launcher {names}")))
            } else {
                Ok(())
            }
        };
        only("--hostfile", a.hostfile.is_some(), &[Ssh], "ssh")?;
        only("--remote-exe", a.remote_exe.is_some(), &[Ssh], "ssh")?;
        only("--ssh-option", !a.ssh_option.is_empty(), &[Ssh], "ssh")?;
        only("--srun-arg", !a.srun_arg.is_empty(), &[Slurm], "slurm")?;
        only("--shared-dir", a.shared_dir.is_some(), &[Slurm], "slurm")?;
        only("--credentials", a.credentials.is_some(), &[K8s], "k8s")?;
        only(
            "--listen",
            a.listen.is_some(),
            &[Ssh, Slurm, K8s],
            "ssh, slurm or k8s (local and netns use --bind)",
        )?;
        let listen = a
            .listen
            .as_deref()
            .map(|s| parse_listen(s).map_err(|m| bad("--listen", m)))
            .transpose()?;
        let hosts = ssh_hosts(a, launcher, nodes)?;
        if launcher == Ssh {
            if let Some(l) = listen.filter(|l| l.ip().is_unspecified()) {
                return Err(bad(
                    "--listen",
                    format!("{l}: nodes need an address they can dial, not a wildcard"),
                ));
            }
        }
        ssh_flags(a)?;
        if launcher == K8s && a.credentials.is_none() {
            return Err(bad(
                "--credentials",
                "--launcher k8s needs the run's credentials directory (the Secret `collbench k8s` wrote, mounted)",
            ));
        }
        let setup_timeout = match a.setup_timeout {
            Some(0) => return Err(bad("--setup-timeout", "must be at least 1 second")),
            Some(s) => s,
            None if launcher == K8s => 600,
            None => 30,
        };
        Ok(ClusterOptions {
            hosts,
            listen,
            remote_exe: a.remote_exe.clone(),
            ssh_options: a.ssh_option.clone(),
            srun_args: a.srun_arg.clone(),
            shared_dir: a.shared_dir.clone(),
            credentials: a.credentials.clone(),
            setup_timeout: Duration::from_secs(setup_timeout),
        })
    }
}

/// `--hostfile`: with ssh, the hosts that get ranks (only they take part and are checked),
/// enough slots for them all.
fn ssh_hosts(
    a: &ClusterArgs,
    launcher: LauncherKind,
    nodes: usize,
) -> Result<Vec<ssh_hostfile::HostEntry>, OptionError> {
    use LauncherKind::*;
    Ok(match (launcher, &a.hostfile) {
        (Ssh, None) => {
            return Err(bad(
                "--hostfile",
                "--launcher ssh needs a hostfile: one host per line, optional slots=N",
            ))
        }
        (Ssh, Some(p)) => {
            let hosts = ssh_hostfile::load(p).map_err(|e| bad("--hostfile", e.to_string()))?;
            let slots = ssh_hostfile::total_slots(&hosts);
            if slots < nodes {
                return Err(bad(
                    "--np/--nodes",
                    format!(
                        "{nodes} ranks, but {} gives {slots} slots; add hosts or slots=N",
                        p.display()
                    ),
                ));
            }
            // Only the hosts that get ranks take part (and are checked).
            let mut left = nodes;
            let mut hosts = hosts;
            hosts.retain(|h| {
                let keep = left > 0;
                left = left.saturating_sub(h.slots);
                keep
            });
            hosts
        }
        _ => Vec::new(),
    })
}

/// `--ssh-option` is KEY=VALUE, `--remote-exe` an absolute path.
fn ssh_flags(a: &ClusterArgs) -> Result<(), OptionError> {
    for o in &a.ssh_option {
        let ok = o
            .split_once('=')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()));
        if !ok {
            return Err(bad(
                "--ssh-option",
                format!("'{o}' is not KEY=VALUE (for example IdentityFile=~/.ssh/lab)"),
            ));
        }
    }
    if let Some(p) = a.remote_exe.as_deref() {
        if !p.starts_with('/') {
            return Err(bad(
                "--remote-exe",
                format!("'{p}' is not an absolute path"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_forms() {
        assert_eq!(parse_listen("10.0.0.1").unwrap().to_string(), "10.0.0.1:0");
        assert_eq!(
            parse_listen("10.0.0.1:29400").unwrap().to_string(),
            "10.0.0.1:29400"
        );
        assert_eq!(parse_listen("[::1]:5").unwrap().to_string(), "[::1]:5");
        assert!(parse_listen("host:1").is_err());
    }

    #[test]
    fn flags_of_other_launchers_are_refused() {
        let a = ClusterArgs {
            hostfile: Some("h".into()),
            ..Default::default()
        };
        let e = ClusterOptions::from_args(&a, LauncherKind::Local, 4).unwrap_err();
        assert_eq!(e.to_string(), "--hostfile: applies only to --launcher ssh");
        let a = ClusterArgs {
            listen: Some("1.2.3.4".into()),
            ..Default::default()
        };
        assert!(ClusterOptions::from_args(&a, LauncherKind::Netns, 4).is_err());
        let e =
            ClusterOptions::from_args(&ClusterArgs::default(), LauncherKind::Ssh, 4).unwrap_err();
        assert_eq!(e.flag, "--hostfile");
        let a = ClusterArgs {
            listen: Some("0.0.0.0".into()),
            ssh_option: vec!["x".into()],
            ..Default::default()
        };
        assert!(ClusterOptions::from_args(&a, LauncherKind::Slurm, 4).is_err());
        let k = ClusterOptions::from_args(
            &ClusterArgs {
                credentials: Some("/c".into()),
                ..Default::default()
            },
            LauncherKind::K8s,
            4,
        )
        .unwrap_or_default();
        assert_eq!(k.setup_timeout, Duration::from_secs(600));
    }
}
