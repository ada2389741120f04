//! `collbench node`: one bench-node. Its rank comes from flags or the workload manager's
//! environment ([`node_env`](crate::node_env)), its credentials from the environment, stdin or
//! a private directory ([`credentials_io`](crate::credentials_io)).

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, Result};
use bench_node::{run_node, NodeConfig};
use transport::credentials::NodeCredentials;

use crate::cli::NodeArgs;
use crate::{credentials_io, node_addr, node_env};

/// Exit status of a node whose launcher's ssh session closed its stdin.
pub const STDIN_CLOSED_EXIT: i32 = 3;

pub async fn run(args: NodeArgs) -> Result<()> {
    let (rank, nranks) = node_env::resolve(args.rank, args.nranks, args.rank_from, |k| {
        std::env::var(k).ok()
    })?;
    let credentials = credentials(&args, rank).context("reading this node's credentials")?;
    let setup_timeout = Duration::from_secs(args.setup_timeout);
    let coordinator = node_addr::resolve_coordinator(&args.coordinator, setup_timeout).await?;
    let bind = node_addr::bind_addr(&args.bind, coordinator)?;
    let host = args.host.clone().unwrap_or_else(hostname);
    let cfg = NodeConfig {
        coordinator,
        rank,
        nranks,
        bind,
        host,
        credentials,
        setup_timeout,
    };
    run_node(cfg)
        .await
        .with_context(|| format!("bench-node rank {rank}"))
}

fn credentials(args: &NodeArgs, rank: usize) -> Result<NodeCredentials> {
    if args.credentials_stdin {
        let stdin = std::io::stdin();
        let creds = credentials_io::read_stream(stdin.lock())?;
        // The rest of stdin is the launcher's session: when it closes, the coordinator is gone
        // (or killed this node's ssh), and the node must not outlive it.
        std::thread::spawn(|| {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            eprintln!("collbench node: the launcher's session closed stdin; exiting");
            std::process::exit(STDIN_CLOSED_EXIT);
        });
        return Ok(creds);
    }
    if let Some(dir) = &args.credentials_dir {
        return Ok(credentials_io::read_rank(dir, rank)?);
    }
    Ok(NodeCredentials::from_env()?)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
