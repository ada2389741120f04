//! A bench-node's life: register, open the channels the coordinator asks for, receive the plan,
//! connect, sweep (and the ping-pong, when the plan asks for it), report, exit.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use topologies::layout::Layout;
use topologies::{Case, Series};
use tracing::{debug, info};
use transport::credentials::{NodeCredentials, COORDINATOR_NAME};
use transport::tls;
use wire::control::{
    FromCoordinator, FromNode, Placement, Plan, Report, TransportParams, CONTROL_IDLE_TIMEOUT_MS,
    PROTOCOL,
};

use crate::channel_set::ChannelSet;
use crate::channel_work::Measure;
use crate::control::Control;
use crate::pingpong::{pingpong_peers, run_pingpong};
use crate::{host, NodeError};

pub struct NodeConfig {
    pub coordinator: SocketAddr,
    pub rank: usize,
    pub nranks: usize,
    /// Address the control and data-plane endpoints bind to (ports chosen by the OS).
    pub bind: IpAddr,
    /// How this node names its host in results.
    pub host: String,
    pub credentials: NodeCredentials,
    /// Limit on connecting to the coordinator and to data-plane peers.
    pub setup_timeout: Duration,
}

/// The control connection's windows.
const BOOTSTRAP: TransportParams = TransportParams {
    stream_receive_window: 1 << 20,
    receive_window: 4 << 20,
    send_window: 4 << 20,
    idle_timeout_ms: CONTROL_IDLE_TIMEOUT_MS,
    datagram_bytes: wire::control::ETHERNET_DATAGRAM,
    unencrypted: false,
};

/// Runs one node to completion. Errors are also reported to the coordinator when it can still
/// be reached.
pub async fn run_node(cfg: NodeConfig) -> Result<(), NodeError> {
    let endpoint = tls::endpoint(SocketAddr::new(cfg.bind, 0), &cfg.credentials, &BOOTSTRAP)?;
    let control_addr = endpoint
        .local_addr()
        .map_err(|e| NodeError::Io(format!("local address: {e}")))?;
    // The control endpoint only dials; the channels accept the data plane.
    endpoint.set_server_config(None);
    let parent = std::os::unix::process::parent_id();
    let conn = dial_coordinator(&cfg, &endpoint, parent).await?;
    let (send, recv) = conn
        .open_bi()
        .await
        .map_err(|e| NodeError::Coordinator(format!("control stream: {e}")))?;
    let mut control = Control::start(conn.clone(), send, recv);
    control.send(FromNode::Register {
        protocol: PROTOCOL,
        token: cfg.credentials.token.clone(),
        rank: cfg.rank as u32,
        nranks: cfg.nranks as u32,
        data_addr: control_addr.to_string(),
        host: cfg.host.clone(),
        pid: std::process::id(),
        cpus: host::affinity(),
        machine: host::machine(&cfg.host),
        cpu_quota: host::cpu_quota(),
        facts: crate::host_facts::facts(control_addr.ip()),
    })?;
    control.start_heartbeat();
    debug!(rank = cfg.rank, %control_addr, "registered");

    // Whatever the sweep is doing, a lost coordinator or an abort ends the node. The watchers
    // run as their own task: the sweep's task is polled again after every yield of a receive
    // that polls (`--poll-us`), and re-polling four watchers each time (two of them timers)
    // cost a measurable share of a small message's time.
    let mut watchers = tokio::spawn(watch_for_the_end(
        conn.clone(),
        control.aborted(),
        control.coordinator_gone(),
        parent,
    ));
    // The channels outlive the sweep's future, so that on a failure the coordinator hears this
    // node's account before the peers see its connections close.
    let mut channels = None;
    let result = tokio::select! {
        biased;
        r = sweep(&cfg, &mut control, &mut channels) => r,
        e = &mut watchers => Err(e.unwrap_or_else(|e| NodeError::Io(format!("watcher task: {e}")))),
    };
    watchers.abort();
    crate::refused::flush();
    let Err(e) = result else {
        control.close(Duration::from_secs(1)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
        return Ok(());
    };
    // The coordinator is told why, unless it is gone or asked for the stop itself.
    let gone = conn.close_reason().is_some() || matches!(&e, NodeError::CoordinatorGone(_));
    if !gone && !matches!(e, NodeError::Aborted(_)) {
        let _ = control.send(failure_report(&e, cfg.rank));
    }
    drop(channels);
    let linger = Duration::from_millis(if gone { 100 } else { 500 });
    control.close(linger).await;
    endpoint.close(0u32.into(), b"node stopping");
    let _ = tokio::time::timeout(linger, endpoint.wait_idle()).await;
    Err(e)
}

/// Connects to the coordinator. A QUIC handshake to a coordinator that has died is retried until
/// the set-up timeout; the process that started this node (`parent`) going away says so sooner.
async fn dial_coordinator(
    cfg: &NodeConfig,
    endpoint: &quinn::Endpoint,
    parent: u32,
) -> Result<quinn::Connection, NodeError> {
    let connecting = endpoint
        .connect(cfg.coordinator, COORDINATOR_NAME)
        .map_err(|e| NodeError::Io(format!("connect to coordinator {}: {e}", cfg.coordinator)))?;
    tokio::select! {
        c = tokio::time::timeout(cfg.setup_timeout, connecting) => c
            .map_err(|_| {
                NodeError::Coordinator(format!(
                    "{} did not answer within {:?}",
                    cfg.coordinator, cfg.setup_timeout
                ))
            })?
            .map_err(|e| NodeError::Coordinator(format!("connect to {}: {e}", cfg.coordinator))),
        e = parent_gone(parent) => Err(e),
    }
}

/// What the coordinator is told of `e`: a data-plane failure with its peer and step as fields.
fn failure_report(e: &NodeError, rank: usize) -> FromNode {
    match e {
        NodeError::Peer {
            context,
            peer,
            step,
            source,
        } => FromNode::Failed {
            context: context.clone(),
            error: source.chain(),
            peer: u32::try_from(*peer).ok(),
            step: *step,
        },
        other => FromNode::Failed {
            context: format!("rank {rank}"),
            error: other.to_string(),
            peer: None,
            step: None,
        },
    }
}

/// Resolves with the first of: the coordinator's connection lost, an abort, the coordinator
/// silent beyond its limit, the process that started this node gone.
async fn watch_for_the_end(
    conn: quinn::Connection,
    aborted: impl std::future::Future<Output = NodeError>,
    coordinator_gone: impl std::future::Future<Output = NodeError>,
    parent: u32,
) -> NodeError {
    tokio::select! {
        reason = conn.closed() => NodeError::CoordinatorGone(format!("connection lost: {reason}")),
        e = aborted => e,
        e = coordinator_gone => e,
        e = parent_gone(parent) => e,
    }
}

/// Resolves when the process that started this node (`parent` at start) has exited: the node
/// was reparented. A coordinator that starts its nodes itself (local, netns) is that parent; so
/// is an ssh session or a Slurm step. (A container's init never exits.)
async fn parent_gone(parent: u32) -> NodeError {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = std::os::unix::process::parent_id();
        if now != parent {
            return NodeError::CoordinatorGone(format!(
                "the process that started this node (pid {parent}) has exited"
            ));
        }
    }
}

fn peers_in_plan(plan: &Plan, me: usize) -> Result<BTreeSet<usize>, NodeError> {
    let p = plan.nranks as usize;
    let mut peers = BTreeSet::new();
    for case in plan.series.iter().map(|s| s.case) {
        // Peers depend on the shape, not the size; a few elements per rank name them all.
        let s = case
            .collective
            .build(
                case.algorithm,
                p,
                p * 16,
                plan.dtype.size(),
                &plan.build,
                plan.root as usize,
            )
            .map_err(|e| NodeError::Schedule(e.to_string()))?;
        peers.extend(s.peers_of(me));
    }
    peers.extend(pingpong_peers(plan, me));
    Ok(peers)
}

/// Opens the channels the coordinator asks for, says where they are, and returns them with the
/// plan that names every rank's.
async fn open_channels<'a>(
    cfg: &NodeConfig,
    control: &mut Control,
    slot: &'a mut Option<ChannelSet>,
) -> Result<(&'a ChannelSet, Plan), NodeError> {
    let (count, cpus) = match control.recv().await? {
        FromCoordinator::OpenChannels { count, cpus } => (count, cpus),
        FromCoordinator::Abort { reason } => return Err(NodeError::Aborted(reason)),
        other => {
            return Err(NodeError::Coordinator(format!(
                "expected the channel count, got {other:?}"
            )))
        }
    };
    let channels = slot.insert(ChannelSet::open(
        count as usize,
        cfg.rank,
        (cfg.bind, &cpus),
        &cfg.credentials,
        &control.position,
    )?);
    control.send(FromNode::Channels {
        addrs: channels.addrs(),
    })?;
    let plan = match control.recv().await? {
        FromCoordinator::Plan(plan) => plan,
        FromCoordinator::Abort { reason } => return Err(NodeError::Aborted(reason)),
        other => {
            return Err(NodeError::Coordinator(format!(
                "expected the plan, got {other:?}"
            )))
        }
    };
    if plan.nranks as usize != cfg.nranks {
        return Err(NodeError::Coordinator(format!(
            "plan is for {} ranks, this node was started for {}",
            plan.nranks, cfg.nranks
        )));
    }
    if plan.channels != count {
        return Err(NodeError::Coordinator(format!(
            "plan is for {} channels, this node was asked to open {count}",
            plan.channels
        )));
    }
    Ok((channels, plan))
}

async fn sweep(
    cfg: &NodeConfig,
    control: &mut Control,
    slot: &mut Option<ChannelSet>,
) -> Result<(), NodeError> {
    let (channels, plan) = open_channels(cfg, control, slot).await?;
    let me = cfg.rank;
    let plan = Arc::new(plan);
    let peers = Arc::new(peers_in_plan(&plan, me)?);
    channels.connect(&plan, &peers, cfg.setup_timeout).await?;
    control.send(FromNode::Ready {})?;
    info!(
        rank = me,
        peers = peers.len(),
        channels = channels.len(),
        "data plane ready"
    );

    let mut epoch = 0u64;
    for &series in &plan.series {
        let case = series.case;
        for &size in &plan.sizes {
            let (esize, nranks) = (series.dtype.size(), plan.nranks as usize);
            let layout = Layout::for_size(case.collective, nranks, size, esize, plan.root as usize);
            let used = layout.channels_used(
                esize,
                channels.len(),
                usize::try_from(plan.channel_min_bytes).unwrap_or(usize::MAX),
            );
            for placement in Placement::BOTH {
                let m = Arc::new(Measure {
                    algorithm: case.algorithm,
                    layout,
                    channels: used,
                    placement,
                    dtype: series.dtype,
                    op: series.op,
                    build: plan.build,
                    warmup_iters: plan.warmup_iters,
                    iters: plan.iters,
                    corrupt: plan
                        .corrupt
                        .iter()
                        .any(|c| c.rank as usize == me && c.size == size),
                    jitter: plan.jitter,
                    agg_iters: plan.agg_iters,
                    iteration_end: tokio::sync::Barrier::new(used),
                });
                let report = measure(&plan, &m, size, channels, control, &mut epoch).await?;
                control.send(FromNode::Report(report))?;
            }
        }
    }
    if plan.pingpong {
        run_pingpong(&plan, channels, control, &mut epoch, me).await?;
    }
    match control.recv().await? {
        FromCoordinator::Done => {}
        FromCoordinator::Abort { reason } => return Err(NodeError::Aborted(reason)),
        other => {
            return Err(NodeError::Coordinator(format!(
                "expected done, got {other:?}"
            )))
        }
    }
    if let Some(channels) = slot.take() {
        channels.close(Duration::from_secs(3)).await;
    }
    Ok(())
}

/// One algorithm, size and placement: a barrier, the warm-up and timed iterations back to back
/// on every channel the size runs on, then (after a second barrier, so that no rank's check
/// overlaps another's timed iterations) the untimed iterations whose results are checked.
async fn measure(
    plan: &Plan,
    m: &Arc<Measure>,
    size: u64,
    channels: &ChannelSet,
    control: &mut Control,
    epoch: &mut u64,
) -> Result<Report, NodeError> {
    *epoch += 1;
    control.barrier(*epoch).await?;
    let mut timed = channels.timed(m).await?;
    // A report is per operation: with -m, an iteration ran agg_iters of them back to back.
    let agg = u64::from(m.agg_iters.max(1));
    timed.iter_ns.iter_mut().for_each(|ns| *ns /= agg);
    timed.cpu_ns.iter_mut().for_each(|ns| *ns /= agg);
    timed.poll_idle_ns.iter_mut().for_each(|ns| *ns /= agg);
    timed.runq_wait_ns.iter_mut().for_each(|ns| *ns /= agg);
    let mut hist = wire::histogram::new();
    for &ns in &timed.iter_ns {
        wire::histogram::record(&mut hist, ns);
    }
    // The barrier is met either way: every measurement has the same barriers
    // (`BARRIERS_PER_MEASUREMENT`).
    *epoch += 1;
    control.barrier(*epoch).await?;
    let nwrong = if plan.check {
        let mut wrong = 0u64;
        for _ in 0..plan.check_iters.max(1) {
            wrong = wrong.saturating_add(channels.check(m).await?);
        }
        Some(wrong)
    } else {
        None
    };
    Ok(Report {
        series: Series {
            case: Case {
                collective: m.layout.collective,
                algorithm: m.algorithm,
            },
            dtype: m.dtype,
            op: m.op,
        },
        size,
        placement: m.placement,
        iter_ns: timed.iter_ns,
        histogram: wire::histogram::to_base64(&hist)?,
        nwrong,
        channels: u32::try_from(m.channels).unwrap_or(u32::MAX),
        cpu_ns: timed.cpu_ns,
        poll_idle_ns: timed.poll_idle_ns,
        runq_wait_ns: timed.runq_wait_ns,
        sent_bytes: timed.sent_bytes,
    })
}
