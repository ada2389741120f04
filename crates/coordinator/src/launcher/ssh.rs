//! The ssh launcher: one `collbench node` per slot of the hosts in `--hostfile`, started with
//! the system `ssh` (BatchMode=yes, so `~/.ssh/config`, agents and jump hosts apply and
//! nothing ever prompts).
//!
//! Before anything runs, every host is checked in parallel over ssh: it must accept the
//! connection and key, have the binary (at `--remote-exe`, or receive a copy of this one into a
//! private temporary directory), and reach the coordinator's `--listen` address (a probe
//! datagram, see [`probe`](crate::probe)). Every host that fails is named with the reason, and
//! nothing starts.
//!
//! Credentials never touch the remote disk and never appear in a command line (which `ps`
//! shows to every user): each node reads them from its ssh session's stdin, which then stays
//! open; when the session ends (the coordinator killed the local ssh, or died), the node's
//! stdin closes and it exits.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::oneshot;
use tracing::{info, warn};
use transport::credentials::random_token;

use super::cluster_args::ClusterOptions;
use super::ssh_remote::{classify, host_name, preflight_script, sh_line, ssh_args};
use super::{watch, LaunchContext, Launcher, NodeProcess};
use crate::credentials_io;
use crate::probe;

/// How long the coordinator waits for probe datagrams after every host's probe has finished.
const PROBE_WAIT: Duration = Duration::from_secs(3);

pub struct Ssh {
    opts: ClusterOptions,
    /// The binary's path on each host that passed preflight.
    exe_on: BTreeMap<String, String>,
    /// Private directories made on hosts (copy mode), removed at teardown.
    copies: BTreeMap<String, String>,
    /// Held open while nodes run: dropping one closes that node's stdin.
    stdin_holders: Vec<oneshot::Sender<()>>,
}

impl Ssh {
    pub fn new(opts: ClusterOptions) -> Ssh {
        Ssh {
            opts,
            exe_on: BTreeMap::new(),
            copies: BTreeMap::new(),
            stdin_holders: Vec::new(),
        }
    }

    fn ssh(&self, host: &str, script: &str) -> StdCommand {
        let mut c = StdCommand::new("ssh");
        c.args(ssh_args(&self.opts.ssh_options, host, script));
        c
    }

    /// `--listen`, or the address this machine uses to reach the first host.
    fn listen_addr(&self) -> Result<SocketAddr> {
        if let Some(l) = self.opts.listen {
            return Ok(l);
        }
        let first = self.opts.hosts.first().ok_or_else(|| anyhow!("no hosts"))?;
        let name = host_name(&first.host);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        let to = (name, 22)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .with_context(|| {
                format!(
                    "--listen: '{name}' does not resolve here, so the address nodes should dial \
                     is unknown; give it with --listen IP"
                )
            })?;
        let ip = crate::node_addr::route_source(to)?;
        info!(%ip, via = name, "listening on the address that reaches the first host");
        Ok(SocketAddr::new(ip, 0))
    }

    /// Checks every host in parallel (ssh, binary, reachability of `coordinator`); returns one
    /// message naming every host that failed.
    fn preflight(&mut self, socket: &std::net::UdpSocket, coordinator: SocketAddr) -> Result<()> {
        let hosts: Vec<(String, usize)> = self
            .opts
            .hosts
            .iter()
            .map(|h| (h.host.clone(), h.line))
            .collect();
        let exe_bytes = match &self.opts.remote_exe {
            Some(_) => None,
            None => Some(std::env::current_exe().context("locating this binary to copy it")?),
        };
        let mut nonces = BTreeMap::new();
        let mut jobs = Vec::new();
        for (host, _) in &hosts {
            let nonce = random_token()?;
            jobs.push((
                host.clone(),
                self.start_probe(host, coordinator, &nonce, exe_bytes.as_deref())?,
            ));
            nonces.insert(host.clone(), nonce);
        }
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        for (host, child) in jobs {
            let out = child.wait_with_output().context("waiting for ssh")?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let exe = match &self.opts.remote_exe {
                Some(p) => p.clone(),
                None => {
                    // The copy's directory is the first line, printed before anything can fail.
                    if let Some(dir) = stdout.lines().next().filter(|d| d.starts_with('/')) {
                        self.copies.insert(host.clone(), dir.to_string());
                    }
                    match self.copies.get(&host) {
                        Some(d) => format!("{d}/collbench"),
                        None => "(a temporary directory)".into(),
                    }
                }
            };
            if out.status.success() {
                self.exe_on.insert(host, exe);
            } else {
                let why = classify(
                    out.status.code(),
                    &String::from_utf8_lossy(&out.stderr),
                    &exe,
                );
                failed.insert(host, why);
            }
        }
        // Hosts that ran their probe: did the datagrams arrive?
        let expected: BTreeSet<String> = self
            .exe_on
            .keys()
            .filter_map(|h| nonces.get(h).cloned())
            .collect();
        let seen = probe::receive(socket, &expected, PROBE_WAIT)?;
        for host in self.exe_on.keys() {
            if nonces.get(host).is_some_and(|n| !seen.contains(n)) {
                failed.insert(
                    host.clone(),
                    format!(
                        "cannot reach the coordinator at {coordinator}: its probe never arrived \
                         (give --listen an address of this machine that the host can reach, and \
                         let UDP through)"
                    ),
                );
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        refused_hosts(&hosts, &failed)
    }

    /// Starts the probe on `host`: copies this binary there (from `exe`) unless `--remote-exe`
    /// names one, and has it send `nonce` to the coordinator.
    fn start_probe(
        &self,
        host: &str,
        coordinator: SocketAddr,
        nonce: &str,
        exe: Option<&std::path::Path>,
    ) -> Result<std::process::Child> {
        let script = preflight_script(
            self.opts.remote_exe.as_deref(),
            &coordinator.to_string(),
            nonce,
        );
        let mut cmd = self.ssh(host, &script);
        match exe {
            Some(path) => {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                cmd.stdin(Stdio::from(file));
            }
            None => {
                cmd.stdin(Stdio::null());
            }
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().context("starting ssh (is OpenSSH installed?)")
    }

    fn remove_copies(&mut self) -> Result<()> {
        let copies = std::mem::take(&mut self.copies);
        let mut children = Vec::new();
        for (host, dir) in &copies {
            let script = format!("rm -rf {}", super::ssh_remote::sh_quote(dir));
            let mut c = self.ssh(host, &script);
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            match c.spawn() {
                Ok(child) => children.push((host, dir, child)),
                Err(e) => warn!("removing {dir} on {host}: {e}"),
            }
        }
        let mut errors = Vec::new();
        for (host, dir, child) in children {
            match child.wait_with_output() {
                Ok(o) if o.status.success() => {}
                Ok(o) => errors.push(format!(
                    "{host}: removing {dir}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => errors.push(format!("{host}: removing {dir}: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("{}", errors.join("; ")))
        }
    }
}

impl Launcher for Ssh {
    fn name(&self) -> &'static str {
        "ssh"
    }

    fn prepare(&mut self, _run_id: &str) -> Result<std::net::UdpSocket> {
        let listen = self.listen_addr()?;
        let socket = transport::tls::udp_socket(listen)
            .with_context(|| format!("--listen {listen}: binding the control socket"))?;
        let bound = socket.local_addr()?;
        self.preflight(&socket, bound)?;
        Ok(socket)
    }

    fn launch(&mut self, ctx: &LaunchContext<'_>) -> Result<Vec<NodeProcess>> {
        let nranks = ctx.creds.ranks.len();
        let placement = super::ssh_hostfile::place(&self.opts.hosts, nranks)
            .ok_or_else(|| anyhow!("{nranks} ranks do not fit the hostfile's slots"))?;
        let mut nodes = Vec::with_capacity(nranks);
        for (rank, &h) in placement.iter().enumerate() {
            let host = self.opts.hosts[h].host.clone();
            let exe = self
                .exe_on
                .get(&host)
                .ok_or_else(|| anyhow!("launch before prepare"))?;
            let words: Vec<String> = [
                exe.as_str(),
                "node",
                "--coordinator",
                &ctx.coordinator.to_string(),
                "--rank",
                &rank.to_string(),
                "--nranks",
                &nranks.to_string(),
                "--bind",
                "auto",
                "--host",
                host_name(&host),
                "--credentials-stdin",
                "--setup-timeout",
                &self.opts.setup_timeout.as_secs().to_string(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let mut cmd = Command::new("ssh");
            cmd.args(ssh_args(&self.opts.ssh_options, &host, &sh_line(&words)))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            let mut child = cmd
                .spawn()
                .with_context(|| format!("starting ssh to {host} for rank {rank}"))?;
            let stdin = child.stdin.take().context("ssh's stdin")?;
            let text = format!(
                "{}{}\n",
                credentials_io::to_text(&ctx.creds.for_rank(rank)),
                credentials_io::END
            );
            let (hold, held) = oneshot::channel::<()>();
            self.stdin_holders.push(hold);
            tokio::spawn(feed_stdin(stdin, text, held));
            if let Some(err) = child.stderr.take() {
                tokio::spawn(forward_stderr(err, format!("rank {rank} on {host}")));
            }
            nodes.push(watch(rank, child, ctx.events));
        }
        Ok(nodes)
    }

    fn teardown(&mut self) -> Result<()> {
        // Closes every node's stdin: one still running exits.
        self.stdin_holders.clear();
        self.remove_copies()
            .context("removing the binary copied to the hosts")
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        if !self.copies.is_empty() {
            if let Err(e) = self.teardown() {
                warn!("{e:#}");
            }
        }
    }
}

/// Writes a node's credentials into its ssh session, then keeps the pipe open until `held`
/// resolves or is dropped.
async fn feed_stdin(
    mut stdin: tokio::process::ChildStdin,
    text: String,
    held: oneshot::Receiver<()>,
) {
    if let Err(e) = stdin.write_all(text.as_bytes()).await {
        warn!("writing credentials to ssh: {e}");
        return;
    }
    let _ = stdin.flush().await;
    let _ = held.await;
}

/// Copies a node's stderr (its errors, ssh's complaints) to ours, each line marked.
async fn forward_stderr(err: tokio::process::ChildStderr, label: String) {
    let mut lines = BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{label}] {line}");
    }
}

/// The error naming every host that cannot take part, with its hostfile line and why.
fn refused_hosts(hosts: &[(String, usize)], failed: &BTreeMap<String, String>) -> Result<()> {
    let lines: Vec<String> = hosts
        .iter()
        .filter_map(|(h, line)| {
            failed
                .get(h)
                .map(|why| format!("  {h} (hostfile line {line}): {why}"))
        })
        .collect();
    bail!(
        "ssh launcher: {} of {} hosts cannot take part; nothing was started:\n{}",
        failed.len(),
        hosts.len(),
        lines.join("\n")
    )
}
