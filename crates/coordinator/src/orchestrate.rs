//! One run, end to end: credentials, control endpoint, launch, then the run itself — a pure
//! state machine (`run-core`) that this module drives: [`driver`] turns connections, messages,
//! exits, the timer and Ctrl-C into its inputs and carries out its commands, [`print`] shows and
//! writes the rows, [`cleanup`] reaps the nodes on every path out.

mod cleanup;
mod driver;
mod print;
mod slot;

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use base64::Engine;
use run_core::polling::Polling;
use run_core::{Run, RunSpec};
use tokio::sync::mpsc;
use topologies::{hier, torus2d, Algorithm};
use tracing::info;
use transport::credentials::{random_token, RunCredentials};
use transport::refusals::Refusals;
use transport::{settings, tls};
use wire::control::{TransportParams, CONTROL_IDLE_TIMEOUT_MS};
use wire::results::{Failure, IterationTiming, ResultRow, ResultsFile, RunConfig, SCHEMA_VERSION};

use self::slot::Slot;
use crate::clock;
use crate::events::Event;
use crate::launcher::faults::{FaultKind, FaultRunner};
use crate::launcher::{Fabric, LaunchContext, Launcher, NodeProcess};
use crate::options::{LauncherKind, RunOptions};
use crate::output::writer::ResultsWriter;
use crate::progress::Progress;

/// How long nodes get to exit after the run.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long nodes get to exit after an abort before they are killed.
const ABORT_GRACE: Duration = Duration::from_secs(2);

type Interrupt = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// Everything the run needs that is not pure: the nodes' processes and control streams, the
/// events, the timer, the results files, the terminal.
struct Driver {
    run: Run,
    nranks: usize,
    /// Algorithms of the sweep, every cycle of -N counted (for the progress bar).
    algorithms: usize,
    sizes: Vec<u64>,
    pingpong: bool,
    /// `--min-busbw`: each table's footer says OK or FAILED against it.
    min_busbw: Option<f64>,
    /// `-I 1`: the per-iteration columns.
    per_iter_columns: bool,
    /// `-J FILE`: nccl-tests' JSON ("-": stdout).
    nccl_json: Option<PathBuf>,
    events: mpsc::UnboundedReceiver<Event>,
    nodes: Vec<NodeProcess>,
    slots: Vec<Option<Slot>>,
    writer: ResultsWriter,
    progress: Option<Progress>,
    interrupt: Interrupt,
    exited: BTreeSet<usize>,
    /// `--fault` hooks not fired yet.
    faults: FaultRunner,
    tick: tokio::time::Interval,
    /// The cores each rank was given, once the ranks are up (for the CPU warning).
    cores: Vec<f64>,
    /// Control connections refused (intruders, strays), counted and logged in summary.
    refused: Refusals,
    /// The rows of the algorithm being printed (its table's footer needs them).
    algo_rows: Vec<ResultRow>,
    /// What run-core said the run ended in, once it did.
    outcome: Option<Result<(), Failure>>,
}

/// A run that finished: where its files are, and its rows.
pub struct Finished {
    pub dir: PathBuf,
    pub rows: Vec<ResultRow>,
}

/// Runs the sweep described by `opts` with the launcher it names.
pub async fn run(opts: RunOptions) -> Result<Finished> {
    let mut launcher = crate::launcher::build(&opts);
    let result = run_with(opts, launcher.as_mut()).await;
    // The launcher's leftovers go whatever happened; a teardown error never hides a run error.
    let teardown = launcher.teardown();
    let done = result?;
    teardown.context("cleaning up after the run")?;
    Ok(done)
}

async fn run_with(opts: RunOptions, launcher: &mut dyn Launcher) -> Result<Finished> {
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

    let spec = run_spec(&opts, &run_id, params, &creds, &fabric, &nodes);
    let mut d = Driver {
        run: Run::new(spec, Instant::now()),
        nranks: p,
        algorithms: opts.series().len() * opts.nccl.run_cycles as usize,
        sizes: opts.sizes.clone(),
        pingpong: opts.pingpong,
        min_busbw: opts.min_busbw,
        per_iter_columns: opts.nccl.per_iter_columns,
        nccl_json: opts.nccl.output_file.clone(),
        events: rx,
        nodes,
        slots: (0..p).map(|_| None).collect(),
        writer,
        progress: None,
        interrupt: Box::pin(tokio::signal::ctrl_c()),
        exited: BTreeSet::new(),
        faults: FaultRunner::new(opts.faults.clone(), launcher.link_control()),
        tick: {
            let mut t = tokio::time::interval(TICK);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        },
        cores: Vec::new(),
        refused: Refusals::new(),
        algo_rows: Vec::new(),
        outcome: None,
    };
    let outcome = d.drive().await;
    let result = d.conclude(outcome);
    // After a failure the nodes get a moment to take the abort, then are killed.
    d.reap(if result.is_ok() {
        EXIT_TIMEOUT
    } else {
        ABORT_GRACE
    })
    .await;
    endpoint.close(0u32.into(), b"run over");
    result
}

/// What run-core is to run: the options, the launcher's fabric and nodes, the credentials.
fn run_spec(
    opts: &RunOptions,
    run_id: &str,
    params: TransportParams,
    creds: &RunCredentials,
    fabric: &Fabric,
    nodes: &[NodeProcess],
) -> RunSpec {
    let p = opts.nranks;
    RunSpec {
        run_id: run_id.to_string(),
        nranks: p,
        // -N: the whole sweep again per cycle, each cycle's rows after the previous one's.
        series: opts.series().repeat(opts.nccl.run_cycles as usize),
        root: opts.root,
        sizes: opts.sizes.clone(),
        dtype: opts.dtype,
        op: opts.op,
        warmup_iters: opts.warmup_iters,
        iters: opts.iters,
        agg_iters: opts.nccl.agg_iters,
        average: opts.nccl.average,
        check_iters: opts.check_iters,
        build: opts.build,
        pingpong: opts.pingpong,
        poll_us: opts.poll_us,
        channels: opts.channels,
        channel_min_bytes: opts.channel_min_bytes,
        cpu_bind: opts.cpu_bind,
        corrupt: opts
            .faults
            .iter()
            .filter(|f| f.kind == FaultKind::Corrupt)
            .map(|f| (f.rank, f.size))
            .collect(),
        jitter: opts.jitter,
        transport: params,
        certs_b64: creds
            .ranks
            .iter()
            .map(|r| base64::engine::general_purpose::STANDARD.encode(&r.cert_der))
            .collect(),
        stall_timeout: opts.stall_timeout,
        setup_timeout: opts.cluster.setup_timeout,
        link_rate_bps: fabric.link_rate_bps,
        // The emulated cluster gives each rank a NIC; where a node holds several ranks, the
        // bus bandwidth also counts bytes that stay in the node, so it says nothing of a NIC.
        own_links: opts.launcher == LauncherKind::Netns && opts.ranks_per_node <= 1,
        uplink_rate_bps: fabric.uplink_rate_bps,
        launched_pids: (0..p)
            .map(|r| nodes.iter().find(|n| n.rank == r).and_then(|n| n.pid))
            .collect(),
    }
}

/// How often the driver gives run-core a tick: liveness, deadlines, heartbeats.
const TICK: Duration = Duration::from_millis(250);

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
    // hier's, rail's and torus2d's shape as run (given, from the topology file, or the default
    // for the rank count), for the algorithms the run has: the model prices their points with it.
    let algorithms = opts.algorithms();
    let has = |a: Algorithm| algorithms.contains(&a);
    let (p, b) = (opts.nranks, &opts.build);
    let hier = has(Algorithm::Hier);
    let grouped = hier || has(Algorithm::Rail);
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: format!(
            "collbench {} ({})",
            env!("CARGO_PKG_VERSION"),
            env!("COLLBENCH_GIT_COMMIT")
        ),
        config: RunConfig {
            run_id: run_id.to_string(),
            started_at: clock::rfc3339_now(),
            nranks: opts.nranks,
            launcher: "local".into(),
            collectives: opts.collectives(),
            algorithms: algorithms.clone(),
            root: opts
                .cases
                .iter()
                .any(|c| c.collective.rooted())
                .then_some(opts.root as u32),
            minbytes: opts.minbytes,
            maxbytes: opts.maxbytes,
            stepfactor: opts.stepfactor,
            sizes: opts.sizes.clone(),
            dtype: opts.dtype,
            redop: opts.op,
            types: if opts.dtypes.len() > 1 {
                opts.dtypes.clone()
            } else {
                Vec::new()
            },
            redops: if opts.ops.len() > 1 {
                opts.ops.clone()
            } else {
                Vec::new()
            },
            warmup_iters: opts.warmup_iters,
            iters: opts.iters,
            check: opts.check_iters > 0,
            check_iters: Some(opts.check_iters),
            segment_bytes: opts.build.segment_bytes as u64,
            ring_segment_bytes: Some(opts.build.ring_segment_bytes as u64),
            hosts: Vec::new(),
            link_rate_bps: fabric.link_rate_bps,
            uplink_rate_bps: fabric.uplink_rate_bps,
            ranks_per_node: (opts.launcher == LauncherKind::Netns).then_some(opts.ranks_per_node),
            mtu: fabric.mtu,
            data_plane_unencrypted: opts.no_encryption,
            jitter: opts.jitter.map(|j| j.to_string()),
            // `auto` is settled when the ranks have said what cores they have.
            poll_us: match opts.poll_us {
                Polling::Fixed(us) => Some(us),
                Polling::Auto => None,
            },
            timing: Some(IterationTiming::BackToBack),
            group_size: grouped.then(|| hier::group_size(p, b).ok()).flatten(),
            hier_inner: hier.then_some(b.hier_inner),
            hier_outer: hier.then_some(b.hier_outer),
            grid: has(Algorithm::Torus2d)
                .then(|| torus2d::grid(p, b).ok())
                .flatten(),
            channels: None,
            channel_min_bytes: Some(opts.channel_min_bytes),
            stepbytes: opts.stepbytes,
            run_cycles: (opts.nccl.run_cycles > 1).then_some(opts.nccl.run_cycles),
            agg_iters: (opts.nccl.agg_iters > 1).then_some(opts.nccl.agg_iters),
            average: Some(opts.nccl.average.name().to_string()),
            command_line: Some(std::env::args().collect()),
            ended_at: None,
        },
        results: Vec::new(),
        failure: None,
        refused: Default::default(),
        pingpong: opts.pingpong.then(Vec::new),
    }
}

impl Driver {
    /// After the run: the results written with what it ended in, and on a failure the error that
    /// names it (run-core has told the nodes to stop).
    fn conclude(&mut self, outcome: Result<(), Failure>) -> Result<Finished> {
        info!(
            largest_gap_ms = self.run.liveness().max_gap().as_millis() as u64,
            "heartbeats: largest gap between two messages of one rank"
        );
        if let Some(pr) = &self.progress {
            pr.finish();
        }
        for line in self.refused.flush(Instant::now()) {
            tracing::warn!("{line}");
        }
        self.note_refusals();
        self.writer.file.config.ended_at = Some(clock::rfc3339_now());
        // nccl-tests' JSON, with whatever was measured, whether the run went well or not.
        if let Some(path) = &self.nccl_json {
            let written = self.write_nccl_json(path);
            if outcome.is_ok() {
                written?;
            } else if let Err(e) = written {
                tracing::warn!("{e:#}");
            }
        }
        let failure = match outcome {
            Ok(()) => {
                self.writer.flush().context("writing results")?;
                return Ok(Finished {
                    dir: self.writer.dir().to_path_buf(),
                    rows: self.writer.file.results.clone(),
                });
            }
            Err(f) => f,
        };
        let message = failure.message.clone();
        let written = self.writer.fail(failure);
        let dir = self.writer.dir().display().to_string();
        match written {
            Ok(()) => Err(anyhow::anyhow!("{message}"))
                .with_context(|| format!("run failed; results so far are in {dir}")),
            Err(e) => Err(anyhow::anyhow!("{message}"))
                .with_context(|| format!("run failed, and recording it in {dir} failed: {e:#}")),
        }
    }
}
