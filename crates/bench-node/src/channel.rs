//! One channel: an OS thread with its own single-threaded runtime, UDP socket, QUIC endpoint and
//! connection to every peer, which runs its part of the buffer through each measurement
//! ([`crate::channel_work`]) when the node asks ([`Job`]).
//!
//! A channel never touches another's data: the node's buffer is cut into parts, one per channel
//! (`topologies::channels`), and each channel owns its part of the input and of the work buffer.
//! So the reduction of a part runs on its channel's thread, and the channels share nothing but
//! the node's [`Position`] and an iteration barrier.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::Endpoint;
use tokio::sync::{mpsc, watch};
use tracing::debug;
use wire::control::{Plan, TransportParams};

use crate::channel_work::{ChannelBuffers, Lane, Measure, PingPong, Timed};
use crate::control::Position;
use crate::datalink::{refuse_latecomers, Links};
use transport::credentials::NodeCredentials;
use transport::tls;

use crate::NodeError;

/// What the node asks of a channel. Each job answers on its own reply channel, tagged with the
/// channel's index.
pub enum Job {
    /// Dial and accept this channel's connections to `peers` with the plan's settings.
    Connect {
        plan: Arc<Plan>,
        peers: Arc<BTreeSet<usize>>,
        timeout: Duration,
        reply: Reply<()>,
    },
    /// Warm-up and timed iterations of one measurement.
    Timed {
        measure: Arc<Measure>,
        reply: Reply<Timed>,
    },
    /// One more iteration from the input, and the wrong elements of this channel's part.
    Check {
        measure: Arc<Measure>,
        reply: Reply<u64>,
    },
    /// One round trip of the ping-pong: when it began and ended.
    PingPong {
        pingpong: Arc<PingPong>,
        reply: Reply<(Instant, Instant)>,
    },
    /// Close the connections (the peers are told) and stop.
    Close { reply: Reply<()> },
}

/// Where a job's answer goes: the channel's index and the outcome.
pub type Reply<T> = mpsc::UnboundedSender<(usize, Result<T, NodeError>)>;

/// The node's handle on one running channel.
pub struct Channel {
    pub index: usize,
    /// The channel's data-plane address.
    pub addr: SocketAddr,
    jobs: mpsc::UnboundedSender<Job>,
}

/// Windows used before the plan arrives (the endpoint is made before the plan; the plan's
/// settings replace these before any connection is made).
const BOOTSTRAP: TransportParams = TransportParams {
    stream_receive_window: 1 << 20,
    receive_window: 4 << 20,
    send_window: 4 << 20,
    idle_timeout_ms: wire::control::CONTROL_IDLE_TIMEOUT_MS,
    datagram_bytes: wire::control::ETHERNET_DATAGRAM,
    unencrypted: false,
};

/// What a channel needs to start.
pub struct ChannelStart {
    pub index: usize,
    pub me: usize,
    pub bind: IpAddr,
    /// The CPU the channel's thread is bound to, if any (`--cpu-bind`).
    pub cpu: Option<u32>,
    pub credentials: NodeCredentials,
    pub position: Arc<Position>,
    /// Set to `true` when the node stops: the channel drops what it is doing, closes its
    /// connections and ends.
    pub stop: watch::Receiver<bool>,
}

impl Channel {
    /// Starts the channel's thread; returns once its endpoint is bound.
    pub fn start(start: ChannelStart) -> Result<Channel, NodeError> {
        let index = start.index;
        let (jobs_tx, jobs) = mpsc::unbounded_channel();
        let (bound_tx, bound) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("collbench-ch{index}"))
            .spawn(move || thread_main(start, jobs, bound_tx))
            .map_err(|e| NodeError::Io(format!("starting channel {index}'s thread: {e}")))?;
        let addr = bound
            .recv()
            .map_err(|_| NodeError::Io(format!("channel {index}'s thread ended at start")))??;
        Ok(Channel {
            index,
            addr,
            jobs: jobs_tx,
        })
    }

    /// Hands the channel a job; an error if its thread has ended.
    pub fn send(&self, job: Job) -> Result<(), NodeError> {
        self.jobs
            .send(job)
            .map_err(|_| NodeError::Io(format!("channel {} has stopped", self.index)))
    }
}

fn thread_main(
    start: ChannelStart,
    jobs: mpsc::UnboundedReceiver<Job>,
    bound: std::sync::mpsc::Sender<Result<SocketAddr, NodeError>>,
) {
    if let Some(cpu) = start.cpu {
        if let Err(e) = crate::host::bind_this_thread(cpu) {
            let _ = bound.send(Err(NodeError::Io(format!(
                "channel {}: binding its thread to CPU {cpu}: {e}",
                start.index
            ))));
            return;
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = bound.send(Err(NodeError::Io(format!("channel runtime: {e}"))));
            return;
        }
    };
    runtime.block_on(async move {
        let endpoint = match tls::endpoint(
            SocketAddr::new(start.bind, 0),
            &start.credentials,
            &BOOTSTRAP,
        )
        .map_err(NodeError::from)
        .and_then(|ep| {
            let addr = ep
                .local_addr()
                .map_err(|e| NodeError::Io(format!("channel address: {e}")))?;
            Ok((ep, addr))
        }) {
            Ok((ep, addr)) => {
                let _ = bound.send(Ok(addr));
                ep
            }
            Err(e) => {
                let _ = bound.send(Err(e));
                return;
            }
        };
        let mut state = ChannelState {
            index: start.index,
            me: start.me,
            credentials: start.credentials,
            endpoint,
            links: None,
            buffers: ChannelBuffers::default(),
            position: start.position,
        };
        state.serve(jobs, start.stop).await;
    });
}

struct ChannelState {
    index: usize,
    me: usize,
    credentials: NodeCredentials,
    endpoint: Endpoint,
    links: Option<Links>,
    buffers: ChannelBuffers,
    position: Arc<Position>,
}

impl ChannelState {
    /// Runs jobs until told to close, the node stops, or the node drops its handle.
    async fn serve(
        &mut self,
        mut jobs: mpsc::UnboundedReceiver<Job>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let job = tokio::select! {
                biased;
                _ = stopped(&mut stop) => break,
                job = jobs.recv() => job,
            };
            let Some(job) = job else { break };
            if let Job::Close { reply } = job {
                self.close(Duration::from_secs(2)).await;
                let _ = reply.send((self.index, Ok(())));
                return;
            }
            tokio::select! {
                biased;
                _ = stopped(&mut stop) => break,
                () = self.run(job) => {}
            }
        }
        self.close(Duration::from_millis(200)).await;
    }

    async fn run(&mut self, job: Job) {
        let index = self.index;
        match job {
            Job::Connect {
                plan,
                peers,
                timeout,
                reply,
            } => {
                let r = self.connect(&plan, &peers, timeout).await;
                let _ = reply.send((index, r));
            }
            Job::Timed { measure, reply } => {
                let r = match self.lane() {
                    Ok((buffers, lane)) => buffers.timed(&measure, lane).await,
                    Err(e) => Err(e),
                };
                let _ = reply.send((index, r));
            }
            Job::Check { measure, reply } => {
                let r = match self.lane() {
                    Ok((buffers, lane)) => buffers.check(&measure, lane).await,
                    Err(e) => Err(e),
                };
                let _ = reply.send((index, r));
            }
            Job::PingPong { pingpong, reply } => {
                let r = match self.lane() {
                    Ok((buffers, lane)) => buffers.pingpong(&pingpong, lane).await,
                    Err(e) => Err(e),
                };
                let _ = reply.send((index, r));
            }
            Job::Close { .. } => {}
        }
    }

    /// The buffers and the lane a data-plane job runs with; an error before the links are up.
    fn lane(&mut self) -> Result<(&mut ChannelBuffers, Lane<'_>), NodeError> {
        let links = self.links.as_mut().ok_or_else(|| {
            NodeError::Io(format!("channel {} has no connections yet", self.index))
        })?;
        Ok((
            &mut self.buffers,
            Lane {
                links,
                position: &self.position,
                channel: self.index,
                me: self.me,
            },
        ))
    }

    async fn connect(
        &mut self,
        plan: &Plan,
        peers: &BTreeSet<usize>,
        timeout: Duration,
    ) -> Result<(), NodeError> {
        let server_config = Arc::new(tls::server_config(&self.credentials, &plan.transport)?);
        self.endpoint
            .set_server_config(Some((*server_config).clone()));
        // A clone of an `Endpoint` has its own default client configuration: dial through the
        // clone that carries the plan's (windows, datagram size), not the bootstrap one.
        let mut dialer = self.endpoint.clone();
        dialer.set_default_client_config(tls::client_config(&self.credentials, &plan.transport)?);
        let mut links = Links::connect(
            &dialer,
            self.me,
            self.index,
            peers,
            &plan.peers,
            &server_config,
            timeout,
        )
        .await?;
        links.set_poll(Duration::from_micros(u64::from(plan.poll_us)));
        refuse_latecomers(self.endpoint.clone());
        debug!(
            channel = self.index,
            peers = peers.len(),
            "channel connected"
        );
        self.links = Some(links);
        Ok(())
    }

    async fn close(&mut self, linger: Duration) {
        if let Some(links) = self.links.take() {
            links.close();
        }
        self.endpoint.close(0u32.into(), b"node stopping");
        let _ = tokio::time::timeout(linger, self.endpoint.wait_idle()).await;
    }
}

/// Resolves once the node has asked its channels to stop (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
