//! The local launcher: p `collbench node` processes on this machine, credentials in their
//! environment (readable only by this user), each watched for its exit.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::{Context, Result};
use tokio::process::Command;
use tokio::sync::mpsc;
use transport::credentials::RunCredentials;

use super::{node_command, watch, NodeProcess};
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
        node_command(&mut cmd, coordinator, rank, creds, bind);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting rank {rank} ({})", exe.display()))?;
        nodes.push(watch(rank, child, events));
    }
    Ok(nodes)
}
