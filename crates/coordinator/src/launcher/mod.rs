//! Starting bench-nodes. A launcher prepares where nodes run (nothing for local processes; a
//! fabric of network namespaces for an emulated cluster), starts one node per rank, reports each
//! exit as an [`Event::Exited`](crate::events::Event), and removes what it made on every path
//! out. [`NodeProcess::kill`] stops one node.

pub mod cluster_args;
pub mod k8s;
pub mod local;
pub mod netns;
pub mod slurm;
pub mod ssh;
pub mod ssh_hostfile;
pub mod ssh_remote;

pub use netns::faults;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::Result;
use tokio::sync::{mpsc, oneshot};
use transport::credentials::RunCredentials;

use crate::events::Event;

/// What a launcher gets to start nodes.
pub struct LaunchContext<'a> {
    /// The collbench binary (nodes run `collbench node`).
    pub exe: &'a Path,
    /// The coordinator's control address as nodes must dial it.
    pub coordinator: SocketAddr,
    pub creds: &'a RunCredentials,
    pub events: &'a mpsc::UnboundedSender<Event>,
}

/// Facts about the fabric a launcher built, recorded with the results.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fabric {
    pub link_rate_bps: Option<f64>,
    pub uplink_rate_bps: Option<f64>,
    /// The MTU between nodes, bytes, when the launcher knows it.
    pub mtu: Option<u32>,
}

impl Fabric {
    /// The fabric the run uses: what the launcher knows of the one it built, else what the
    /// flags say (`--link-rate`, `--mtu`; uplinks only a launcher that shaped them knows).
    pub fn or_flags(self, opts: &crate::options::RunOptions) -> Fabric {
        Fabric {
            link_rate_bps: self.link_rate_bps.or(opts.link_rate_bps),
            uplink_rate_bps: self.uplink_rate_bps,
            mtu: self.mtu.or(opts.mtu),
        }
    }
}

pub trait Launcher {
    /// Name recorded in results (`local`, `netns`, ...).
    fn name(&self) -> &'static str;
    /// Builds whatever the nodes need and returns the socket the coordinator's control endpoint
    /// listens on, bound where the nodes can reach it.
    fn prepare(&mut self, run_id: &str) -> Result<std::net::UdpSocket>;
    /// Starts one node per rank.
    fn launch(&mut self, ctx: &LaunchContext<'_>) -> Result<Vec<NodeProcess>>;
    /// Removes everything `prepare` and `launch` made. Called on every path out, after the
    /// nodes have exited or been killed; must be safe to call twice.
    fn teardown(&mut self) -> Result<()>;
    /// The fabric's configured rates, when the launcher knows them.
    fn fabric(&self) -> Fabric {
        Fabric::default()
    }
    /// Takes nodes' links down and up (for `--fault link-down`), when the launcher built them.
    fn link_control(&self) -> Option<Box<dyn faults::LinkControl>> {
        None
    }
    /// The run's certificates and token: made fresh for the run, unless the launcher was given
    /// them (a Kubernetes run's Secret).
    fn credentials(&self, run_id: &str, nranks: usize) -> Result<RunCredentials> {
        Ok(RunCredentials::generate(run_id, nranks)?)
    }
}

/// The launcher `opts` names.
pub fn build(opts: &crate::options::RunOptions) -> Box<dyn Launcher> {
    use crate::options::LauncherKind;
    match opts.launcher {
        LauncherKind::Local => Box::new(Local {
            bind: opts.bind,
            mtu: opts.mtu,
        }),
        LauncherKind::Netns => Box::new(netns::Netns::from_options(opts)),
        LauncherKind::Ssh => Box::new(ssh::Ssh::new(opts.cluster.clone())),
        LauncherKind::Slurm => Box::new(slurm::Slurm::new(opts.cluster.clone())),
        LauncherKind::K8s => Box::new(k8s::K8s::new(opts.cluster.clone())),
    }
}

/// The local launcher: processes on this machine, all on `bind`.
pub struct Local {
    pub bind: IpAddr,
    /// `--mtu`, if given.
    pub mtu: Option<u32>,
}

impl Launcher for Local {
    fn name(&self) -> &'static str {
        "local"
    }
    fn prepare(&mut self, _run_id: &str) -> Result<std::net::UdpSocket> {
        Ok(transport::tls::udp_socket(SocketAddr::new(self.bind, 0))?)
    }
    fn launch(&mut self, ctx: &LaunchContext<'_>) -> Result<Vec<NodeProcess>> {
        local::launch(ctx.exe, ctx.coordinator, self.bind, ctx.creds, ctx.events)
    }
    fn teardown(&mut self) -> Result<()> {
        Ok(())
    }
    /// Loopback carries jumbo datagrams; another local address is assumed to be Ethernet.
    fn fabric(&self) -> Fabric {
        let default = if self.bind.is_loopback() {
            transport::settings::JUMBO_MTU
        } else {
            transport::settings::ETHERNET_MTU
        };
        Fabric {
            mtu: Some(self.mtu.unwrap_or(default)),
            ..Fabric::default()
        }
    }
}

/// Appends `node --coordinator .. --rank .. --nranks .. --bind ..` to `cmd` (which runs the
/// collbench binary, directly or through a wrapper), with the rank's credentials in its
/// environment (readable only by this user) and no stdin or stdout; the child dies with `cmd`.
pub fn node_command(
    cmd: &mut tokio::process::Command,
    coordinator: SocketAddr,
    rank: usize,
    creds: &RunCredentials,
    bind: IpAddr,
) {
    cmd.arg("node")
        .arg("--coordinator")
        .arg(coordinator.to_string())
        .arg("--rank")
        .arg(rank.to_string())
        .arg("--nranks")
        .arg(creds.ranks.len().to_string())
        .arg("--bind")
        .arg(bind.to_string())
        .envs(creds.for_rank(rank).to_env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
}

/// Watches a started node: its exit (or a kill asked through the returned handle) becomes an
/// [`Event::Exited`] naming the rank and how it ended.
pub fn watch(
    rank: usize,
    mut child: tokio::process::Child,
    events: &mpsc::UnboundedSender<Event>,
) -> NodeProcess {
    let pid = child.id();
    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    let events = events.clone();
    tokio::spawn(async move {
        let status = tokio::select! {
            s = child.wait() => s,
            _ = kill_rx => {
                let _ = child.start_kill();
                child.wait().await
            }
        };
        let status = match status {
            Ok(s) => describe_exit(s),
            Err(e) => format!("could not be waited for: {e}"),
        };
        let _ = events.send(Event::Exited { rank, status });
    });
    NodeProcess::new(rank, pid, kill_tx)
}

fn describe_exit(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(0), _) => "exited normally".into(),
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => format!("ended ({s})"),
    }
}

/// A started node the coordinator can stop.
pub struct NodeProcess {
    pub rank: usize,
    pub pid: Option<u32>,
    kill: Option<oneshot::Sender<()>>,
}

impl NodeProcess {
    pub fn new(rank: usize, pid: Option<u32>, kill: oneshot::Sender<()>) -> Self {
        NodeProcess {
            rank,
            pid,
            kill: Some(kill),
        }
    }

    /// Asks the node's watcher to kill it (SIGKILL); the exit still arrives as an event.
    pub fn kill(&mut self) {
        if let Some(tx) = self.kill.take() {
            let _ = tx.send(());
        }
    }
}
