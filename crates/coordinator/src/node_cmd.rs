//! `collbench node`: one bench-node, with credentials from the environment.

use std::time::Duration;

use anyhow::{Context, Result};
use bench_node::credentials::NodeCredentials;
use bench_node::{run_node, NodeConfig};

use crate::cli::NodeArgs;

pub async fn run(args: NodeArgs) -> Result<()> {
    if args.rank >= args.nranks {
        anyhow::bail!("--rank {} is not below --nranks {}", args.rank, args.nranks);
    }
    let credentials = NodeCredentials::from_env().context("reading this node's credentials")?;
    let host = args.host.clone().unwrap_or_else(hostname);
    let cfg = NodeConfig {
        coordinator: args.coordinator,
        rank: args.rank,
        nranks: args.nranks,
        bind: args.bind,
        host,
        credentials,
        setup_timeout: Duration::from_secs(args.setup_timeout),
    };
    run_node(cfg)
        .await
        .with_context(|| format!("bench-node rank {}", args.rank))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
