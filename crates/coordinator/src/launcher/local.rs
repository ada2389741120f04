//! The local launcher: p `collbench node` processes on this machine, credentials in their
//! environment (readable only by this user), each watched for its exit.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::{Context, Result};
use bench_node::credentials::RunCredentials;
use tokio::process::Command;
use tokio::sync::mpsc;

use super::{watch, NodeProcess};
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
        let child = cmd
            .spawn()
            .with_context(|| format!("starting rank {rank} ({})", exe.display()))?;
        nodes.push(watch(rank, child, events));
    }
    Ok(nodes)
}
