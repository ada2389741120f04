//! The coordinator's side of a Kubernetes run (`--launcher k8s`). It starts nothing: the
//! bench-nodes are the pods of the Indexed Job that `collbench k8s` wrote, started by the
//! cluster, and they dial this coordinator through the headless Service's DNS name. The run's
//! credentials are the ones `collbench k8s` put into the run's Secret, mounted at
//! `--credentials`, so coordinator and nodes share one CA and token.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use transport::credentials::RunCredentials;

use super::cluster_args::{ClusterOptions, K8S_PORT};
use super::{LaunchContext, Launcher, NodeProcess};
use crate::credentials_io;

pub struct K8s {
    opts: ClusterOptions,
}

impl K8s {
    pub fn new(opts: ClusterOptions) -> K8s {
        K8s { opts }
    }
}

impl Launcher for K8s {
    fn name(&self) -> &'static str {
        "k8s"
    }

    fn prepare(&mut self, _run_id: &str) -> Result<std::net::UdpSocket> {
        let listen = self
            .opts
            .listen
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], K8S_PORT)));
        transport::tls::udp_socket(listen)
            .with_context(|| format!("--listen {listen}: binding the control socket"))
    }

    fn credentials(&self, _run_id: &str, nranks: usize) -> Result<RunCredentials> {
        let dir = self
            .opts
            .credentials
            .as_deref()
            .context("--credentials is needed with --launcher k8s")?;
        credentials_io::read_run(dir, nranks).with_context(|| {
            format!(
                "--credentials {}: reading the run's Secret (does --np match `collbench k8s --nodes`?)",
                dir.display()
            )
        })
    }

    fn launch(&mut self, _ctx: &LaunchContext<'_>) -> Result<Vec<NodeProcess>> {
        // The Indexed Job's pods are the nodes; they register on their own.
        Ok(Vec::new())
    }

    fn teardown(&mut self) -> Result<()> {
        Ok(())
    }
}
