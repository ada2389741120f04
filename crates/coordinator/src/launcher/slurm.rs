//! The Slurm launcher: inside an allocation (`salloc`, or the script of `sbatch`), one `srun`
//! job step starts a `collbench node` per task; each takes its rank and the rank count from
//! SLURM_PROCID and SLURM_NTASKS.
//!
//! Credentials: every rank's certificate, key and the token are written to a private
//! directory (0700, files 0600) under `--shared-dir` (default `$HOME/.collbench`), which must be
//! on a filesystem every node of the allocation sees; each node reads its own file, and the
//! directory is removed when the run ends. Nothing secret is on a command line or in the
//! environment srun copies to the tasks.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use tracing::info;

use super::cluster_args::ClusterOptions;
use super::{describe_exit, LaunchContext, Launcher, NodeProcess};
use crate::credentials_io::{self, PrivateDir};
use crate::events::Event;

/// How long srun gets to stop its tasks after SIGTERM before it is killed.
const TERM_GRACE: Duration = Duration::from_secs(5);

pub struct Slurm {
    opts: ClusterOptions,
    run_id: String,
    creds_dir: Option<PrivateDir>,
}

/// The allocation this process runs in, from Slurm's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub job_id: String,
    pub ntasks: usize,
    pub nodes: usize,
}

impl Allocation {
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Allocation> {
        let job_id = env("SLURM_JOB_ID").ok_or_else(|| {
            anyhow!(
                "--launcher slurm runs inside a Slurm allocation (salloc, or an sbatch script \
                 such as scripts/slurm/collbench.sbatch); SLURM_JOB_ID is not set"
            )
        })?;
        let num = |var: &str| -> Result<usize> {
            let v = env(var).ok_or_else(|| anyhow!("{var} is not set in the allocation"))?;
            v.trim()
                .parse()
                .map_err(|_| anyhow!("{var}='{v}' is not a whole number"))
        };
        Ok(Allocation {
            job_id,
            ntasks: num("SLURM_NTASKS")?,
            nodes: num("SLURM_JOB_NUM_NODES").unwrap_or(1),
        })
    }
}

impl Slurm {
    pub fn new(opts: ClusterOptions) -> Slurm {
        Slurm {
            opts,
            run_id: String::new(),
            creds_dir: None,
        }
    }

    /// `--listen`, or the address this host's name resolves to.
    fn listen_addr(&self, alloc: &Allocation) -> Result<SocketAddr> {
        if let Some(l) = self.opts.listen {
            return Ok(l);
        }
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .context("reading this host's name")?
            .trim()
            .to_string();
        let ip: IpAddr = (name.as_str(), 0)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.find(|s| s.is_ipv4()).or_else(|| a.next()))
            .map(|s| s.ip())
            .with_context(|| {
                format!("--listen: this host's name '{name}' does not resolve; give --listen IP")
            })?;
        if ip.is_loopback() && alloc.nodes > 1 {
            bail!(
                "--listen: this host's name '{name}' resolves to {ip}, which the allocation's \
                 other {} nodes cannot dial; give --listen with this host's cluster address",
                alloc.nodes - 1
            );
        }
        Ok(SocketAddr::new(ip, 0))
    }

    /// The parent of the run's credentials directory, made 0700 if it does not exist.
    fn shared_dir(&self) -> Result<PathBuf> {
        let dir = match &self.opts.shared_dir {
            Some(d) => d.clone(),
            None => PathBuf::from(
                std::env::var_os("HOME")
                    .ok_or_else(|| anyhow!("--shared-dir: HOME is not set; give a directory"))?,
            )
            .join(".collbench"),
        };
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(credentials_io::DIR_MODE)
                .create(&dir)
                .with_context(|| format!("--shared-dir: creating {}", dir.display()))?;
        }
        Ok(dir)
    }
}

impl Launcher for Slurm {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn prepare(&mut self, run_id: &str) -> Result<std::net::UdpSocket> {
        let alloc = Allocation::from_env(|k| std::env::var(k).ok())?;
        self.run_id = run_id.to_string();
        let listen = self.listen_addr(&alloc)?;
        info!(job = %alloc.job_id, tasks = alloc.ntasks, nodes = alloc.nodes, %listen, "in a Slurm allocation");
        transport::tls::udp_socket(listen)
            .with_context(|| format!("--listen {listen}: binding the control socket"))
    }

    fn launch(&mut self, ctx: &LaunchContext<'_>) -> Result<Vec<NodeProcess>> {
        let nranks = ctx.creds.ranks.len();
        let alloc = Allocation::from_env(|k| std::env::var(k).ok())?;
        if nranks > alloc.ntasks {
            bail!(
                "--np {nranks} is more than the allocation's {} tasks (SLURM_NTASKS); srun would \
                 wait for CPUs that never come. Ask for more (sbatch -n {nranks}) or run fewer ranks",
                alloc.ntasks
            );
        }
        let parent = self.shared_dir()?;
        let dir = PrivateDir::create(&parent.join(format!("run-{}", self.run_id)))?;
        for (name, text) in credentials_io::files(ctx.creds, false) {
            dir.write(&name, &text)?;
        }
        let mut cmd = Command::new("srun");
        cmd.arg(format!("--ntasks={nranks}"))
            .arg("--kill-on-bad-exit=1")
            .arg("--label")
            .args(&self.opts.srun_args)
            .arg(ctx.exe)
            .arg("node")
            .args(["--rank-from", "slurm", "--nranks", &nranks.to_string()])
            .args(["--coordinator", &ctx.coordinator.to_string()])
            .args(["--bind", "auto"])
            .arg("--credentials-dir")
            .arg(dir.path())
            .args([
                "--setup-timeout",
                &self.opts.setup_timeout.as_secs().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // SLURM_NTASKS of the allocation must not override --ntasks of this step.
            .env_remove("SLURM_NTASKS")
            .env_remove("SLURM_NPROCS");
        self.creds_dir = Some(dir);
        let mut child = cmd
            .spawn()
            .context("starting srun (is this a Slurm client host?)")?;
        let failed_task = Arc::new(Mutex::new(None));
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward_stderr(err, failed_task.clone()));
        }
        Ok(watch_step(child, nranks, failed_task, ctx.events))
    }

    fn teardown(&mut self) -> Result<()> {
        if let Some(mut d) = self.creds_dir.take() {
            d.remove()
                .context("removing the run's credentials directory")?;
        }
        Ok(())
    }
}

/// The task number in a line such as `srun: error: node1: task 2: Exited with exit code 1`.
pub fn failed_task_of(line: &str) -> Option<usize> {
    if !line.starts_with("srun: error:") {
        return None;
    }
    let rest = &line[line.find("task ")? + 5..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

async fn forward_stderr(err: tokio::process::ChildStderr, failed: Arc<Mutex<Option<usize>>>) {
    let mut lines = BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(t) = failed_task_of(&line) {
            if let Ok(mut f) = failed.lock() {
                f.get_or_insert(t);
            }
        }
        eprintln!("[srun] {line}");
    }
}

/// Watches the one srun step that runs every rank. A kill asked for any rank stops the step
/// (SIGTERM, which srun passes to its tasks, then SIGKILL); when srun ends, every rank is
/// reported exited, the task srun named as failing first.
fn watch_step(
    mut child: tokio::process::Child,
    nranks: usize,
    failed_task: Arc<Mutex<Option<usize>>>,
    events: &mpsc::UnboundedSender<Event>,
) -> Vec<NodeProcess> {
    let (kill_tx, mut kill_rx) = mpsc::unbounded_channel::<()>();
    let mut nodes = Vec::with_capacity(nranks);
    for rank in 0..nranks {
        let (tx, rx) = oneshot::channel::<()>();
        let kill_tx = kill_tx.clone();
        tokio::spawn(async move {
            if rx.await.is_ok() {
                let _ = kill_tx.send(());
            }
        });
        nodes.push(NodeProcess::new(rank, None, tx));
    }
    drop(kill_tx);
    let pid = child.id();
    let events = events.clone();
    tokio::spawn(async move {
        let status = tokio::select! {
            s = child.wait() => s,
            Some(()) = kill_rx.recv() => {
                if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
                match tokio::time::timeout(TERM_GRACE, child.wait()).await {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = child.start_kill();
                        child.wait().await
                    }
                }
            }
        };
        let status = match status {
            Ok(s) => format!("srun (the step running every rank) {}", describe_exit(s)),
            Err(e) => format!("srun could not be waited for: {e}"),
        };
        let first = failed_task.lock().ok().and_then(|f| *f);
        let order = first
            .into_iter()
            .chain((0..nranks).filter(|r| Some(*r) != first));
        for rank in order {
            let _ = events.send(Event::Exited {
                rank,
                status: status.clone(),
            });
        }
    });
    nodes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn allocation_from_env() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let a = Allocation::from_env(env(&[
            ("SLURM_JOB_ID", "7"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_JOB_NUM_NODES", "2"),
        ]))
        .unwrap();
        assert_eq!(
            a,
            Allocation {
                job_id: "7".into(),
                ntasks: 4,
                nodes: 2
            }
        );
        let e = Allocation::from_env(env(&[])).unwrap_err();
        assert!(e.to_string().contains("SLURM_JOB_ID is not set"), "{e}");
        let e =
            Allocation::from_env(env(&[("SLURM_JOB_ID", "7"), ("SLURM_NTASKS", "x")])).unwrap_err();
        assert_eq!(e.to_string(), "SLURM_NTASKS='x' is not a whole number");
    }

    #[test]
    fn failing_tasks_are_read_from_srun() {
        assert_eq!(
            failed_task_of("srun: error: vm: task 2: Exited with exit code 1"),
            Some(2)
        );
        assert_eq!(failed_task_of("srun: error: vm: tasks 0-1: Killed"), None);
        assert_eq!(failed_task_of("2: collbench: error: task 3"), None);
    }
}
