//! The local launcher: p `collbench node` processes on this machine, credentials in their
//! environment (readable only by this user), each watched for its exit.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::{Context, Result};
use bench_node::credentials::RunCredentials;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use super::NodeProcess;
use crate::events::Event;

pub fn launch(
    exe: &Path,
    coordinator: SocketAddr,
    bind: IpAddr,
    creds: &RunCredentials,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<Vec<NodeProcess>> {
    let nranks = creds.ranks.len();
    let mut nodes = Vec::with_capacity(nranks);
    for rank in 0..nranks {
        let mut cmd = Command::new(exe);
        cmd.arg("node")
            .arg("--coordinator")
            .arg(coordinator.to_string())
            .arg("--rank")
            .arg(rank.to_string())
            .arg("--nranks")
            .arg(nranks.to_string())
            .arg("--bind")
            .arg(bind.to_string())
            .envs(creds.for_rank(rank).to_env())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting rank {rank} ({})", exe.display()))?;
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
        nodes.push(NodeProcess::new(rank, pid, kill_tx));
    }
    Ok(nodes)
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
