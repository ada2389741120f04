//! A bench-node's life: register, receive the plan, connect, sweep (and the ping-pong, when the
//! plan asks for it), report, exit.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use topologies::{pattern, Algorithm, DataType, ReduceOp, Schedule};
use tracing::{debug, info};
use transport::credentials::{NodeCredentials, COORDINATOR_NAME};
use transport::tls;
use wire::control::{
    FromCoordinator, FromNode, Placement, Plan, Report, TransportParams, CONTROL_IDLE_TIMEOUT_MS,
    PROTOCOL,
};

use crate::control::Control;
use crate::datalink::{refuse_latecomers, Links};
use crate::pingpong::{pingpong_peers, run_pingpong};
use crate::steps::run_steps;
use crate::NodeError;

pub struct NodeConfig {
    pub coordinator: SocketAddr,
    pub rank: usize,
    pub nranks: usize,
    /// Address the data-plane endpoint binds to (port chosen by the OS).
    pub bind: IpAddr,
    /// How this node names its host in results.
    pub host: String,
    pub credentials: NodeCredentials,
    /// Limit on connecting to the coordinator and to data-plane peers.
    pub setup_timeout: Duration,
}

/// Windows used before the plan arrives (the control connection only).
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
    let data_addr = endpoint
        .local_addr()
        .map_err(|e| NodeError::Io(format!("local address: {e}")))?;
    let connecting = endpoint
        .connect(cfg.coordinator, COORDINATOR_NAME)
        .map_err(|e| NodeError::Io(format!("connect to coordinator {}: {e}", cfg.coordinator)))?;
    // A QUIC handshake to a coordinator that has died is retried until the timeout; the
    // process that started this node going away says so sooner.
    let parent = std::os::unix::process::parent_id();
    let conn = tokio::select! {
        c = tokio::time::timeout(cfg.setup_timeout, connecting) => c
            .map_err(|_| {
                NodeError::Coordinator(format!(
                    "{} did not answer within {:?}",
                    cfg.coordinator, cfg.setup_timeout
                ))
            })?
            .map_err(|e| NodeError::Coordinator(format!("connect to {}: {e}", cfg.coordinator)))?,
        e = parent_gone(parent) => return Err(e),
    };
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
        data_addr: data_addr.to_string(),
        host: cfg.host.clone(),
        pid: std::process::id(),
    })?;
    control.start_heartbeat();
    debug!(rank = cfg.rank, %data_addr, "registered");

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
    let result = tokio::select! {
        biased;
        r = sweep(&cfg, &endpoint, &mut control) => r,
        e = &mut watchers => Err(e.unwrap_or_else(|e| NodeError::Io(format!("watcher task: {e}")))),
    };
    watchers.abort();
    let Err(e) = result else {
        control.close(Duration::from_secs(1)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
        return Ok(());
    };
    // The coordinator is told why, unless it is gone or asked for the stop itself.
    let gone = conn.close_reason().is_some() || matches!(&e, NodeError::CoordinatorGone(_));
    if !gone && !matches!(e, NodeError::Aborted(_)) {
        let (context, error, peer) = match &e {
            NodeError::Peer {
                context,
                error,
                peer,
            } => (context.clone(), error.clone(), u32::try_from(*peer).ok()),
            other => (format!("rank {}", cfg.rank), other.to_string(), None),
        };
        let _ = control.send(FromNode::Failed {
            context,
            error,
            peer,
        });
    }
    let linger = Duration::from_millis(if gone { 100 } else { 500 });
    control.close(linger).await;
    endpoint.close(0u32.into(), b"node stopping");
    let _ = tokio::time::timeout(linger, endpoint.wait_idle()).await;
    Err(e)
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
    for algo in &plan.algorithms {
        // Peers depend on the shape, not the size; a few elements per rank name them all.
        let s = algo
            .build(p, p * 16, plan.dtype.size(), &plan.build)
            .map_err(|e| NodeError::Schedule(e.to_string()))?;
        peers.extend(s.peers_of(me));
    }
    peers.extend(pingpong_peers(plan, me));
    Ok(peers)
}

async fn sweep(
    cfg: &NodeConfig,
    endpoint: &quinn::Endpoint,
    control: &mut Control,
) -> Result<(), NodeError> {
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
    let me = cfg.rank;
    let server_config = std::sync::Arc::new(tls::server_config(&cfg.credentials, &plan.transport)?);
    endpoint.set_server_config(Some((*server_config).clone()));
    // A clone of an `Endpoint` has its own default client configuration: dial through the
    // clone that carries the plan's (windows, datagram size), not the bootstrap one.
    let mut endpoint_for_clients = endpoint.clone();
    endpoint_for_clients
        .set_default_client_config(tls::client_config(&cfg.credentials, &plan.transport)?);
    let peers = peers_in_plan(&plan, me)?;
    let mut links = Links::connect(
        &endpoint_for_clients,
        me,
        &peers,
        &plan.peers,
        &server_config,
        cfg.setup_timeout,
    )
    .await?;
    links.set_poll(std::time::Duration::from_micros(u64::from(plan.poll_us)));
    refuse_latecomers(endpoint.clone());
    control.send(FromNode::Ready {})?;
    info!(rank = me, peers = peers.len(), "data plane ready");

    let max_size = plan.sizes.iter().copied().max().unwrap_or(0) as usize;
    let mut input = Vec::with_capacity(max_size);
    let mut work = vec![0u8; max_size];
    let mut epoch = 0u64;
    for &algo in &plan.algorithms {
        for &size in &plan.sizes {
            let count = size as usize / plan.dtype.size();
            let schedule = algo
                .build(plan.nranks as usize, count, plan.dtype.size(), &plan.build)
                .map_err(|e| NodeError::Schedule(e.to_string()))?;
            fill_input(plan.dtype, me, count, &mut input);
            for placement in Placement::BOTH {
                let report = measure(
                    &plan,
                    algo,
                    &schedule,
                    placement,
                    &input,
                    &mut work[..size as usize],
                    &mut links,
                    control,
                    &mut epoch,
                    me,
                )
                .await?;
                control.send(FromNode::Report(report))?;
            }
        }
    }
    if plan.pingpong {
        run_pingpong(&plan, &mut work, &mut links, control, &mut epoch, me).await?;
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
    links.close();
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    plan: &Plan,
    algo: Algorithm,
    schedule: &Schedule,
    placement: Placement,
    input: &[u8],
    work: &mut [u8],
    links: &mut Links,
    control: &mut Control,
    epoch: &mut u64,
    me: usize,
) -> Result<Report, NodeError> {
    let program = &schedule.programs[me];
    let position = control.position.clone();
    let mut hist = wire::histogram::new();
    let mut iter_ns = Vec::with_capacity(plan.iters as usize);
    let dtype_op = (plan.dtype, plan.op);
    let at = |it: u32| {
        move || {
            format!(
                "rank {me}: {algo} {} bytes {} iteration {it}",
                input.len(),
                placement_name(placement)
            )
        }
    };
    // Out of place every iteration reads the input afresh, where it has not written `work`
    // yet (no copy of the input first). In place the iterations reduce their own results, as
    // nccl-tests' do; only the check below runs on the input.
    let source = (placement == Placement::OutOfPlace).then_some(input);
    if source.is_none() {
        work.copy_from_slice(input);
    }
    // One barrier, then every iteration back to back, each timed from the end of the one
    // before: the ranks pace each other through their messages, as in an application.
    *epoch += 1;
    control.barrier(*epoch).await?;
    let total = plan.warmup_iters + plan.iters;
    let mut last = Instant::now();
    for it in 0..total {
        run_steps(program, work, source, links, dtype_op, &position, &at(it)).await?;
        let now = Instant::now();
        let ns = now
            .duration_since(last)
            .as_nanos()
            .min(u128::from(u64::MAX)) as u64;
        last = now;
        if it >= plan.warmup_iters {
            iter_ns.push(ns);
            wire::histogram::record(&mut hist, ns);
        }
    }
    // The check: one more iteration from the input, untimed, after every rank has finished
    // timing (so no rank's check iteration overlaps another's timed ones). The barrier is met
    // either way: every measurement has the same barriers (`BARRIERS_PER_MEASUREMENT`).
    if plan.check {
        match source {
            None => work.copy_from_slice(input),
            // Out of place, what the timed iterations left would pass the check by itself:
            // poison it, so a part the program neither wrote nor took from the input is wrong.
            Some(_) => work.fill(0xFF),
        }
    }
    *epoch += 1;
    control.barrier(*epoch).await?;
    let nwrong = if plan.check {
        run_steps(
            program,
            work,
            source,
            links,
            dtype_op,
            &position,
            &at(total),
        )
        .await?;
        Some(count_wrong(plan.dtype, plan.op, plan.nranks as usize, work).await)
    } else {
        None
    };
    Ok(Report {
        algorithm: algo,
        size: input.len() as u64,
        placement,
        iter_ns,
        histogram: wire::histogram::to_base64(&hist)?,
        nwrong,
    })
}

/// Elements per block of the input pattern: a multiple of its period, so every block starts
/// where the pattern does.
const PATTERN_BLOCK: usize = pattern::PERIOD * 65_536;

/// Rank `me`'s input: one block of the pattern, then copies of it (the pattern repeats), so a
/// large buffer is made at memcpy speed rather than element by element.
fn fill_input(dtype: DataType, me: usize, count: usize, input: &mut Vec<u8>) {
    pattern::fill_into(dtype, me, count.min(PATTERN_BLOCK), input);
    let want = count * dtype.size();
    let block = input.len();
    input.reserve(want - block);
    while input.len() < want {
        let n = (want - input.len()).min(block);
        input.extend_from_within(..n);
    }
}

/// nccl-tests' #wrong, a block at a time, yielding between blocks so that heartbeats and QUIC
/// keep-alives go on while a large buffer is checked.
async fn count_wrong(dtype: DataType, op: ReduceOp, nranks: usize, work: &[u8]) -> u64 {
    let mut wrong = 0;
    for block in work.chunks(PATTERN_BLOCK * dtype.size()) {
        wrong += pattern::count_wrong(dtype, op, nranks, block);
        tokio::task::yield_now().await;
    }
    wrong
}

fn placement_name(p: Placement) -> &'static str {
    match p {
        Placement::OutOfPlace => "out-of-place",
        Placement::InPlace => "in-place",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_at_a_time_gives_the_same_input_and_count() {
        for count in [
            0,
            1,
            12,
            13,
            PATTERN_BLOCK - 1,
            PATTERN_BLOCK,
            2 * PATTERN_BLOCK + 7,
        ] {
            for dtype in [DataType::Float, DataType::Int64] {
                let mut fast = Vec::new();
                fill_input(dtype, 3, count, &mut fast);
                assert_eq!(fast, pattern::fill(dtype, 3, count), "{count} {dtype:?}");
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread().build();
        let Ok(rt) = rt else { return };
        let count = 2 * PATTERN_BLOCK + 5;
        let mut sum = vec![0u8; count * 4];
        let table = pattern::expected_table(4, ReduceOp::Sum);
        for (i, c) in sum.chunks_exact_mut(4).enumerate() {
            let v = table[i % pattern::PERIOD] as f32;
            c.copy_from_slice(&v.to_ne_bytes());
        }
        // Two wrong elements, in different blocks, and a trailing partial element.
        sum[0] ^= 0xff;
        sum[(PATTERN_BLOCK + 3) * 4] ^= 0xff;
        sum.push(0);
        let got = rt.block_on(count_wrong(DataType::Float, ReduceOp::Sum, 4, &sum));
        assert_eq!(
            got,
            pattern::count_wrong(DataType::Float, ReduceOp::Sum, 4, &sum)
        );
        assert_eq!(got, 3);
    }
}
