//! One run, end to end: credentials, control endpoint, launch, registration, plan, barriers,
//! reports, results, and clean-up on every path out.
//!
//! The pieces: [`sweep`] (barriers, reports, rows, fault hooks), [`pingpong`] (the
//! `--pingpong` phase after the sweep), [`wait`] (the next event and the deadlines),
//! [`liveness`] (heartbeats, silence and progress limits, the culprit), [`failure`] (what a
//! failed run says and records), [`cleanup`] (abort, reap).

mod cleanup;
mod failure;
mod liveness;
mod pingpong;
mod registration;
mod slot;
mod sweep;
mod wait;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use base64::Engine;
use tokio::sync::mpsc;
use topologies::{hier, torus2d, Algorithm};
use tracing::info;
use transport::credentials::random_token;
use transport::credentials::RunCredentials;
use transport::{settings, tls};
use wire::control::{FromCoordinator, PeerInfo, Plan, TransportParams, CONTROL_IDLE_TIMEOUT_MS};
use wire::results::{IterationTiming, RankHost, ResultsFile, RunConfig, SCHEMA_VERSION};

use self::failure::RunFailure;
use self::liveness::Liveness;
use self::slot::Slot;
use crate::channels::{channels, cores_given, RankCpus};
use crate::clock;
use crate::events::Event;
use crate::launcher::faults::FaultRunner;
use crate::launcher::{Fabric, LaunchContext, Launcher, NodeProcess};
use crate::options::RunOptions;
use crate::output::table;
use crate::output::writer::ResultsWriter;
use crate::progress::Progress;
use transport::refusals::Refusals;

/// How long nodes get to exit after the run.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long nodes get to exit after an abort before they are killed.
const ABORT_GRACE: Duration = Duration::from_secs(2);

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
    /// The ranks at each barrier not yet released.
    arrivals: BTreeMap<u64, BTreeSet<usize>>,
    exited: BTreeSet<usize>,
    /// `--fault` hooks not fired yet.
    faults: FaultRunner,
    liveness: Liveness,
    tick: tokio::time::Interval,
    /// When the nodes were last sent a heartbeat.
    last_beat: Instant,
    /// The cores each rank was given (see [`crate::channels::cores_given`]), once registered.
    cores: Vec<f64>,
    /// Control connections refused (intruders, strays), counted and logged in summary.
    refused: Refusals,
    /// The fabric the run uses (the launcher's, else the flags').
    fabric: Fabric,
}

/// Runs the sweep described by `opts` with the launcher it names; returns the output directory.
pub async fn run(opts: RunOptions) -> Result<PathBuf> {
    let mut launcher = crate::launcher::build(&opts);
    let result = run_with(opts, launcher.as_mut()).await;
    // The launcher's leftovers go whatever happened; a teardown error never hides a run error.
    let teardown = launcher.teardown();
    let dir = result?;
    teardown.context("cleaning up after the run")?;
    Ok(dir)
}

async fn run_with(opts: RunOptions, launcher: &mut dyn Launcher) -> Result<PathBuf> {
    let p = opts.nranks;
    let run_id = clock::run_id(&random_token().context("making the run id")?);
    let creds = Arc::new(
        launcher
            .credentials(&run_id, p)
            .context("making the run's certificates")?,
    );
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
    let fabric = launcher.fabric().or_flags(&opts);
    let mut file = initial_file(&opts, &fabric, &run_id);
    file.config.launcher = launcher.name().to_string();
    let writer = ResultsWriter::create(&dir, opts.force, file)?;

    let (params, control_params) = transport_params(&opts, &fabric);
    let endpoint = tls::endpoint_on(socket, &creds.coordinator_credentials(), &control_params)
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
        arrivals: BTreeMap::new(),
        exited: BTreeSet::new(),
        faults: FaultRunner::new(opts.faults.clone(), launcher.link_control()),
        liveness: Liveness::new(p, Instant::now()),
        last_beat: Instant::now(),
        cores: Vec::new(),
        refused: Refusals::new(),
        fabric,
        tick: {
            let mut t = tokio::time::interval(wait::TICK);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        },
        opts,
    };
    let outcome = o.drive(params).await;
    let result = o.conclude(outcome);
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

/// The data plane's QUIC settings for this fabric, and the control plane's: always encrypted
/// (only the data plane's payloads may go in clear), with its own idle timeout.
fn transport_params(opts: &RunOptions, fabric: &Fabric) -> (TransportParams, TransportParams) {
    let params = TransportParams {
        unencrypted: opts.no_encryption,
        ..settings::params(
            fabric.link_rate_bps.unwrap_or(settings::DEFAULT_RATE_BPS),
            settings::DEFAULT_RTT_S,
            // A backstop to the heartbeats (see `liveness`).
            settings::IDLE_TIMEOUT_MS,
            fabric.mtu.unwrap_or(settings::ETHERNET_MTU),
        )
    };
    let control = TransportParams {
        idle_timeout_ms: CONTROL_IDLE_TIMEOUT_MS,
        unencrypted: false,
        ..params
    };
    (params, control)
}

fn initial_file(opts: &RunOptions, fabric: &Fabric, run_id: &str) -> ResultsFile {
    // hier's and torus2d's shape as run (given, from the topology file, or the default for the
    // rank count), for the algorithms the run has: the model prices their points with it.
    let has = |a: Algorithm| opts.algorithms.contains(&a);
    let (p, b) = (opts.nranks, &opts.build);
    let hier = has(Algorithm::Hier);
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
            ring_segment_bytes: Some(opts.build.ring_segment_bytes as u64),
            hosts: Vec::new(),
            link_rate_bps: fabric.link_rate_bps,
            uplink_rate_bps: fabric.uplink_rate_bps,
            mtu: fabric.mtu,
            data_plane_unencrypted: opts.no_encryption,
            poll_us: Some(opts.poll_us),
            timing: Some(IterationTiming::BackToBack),
            group_size: hier.then(|| hier::group_size(p, b).ok()).flatten(),
            hier_inner: hier.then_some(b.hier_inner),
            hier_outer: hier.then_some(b.hier_outer),
            grid: has(Algorithm::Torus2d)
                .then(|| torus2d::grid(p, b).ok())
                .flatten(),
            channels: None,
            channel_min_bytes: Some(opts.channel_min_bytes),
        },
        results: Vec::new(),
        failure: None,
        refused: Default::default(),
        pingpong: opts.pingpong.then(Vec::new),
    }
}

impl Orchestrator {
    /// After the run: the results written with what it ended in, and on a failure the abort
    /// sent (the unresponsive culprit killed first) and the error that names it.
    fn conclude(&mut self, outcome: Result<(), RunFailure>) -> Result<PathBuf> {
        info!(
            largest_gap_ms = self.liveness.max_gap().as_millis() as u64,
            "heartbeats: largest gap between two messages of one rank"
        );
        if let Some(pr) = &self.progress {
            pr.finish();
        }
        for line in self.refused.flush(Instant::now()) {
            tracing::warn!("{line}");
        }
        self.note_refusals();
        let f = match outcome {
            Ok(()) => {
                self.writer.flush().context("writing results")?;
                return Ok(self.writer.dir().to_path_buf());
            }
            Err(f) => f,
        };
        let failure = self.failure_record(&f);
        if let (true, Some(rank)) = (f.unresponsive, f.rank) {
            self.kill_rank(rank);
        }
        self.abort(&f.message);
        let written = self.writer.fail(failure);
        let dir = self.writer.dir().display().to_string();
        match written {
            Ok(()) => Err(anyhow::anyhow!("{}", f.message))
                .with_context(|| format!("run failed; results so far are in {dir}")),
            Err(e) => Err(anyhow::anyhow!("{}", f.message))
                .with_context(|| format!("run failed, and recording it in {dir} failed: {e:#}")),
        }
    }

    /// Puts the refusals counted so far into the results file (written with the next row):
    /// the coordinator's own and the latest total each node reported.
    fn note_refusals(&mut self) {
        let mut refused = self.refused.totals();
        let data: u64 = (0..self.nranks)
            .filter_map(|r| self.liveness.position(r).map(|h| h.refused))
            .sum();
        if data > 0 {
            refused.insert("data-plane connection".into(), data);
        }
        self.writer.file.refused = refused;
    }

    async fn drive(&mut self, params: wire::control::TransportParams) -> Result<(), RunFailure> {
        self.register().await?;
        let rank_cpus: Vec<RankCpus> = self
            .slots
            .iter()
            .flatten()
            .map(|s| s.cpus.clone())
            .collect();
        self.cores = cores_given(&rank_cpus);
        let count = channels(self.opts.channels, &self.cores);
        self.open_channels(count).await?;
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
                    data_addrs: s.data_addrs.clone(),
                    cpus: Some(wire::cpus::format(&s.cpus.cpus)),
                    cores: self.cores.get(rank).copied(),
                })
            })
            .collect();
        self.writer.file.config.hosts = hosts;
        self.writer.file.config.channels = Some(count);
        self.writer
            .flush()
            .map_err(|e| RunFailure::new(format!("writing results: {e:#}")))?;
        print!("{}", table::run_header(&self.writer.file.config));

        let plan = self.plan(params, count);
        self.broadcast(&FromCoordinator::Plan(plan))?;
        // Nodes send Ready once their data plane is up and then go straight to the first
        // barrier, which is released only when every rank has arrived; so the sweep's loop
        // takes both.
        self.sweep().await?;
        if self.opts.pingpong {
            self.pingpong().await?;
        }
        self.broadcast(&FromCoordinator::Done)
    }

    fn plan(&self, transport: wire::control::TransportParams, channels: u32) -> Plan {
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
                    data_addrs: s.as_ref().map(|s| s.data_addrs.clone()).unwrap_or_default(),
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
            pingpong: self.opts.pingpong,
            poll_us: self.opts.poll_us,
            channels,
            channel_min_bytes: self.opts.channel_min_bytes,
        }
    }
}
