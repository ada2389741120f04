//! Starting processes and sockets inside a run's namespaces.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use anyhow::{Context, Result};
use tokio::process::Command;
use tokio::sync::mpsc;
use transport::credentials::RunCredentials;

use super::fabric::FabricSpec;
use super::names::{node_addr, Names};
use crate::events::Event;
use crate::launcher::{node_command, watch, NodeProcess};

/// A UDP socket bound to `addr` inside namespace `ns`. `setns` moves only the calling thread, so
/// a short-lived thread enters the namespace and makes the socket; the socket stays in the
/// namespace it was made in.
pub fn udp_socket_in(ns: &str, addr: SocketAddr) -> Result<std::net::UdpSocket> {
    let path = Path::new("/run/netns").join(ns);
    let file = std::fs::File::open(&path)
        .with_context(|| format!("opening network namespace {}", path.display()))?;
    let ns_name = ns.to_string();
    std::thread::spawn(move || -> Result<std::net::UdpSocket> {
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .with_context(|| format!("entering network namespace {ns_name}"))?;
        Ok(transport::tls::udp_socket(addr)?)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the thread binding the control socket in {ns} panicked"))?
}

/// Starts `collbench node` for every rank inside its node's namespace (`ip netns exec`, which
/// execs, so the PID is the node's), each watched for its exit. A rank runs in the node
/// [`FabricSpec::place`] puts it in, bound to its own NIC's address, and reports the namespace
/// as its host, so the ranks of a node share a host (and its cores, for `--channels auto` and
/// `--cpu-bind`).
pub fn launch(
    names: &Names,
    spec: &FabricSpec,
    exe: &Path,
    coordinator: SocketAddr,
    creds: &RunCredentials,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<Vec<NodeProcess>> {
    let nranks = creds.ranks.len();
    let mut nodes = Vec::with_capacity(nranks);
    for rank in 0..nranks {
        let ns = names.node_ns(spec.place(rank).0);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns]).arg(exe);
        node_command(
            &mut cmd,
            coordinator,
            rank,
            creds,
            IpAddr::V4(node_addr(rank)),
        );
        cmd.arg("--host").arg(&ns);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting rank {rank} in namespace {ns}"))?;
        nodes.push(watch(rank, child, events));
    }
    Ok(nodes)
}
