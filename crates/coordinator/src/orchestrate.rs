//! One run, end to end: credentials, control endpoint, launch, registration, plan, barriers,
//! reports, results, and clean-up on every path out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use bench_node::control_io;
use bench_node::credentials::{random_token, RunCredentials};
use bench_node::tls;
use tokio::sync::mpsc;
use topologies::Algorithm;
use tracing::{info, warn};
use wire::control::{FromCoordinator, PeerInfo, Placement, Plan, Report};
use wire::results::{Failure, RankHost, ResultRow, ResultsFile, RunConfig, SCHEMA_VERSION};
use wire::FromNode;

use crate::aggregate::measure;
use crate::events::{Event, Registered};
use crate::launcher::faults::FaultRunner;
use crate::launcher::netns::Netns;
use crate::launcher::{LaunchContext, Launcher, Local, NodeProcess};
use crate::options::{LauncherKind, RunOptions};
use crate::output::table;
use crate::output::writer::ResultsWriter;
use crate::progress::Progress;
use crate::{clock, transport};

/// How long nodes get to start, register and connect to each other.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long nodes get to exit after the run.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long nodes get to exit after an abort before they are killed.
const ABORT_GRACE: Duration = Duration::from_secs(1);
/// QUIC idle timeout: a peer silent this long (no keep-alives) is dead.
const IDLE_TIMEOUT_MS: u64 = 10_000;

/// Why a run stopped, with whatever is known of where.
#[derive(Debug, Default)]
struct RunFailure {
    message: String,
    rank: Option<usize>,
    algorithm: Option<Algorithm>,
    size: Option<u64>,
}

impl RunFailure {
    fn new(message: impl Into<String>) -> Self {
        RunFailure {
            message: message.into(),
            ..Default::default()
        }
    }
}

struct Slot {
    host: String,
    pid: u32,
    data_addr: String,
    conn: quinn::Connection,
    send: quinn::SendStream,
}

type Interrupt = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

struct Orchestrator {
    opts: RunOptions,
    nranks: usize,
    run_id: String,
    creds: Arc<RunCredentials>,
    events: mpsc::UnboundedReceiver<Event>,
    nodes: Vec<NodeProcess>,
    slots: Vec<Option<Slot>>,
    writer: ResultsWriter,
    progress: Option<Progress>,
    interrupt: Interrupt,
    /// Highest barrier epoch any rank has reached.
    epoch: u64,
    exited: BTreeSet<usize>,
    /// `--fault` hooks not fired yet.
    faults: FaultRunner,
}

/// Runs the sweep described by `opts` with the launcher it names; returns the output directory.
pub async fn run(opts: RunOptions) -> Result<PathBuf> {
    let mut launcher: Box<dyn Launcher> = match opts.launcher {
        LauncherKind::Local => Box::new(Local { bind: opts.bind }),
        LauncherKind::Netns => Box::new(Netns::from_options(&opts)),
    };
    let result = run_with(opts, launcher.as_mut()).await;
    // The launcher's leftovers go whatever happened; a teardown error never hides a run error.
    let teardown = launcher.teardown();
    let dir = result?;
    teardown.context("cleaning up after the run")?;
    Ok(dir)
}

async fn run_with(mut opts: RunOptions, launcher: &mut dyn Launcher) -> Result<PathBuf> {
    let p = opts.nranks;
    let run_id = clock::run_id(&random_token().context("making the run id")?);
    let creds =
        Arc::new(RunCredentials::generate(&run_id, p).context("making the run's certificates")?);
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&run_id));
    // Checked before the launcher builds anything.
    ResultsWriter::ensure_free(&dir, opts.force)?;
    let socket = launcher
        .prepare(&run_id)
        .with_context(|| format!("preparing the {} launcher", launcher.name()))?;
    // A launcher that built the fabric knows its rates; otherwise --link-rate says.
    let fabric = launcher.fabric();
    opts.link_rate_bps = fabric.link_rate_bps.or(opts.link_rate_bps);
    opts.uplink_rate_bps = fabric.uplink_rate_bps;
    let mut file = initial_file(&opts, &run_id);
    file.config.launcher = launcher.name().to_string();
    let writer = ResultsWriter::create(&dir, opts.force, file)?;

    let params = transport::params(
        opts.link_rate_bps.unwrap_or(transport::DEFAULT_RATE_BPS),
        transport::DEFAULT_RTT_S,
        IDLE_TIMEOUT_MS,
    );
    let endpoint = tls::endpoint_on(socket, &creds.coordinator_credentials(), &params)
        .context("starting the control endpoint")?;
    let control_addr = endpoint.local_addr().context("control endpoint address")?;
    let (tx, rx) = mpsc::unbounded_channel();
    crate::control_server::spawn_acceptor(endpoint.clone(), creds.clone(), p, tx.clone());
    info!(%control_addr, run_id, "control endpoint up");

    let exe = std::env::current_exe().context("locating the collbench binary to start nodes")?;
    let nodes = launcher.launch(&LaunchContext {
        exe: &exe,
        coordinator: control_addr,
        creds: &creds,
        events: &tx,
    })?;
    drop(tx);

    let mut o = Orchestrator {
        nranks: p,
        run_id,
        creds,
        events: rx,
        nodes,
        slots: (0..p).map(|_| None).collect(),
        writer,
        progress: None,
        interrupt: Box::pin(tokio::signal::ctrl_c()),
        epoch: 0,
        exited: BTreeSet::new(),
        faults: FaultRunner::new(opts.faults.clone(), launcher.link_control()),
        opts,
    };
    let outcome = o.drive(params).await;
    if let Some(pr) = &o.progress {
        pr.finish();
    }
    let result = match outcome {
        Ok(()) => Ok(o.writer.dir().to_path_buf()),
        Err(f) => {
            let failure = o.failure_record(&f);
            o.abort(&f.message).await;
            o.writer.fail(failure)?;
            Err(anyhow::anyhow!("{}", f.message)).with_context(|| {
                format!(
                    "run failed; results so far are in {}",
                    o.writer.dir().display()
                )
            })
        }
    };
    // After a failure the nodes get a moment to take the abort, then are killed.
    o.reap(if result.is_ok() {
        EXIT_TIMEOUT
    } else {
        ABORT_GRACE
    })
    .await;
    endpoint.close(0u32.into(), b"run over");
    result
}

fn initial_file(opts: &RunOptions, run_id: &str) -> ResultsFile {
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: format!("collbench {}", env!("CARGO_PKG_VERSION")),
        config: RunConfig {
            run_id: run_id.to_string(),
            started_at: clock::rfc3339_now(),
            nranks: opts.nranks,
            launcher: "local".into(),
            algorithms: opts.algorithms.clone(),
            minbytes: opts.minbytes,
            maxbytes: opts.maxbytes,
            stepfactor: opts.stepfactor,
            sizes: opts.sizes.clone(),
            dtype: opts.dtype,
            redop: opts.op,
            warmup_iters: opts.warmup_iters,
            iters: opts.iters,
            check: opts.check,
            segment_bytes: opts.build.segment_bytes as u64,
            hosts: Vec::new(),
            link_rate_bps: opts.link_rate_bps,
            uplink_rate_bps: opts.uplink_rate_bps,
        },
        results: Vec::new(),
        failure: None,
    }
}

impl Orchestrator {
    fn host_of(&self, rank: usize) -> String {
        self.slots
            .get(rank)
            .and_then(|s| s.as_ref())
            .map(|s| format!("host {}, pid {}", s.host, s.pid))
            .or_else(|| {
                self.nodes
                    .get(rank)
                    .and_then(|n| n.pid)
                    .map(|pid| format!("pid {pid}"))
            })
            .unwrap_or_else(|| "not registered".into())
    }

    /// Which algorithm, size, placement and iteration barrier `epoch` belongs to.
    fn position(&self, epoch: u64) -> Option<(Algorithm, u64, Placement, u64)> {
        let per = u64::from(self.opts.warmup_iters + self.opts.iters);
        let idx = epoch.checked_sub(1)? / per;
        let iteration = (epoch - 1) % per;
        let placement = Placement::BOTH[(idx % 2) as usize];
        let size_idx = (idx / 2) as usize % self.opts.sizes.len();
        let algo_idx = (idx / 2) as usize / self.opts.sizes.len();
        Some((
            *self.opts.algorithms.get(algo_idx)?,
            self.opts.sizes[size_idx],
            placement,
            iteration,
        ))
    }

    fn at_rank(&self, rank: usize, message: String) -> RunFailure {
        let (algorithm, size) = match self.position(self.epoch.max(1)) {
            Some((a, s, _, _)) if self.epoch > 0 => (Some(a), Some(s)),
            _ => (None, None),
        };
        let place = match self.position(self.epoch) {
            Some((a, s, pl, it)) => format!(" during {a} {s} bytes {pl:?} iteration {it}"),
            None => " before the sweep started".into(),
        };
        RunFailure {
            message: format!("rank {rank} ({}) {message}{place}", self.host_of(rank)),
            rank: Some(rank),
            algorithm,
            size,
        }
    }

    fn failure_record(&self, f: &RunFailure) -> Failure {
        Failure {
            message: f.message.clone(),
            rank: f.rank,
            host: f
                .rank
                .and_then(|r| self.slots.get(r)?.as_ref().map(|s| s.host.clone())),
            algorithm: f.algorithm,
            size: f.size,
        }
    }

    async fn next_event(
        &mut self,
        limit: Duration,
        waiting_for: &dyn Fn(&Self) -> String,
    ) -> Result<Event, RunFailure> {
        tokio::select! {
            ev = self.events.recv() => ev.ok_or_else(|| RunFailure::new("every node and the control endpoint are gone")),
            _ = tokio::time::sleep(limit) => Err(RunFailure::new(format!(
                "no progress for {} s: {}", limit.as_secs(), waiting_for(self)))),
            _ = &mut self.interrupt => Err(RunFailure::new("interrupted (Ctrl-C)")),
        }
    }

    /// Handles the events that mean the same in every phase; returns the others.
    fn common(&mut self, ev: Event) -> Result<Option<Event>, RunFailure> {
        match ev {
            Event::Refused { remote, reason } => {
                warn!(%remote, "refused a control connection: {reason}");
                Ok(None)
            }
            Event::Exited { rank, status } => {
                self.exited.insert(rank);
                Err(self.at_rank(rank, status))
            }
            Event::Lost { rank, error } => {
                Err(self.at_rank(rank, format!("lost its control connection: {error}")))
            }
            Event::Node {
                rank,
                msg: FromNode::Failed { context, error },
            } => {
                let mut f = self.at_rank(rank, format!("failed: {context}: {error}"));
                f.message = format!(
                    "rank {rank} ({}) failed: {context}: {error}",
                    self.host_of(rank)
                );
                Err(f)
            }
            other => Ok(Some(other)),
        }
    }

    async fn drive(&mut self, params: wire::control::TransportParams) -> Result<(), RunFailure> {
        self.register().await?;
        let hosts: Vec<RankHost> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(rank, s)| {
                s.as_ref().map(|s| RankHost {
                    rank,
                    host: s.host.clone(),
                    pid: s.pid,
                    data_addr: s.data_addr.clone(),
                })
            })
            .collect();
        self.writer.file.config.hosts = hosts;
        self.writer
            .flush()
            .map_err(|e| RunFailure::new(format!("writing results: {e:#}")))?;
        print!("{}", table::run_header(&self.writer.file.config));

        let plan = self.plan(params);
        self.broadcast(&FromCoordinator::Plan(plan)).await?;
        // Nodes send Ready once their data plane is up and then go straight to the first
        // barrier, which is released only when every rank has arrived; so the sweep's loop
        // takes both.
        self.sweep().await?;
        self.broadcast(&FromCoordinator::Done).await
    }

    fn missing(&self, have: &BTreeSet<usize>) -> Vec<usize> {
        (0..self.nranks).filter(|r| !have.contains(r)).collect()
    }

    async fn register(&mut self) -> Result<(), RunFailure> {
        let mut registered = BTreeSet::new();
        while registered.len() < self.nranks {
            let waiting =
                |o: &Self| format!("ranks {:?} have not registered", o.missing(&registered));
            let ev = self.next_event(SETUP_TIMEOUT, &waiting).await?;
            match self.common(ev)? {
                Some(Event::Registered(reg)) => {
                    let Registered {
                        rank,
                        host,
                        pid,
                        data_addr,
                        conn,
                        send,
                    } = *reg;
                    if registered.contains(&rank) {
                        warn!(
                            rank,
                            "refused a second registration for a rank already taken"
                        );
                        conn.close(0x52u32.into(), b"rank already taken");
                        continue;
                    }
                    registered.insert(rank);
                    self.slots[rank] = Some(Slot {
                        host,
                        pid,
                        data_addr,
                        conn,
                        send,
                    });
                }
                Some(Event::Node { rank, msg }) => {
                    return Err(self.at_rank(rank, format!("sent {msg:?} before the plan")))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn plan(&self, transport: wire::control::TransportParams) -> Plan {
        let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
        Plan {
            run_id: self.run_id.clone(),
            nranks: self.nranks as u32,
            peers: self
                .slots
                .iter()
                .enumerate()
                .map(|(rank, s)| PeerInfo {
                    rank: rank as u32,
                    data_addr: s.as_ref().map(|s| s.data_addr.clone()).unwrap_or_default(),
                    cert_der_b64: b64(&self.creds.ranks[rank].cert_der),
                })
                .collect(),
            algorithms: self.opts.algorithms.clone(),
            sizes: self.opts.sizes.clone(),
            dtype: self.opts.dtype,
            op: self.opts.op,
            warmup_iters: self.opts.warmup_iters,
            iters: self.opts.iters,
            check: self.opts.check,
            build: self.opts.build,
            transport,
        }
    }

    async fn broadcast(&mut self, msg: &FromCoordinator) -> Result<(), RunFailure> {
        for rank in 0..self.nranks {
            let Some(slot) = self.slots[rank].as_mut() else {
                continue;
            };
            if let Err(e) = control_io::send(&mut slot.send, msg).await {
                return Err(self.at_rank(rank, format!("cannot be reached: {e}")));
            }
        }
        Ok(())
    }

    async fn sweep(&mut self) -> Result<(), RunFailure> {
        let p = self.nranks;
        let total = (self.opts.algorithms.len() * self.opts.sizes.len()) as u64;
        self.progress = Some(Progress::new(total));
        let mut arrivals: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
        let mut reports: HashMap<(Algorithm, u64, Placement), Vec<Option<Report>>> = HashMap::new();
        let mut rows_done = 0u64;
        let mut algo_rows: Vec<ResultRow> = Vec::new();
        while rows_done < total {
            let stall = self.opts.stall_timeout;
            let waiting = |o: &Self| {
                let at = arrivals.get(&o.epoch).cloned().unwrap_or_default();
                format!(
                    "ranks {:?} have not reached barrier {} ({})",
                    o.missing(&at),
                    o.epoch,
                    o.position(o.epoch)
                        .map(|(a, s, pl, it)| format!("{a} {s} bytes {pl:?} iteration {it}"))
                        .unwrap_or_default()
                )
            };
            let ev = self.next_event(stall, &waiting).await?;
            let Some(Event::Node { rank, msg }) = self.common(ev)? else {
                continue;
            };
            match msg {
                FromNode::Arrive { epoch } => {
                    self.epoch = self.epoch.max(epoch);
                    let set = arrivals.entry(epoch).or_default();
                    set.insert(rank);
                    if set.len() == p {
                        arrivals.remove(&epoch);
                        self.broadcast(&FromCoordinator::Release { epoch }).await?;
                        self.fire_faults(epoch);
                    }
                }
                FromNode::Report(r) => {
                    if !self.opts.algorithms.contains(&r.algorithm)
                        || !self.opts.sizes.contains(&r.size)
                    {
                        return Err(self.at_rank(
                            rank,
                            format!(
                                "reported {} {} bytes, which is not in the plan",
                                r.algorithm, r.size
                            ),
                        ));
                    }
                    let key = (r.algorithm, r.size, r.placement);
                    let slot = reports.entry(key).or_insert_with(|| vec![None; p]);
                    slot[rank] = Some(r);
                    let (algo, size) = (key.0, key.1);
                    let complete = |pl: Placement| {
                        reports
                            .get(&(algo, size, pl))
                            .is_some_and(|v| v.iter().all(Option::is_some))
                    };
                    if complete(Placement::OutOfPlace) && complete(Placement::InPlace) {
                        let row = self.row(algo, size, &mut reports)?;
                        rows_done += 1;
                        self.emit(row, &mut algo_rows)?;
                    }
                }
                FromNode::Ready {} => {}
                other => return Err(self.at_rank(rank, format!("sent {other:?} during the sweep"))),
            }
        }
        if self.opts.algorithms.len() > 1 {
            let text = crate::compare::render(&self.writer.file.results);
            if let Some(pr) = &self.progress {
                pr.println(&text);
            }
        }
        Ok(())
    }

    fn row(
        &mut self,
        algo: Algorithm,
        size: u64,
        reports: &mut HashMap<(Algorithm, u64, Placement), Vec<Option<Report>>>,
    ) -> Result<ResultRow, RunFailure> {
        let iters = self.opts.iters as usize;
        let mut take = |pl: Placement| -> Result<_, RunFailure> {
            let list: Vec<Report> = reports
                .remove(&(algo, size, pl))
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            measure(&list, iters, size).map_err(|e| RunFailure {
                message: e.to_string(),
                algorithm: Some(algo),
                size: Some(size),
                ..Default::default()
            })
        };
        let out_of_place = take(Placement::OutOfPlace)?;
        let in_place = take(Placement::InPlace)?;
        let link = self.opts.link_rate_bps;
        Ok(ResultRow {
            algorithm: algo,
            nranks: self.nranks,
            size,
            count: size / self.opts.dtype.size() as u64,
            dtype: self.opts.dtype,
            redop: self.opts.op,
            root: -1,
            link_efficiency: link.map(|bps| out_of_place.bus_bw * 8e9 / bps),
            out_of_place,
            in_place,
            link_rate_bps: link,
            uplink_rate_bps: self.opts.uplink_rate_bps,
        })
    }

    /// Prints a finished row (with its table's header and footer) and writes the results files.
    fn emit(&mut self, row: ResultRow, algo_rows: &mut Vec<ResultRow>) -> Result<(), RunFailure> {
        let Some(pr) = self.progress.as_mut() else {
            return Ok(());
        };
        if algo_rows
            .first()
            .is_some_and(|r| r.algorithm != row.algorithm)
        {
            algo_rows.clear();
        }
        if algo_rows.is_empty() {
            pr.println(table::table_header(row.algorithm.name()).trim_end());
        }
        pr.println(&table::row(&row));
        let last_size = self.opts.sizes.last() == Some(&row.size);
        pr.step(&format!(
            "{} {}",
            row.algorithm,
            crate::sizes::format_size(row.size)
        ));
        algo_rows.push(row.clone());
        if last_size {
            let refs: Vec<&ResultRow> = algo_rows.iter().collect();
            pr.println(table::footer(&refs).trim_end());
            if let Some(line) = table::link_efficiency(&refs) {
                pr.println(&line);
            }
        }
        self.writer
            .push(row)
            .map_err(|e| RunFailure::new(format!("writing results: {e:#}")))
    }

    /// Fires the `--fault` hooks of a size once its first barrier is released.
    fn fire_faults(&mut self, epoch: u64) {
        if let Some((_, size, Placement::OutOfPlace, 0)) = self.position(epoch) {
            let nodes = &self.nodes;
            let pid_of = |rank: usize| nodes.get(rank).and_then(|n| n.pid);
            for line in self.faults.size_started(size, &pid_of) {
                if let Some(pr) = &self.progress {
                    pr.println(&format!("# {line}"));
                }
            }
        }
    }

    /// Tells every reachable node to stop (best effort).
    async fn abort(&mut self, reason: &str) {
        let msg = FromCoordinator::Abort {
            reason: reason.to_string(),
        };
        for slot in self.slots.iter_mut().flatten() {
            let _ = tokio::time::timeout(
                Duration::from_millis(200),
                control_io::send(&mut slot.send, &msg),
            )
            .await;
        }
    }

    /// Waits for every launched node to exit; kills those that do not in time.
    async fn reap(&mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while self.exited.len() < self.nodes.len() {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(Event::Exited { rank, status })) => {
                    info!(rank, "node {status}");
                    self.exited.insert(rank);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    for n in self
                        .nodes
                        .iter_mut()
                        .filter(|n| !self.exited.contains(&n.rank))
                    {
                        warn!(rank = n.rank, pid = ?n.pid, "node did not exit; killing it");
                        n.kill();
                    }
                    // Give the kills a moment to be reported.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while self.exited.len() < self.nodes.len() {
                            match self.events.recv().await {
                                Some(Event::Exited { rank, .. }) => {
                                    self.exited.insert(rank);
                                }
                                Some(_) => {}
                                None => break,
                            }
                        }
                    })
                    .await;
                    break;
                }
            }
        }
        for slot in self.slots.iter().flatten() {
            slot.conn.close(0u32.into(), b"run over");
        }
    }
}
