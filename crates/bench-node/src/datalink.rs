//! Data-plane connections to the peers a node's schedules name.
//!
//! The lower rank of each pair dials the higher one. Every connection is mutual TLS against the
//! run's CA, and the certificate a peer presents must be exactly the one the coordinator pinned
//! for the rank it claims to be and that the schedules name; anything else is closed and logged.
//! Each direction of a pair then has one unidirectional stream carrying messages in schedule
//! order, each framed as `seq (u32 BE) | length (u64 BE) | payload`. A writer task per peer owns
//! the sending half, so a send never blocks a step (the executor's semantics).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use quinn::{Connection, Endpoint, RecvStream, SendStream, ServerConfig};
use tokio::sync::mpsc;
use tracing::{debug, warn};
use wire::control::PeerInfo;

use crate::apply::Applier;
use crate::credentials::rank_name;
use crate::tls::peer_leaf;
use crate::NodeError;

const STREAM_MAGIC: [u8; 4] = *b"CBDP";
const MSG_HEADER: usize = 12;
/// QUIC application error code sent when a connection is refused.
pub const REFUSED: u32 = 0x43;

struct Link {
    conn: Connection,
    tx: mpsc::UnboundedSender<(u32, Bytes)>,
    writer_error: Arc<Mutex<Option<String>>>,
    recv: RecvStream,
    send_seq: u32,
    recv_seq: u32,
}

/// The open links of one node, by peer rank.
pub struct Links {
    links: HashMap<usize, Link>,
    /// How long a receive polls for its message before the thread may sleep.
    poll: Duration,
}

/// Pinned certificates of every rank, from the plan.
pub fn pinned_certs(peers: &[PeerInfo]) -> Result<HashMap<Vec<u8>, usize>, NodeError> {
    peers
        .iter()
        .map(|p| {
            base64::engine::general_purpose::STANDARD
                .decode(&p.cert_der_b64)
                .map(|der| (der, p.rank as usize))
                .map_err(|e| {
                    NodeError::Protocol(wire::WireError::Invalid {
                        field: "peers.cert_der_b64",
                        reason: e.to_string(),
                    })
                })
        })
        .collect()
}

async fn dial(
    endpoint: &Endpoint,
    peer: &PeerInfo,
    pinned: &HashMap<Vec<u8>, usize>,
) -> Result<(usize, Connection), NodeError> {
    let rank = peer.rank as usize;
    let addr: SocketAddr = peer
        .data_addr
        .parse()
        .map_err(|e| NodeError::Io(format!("rank {rank} address {}: {e}", peer.data_addr)))?;
    let conn = endpoint
        .connect(addr, &rank_name(rank))
        .map_err(|e| NodeError::Io(format!("dial rank {rank} at {addr}: {e}")))?
        .await
        .map_err(|e| NodeError::Io(format!("dial rank {rank} at {addr}: {e}")))?;
    match peer_leaf(&conn).and_then(|der| pinned.get(&der).copied()) {
        Some(r) if r == rank => Ok((rank, conn)),
        _ => {
            conn.close(REFUSED.into(), b"unexpected certificate");
            Err(NodeError::Tls(format!(
                "rank {rank} at {addr} presented a certificate that is not the one pinned for it"
            )))
        }
    }
}

/// Accepts one incoming connection with `config` (the plan's: a peer that dialled before this
/// node had the plan would otherwise get the bootstrap one); `None` when it was refused (and
/// logged).
async fn accept_one(
    incoming: quinn::Incoming,
    config: &Arc<ServerConfig>,
    expected: &BTreeSet<usize>,
    pinned: &HashMap<Vec<u8>, usize>,
) -> Option<(usize, Connection)> {
    let remote = incoming.remote_address();
    let connecting = match incoming.accept_with(config.clone()) {
        Ok(c) => c,
        Err(e) => {
            warn!(%remote, "refused a data-plane connection: {e}");
            return None;
        }
    };
    let conn = match connecting.await {
        Ok(c) => c,
        Err(e) => {
            warn!(%remote, "refused a data-plane connection: handshake failed: {e}");
            return None;
        }
    };
    match peer_leaf(&conn).and_then(|der| pinned.get(&der).copied()) {
        Some(rank) if expected.contains(&rank) => Some((rank, conn)),
        claimed => {
            warn!(%remote, ?claimed, "refused a data-plane connection from a process that is not a scheduled peer");
            conn.close(REFUSED.into(), b"not a scheduled peer");
            None
        }
    }
}

/// Refuses every connection that arrives after set-up, so a late intruder gets an answer.
pub fn refuse_latecomers(endpoint: Endpoint) {
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            warn!(remote = %incoming.remote_address(), "refused a data-plane connection after set-up");
            incoming.refuse();
        }
    });
}

async fn writer(
    mut stream: SendStream,
    mut rx: mpsc::UnboundedReceiver<(u32, Bytes)>,
    error: Arc<Mutex<Option<String>>>,
) {
    while let Some((seq, payload)) = rx.recv().await {
        let mut header = [0u8; MSG_HEADER];
        header[..4].copy_from_slice(&seq.to_be_bytes());
        header[4..].copy_from_slice(&(payload.len() as u64).to_be_bytes());
        let result = match stream.write_all(&header).await {
            Ok(()) => stream.write_chunk(payload).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            if let Ok(mut slot) = error.lock() {
                *slot = Some(e);
            }
            return;
        }
    }
    let _ = stream.finish();
}

impl Links {
    /// Connects to every rank in `peers` (the union over the plan's schedules).
    pub async fn connect(
        endpoint: &Endpoint,
        me: usize,
        peers: &BTreeSet<usize>,
        plan_peers: &[PeerInfo],
        server_config: &Arc<ServerConfig>,
        timeout: Duration,
    ) -> Result<Links, NodeError> {
        let pinned = pinned_certs(plan_peers)?;
        let setup = async {
            let outgoing = peers
                .iter()
                .filter(|&&q| q > me)
                .map(|&q| dial(endpoint, &plan_peers[q], &pinned));
            let expected: BTreeSet<usize> = peers.iter().copied().filter(|&q| q < me).collect();
            let incoming = async {
                let mut got = HashMap::new();
                while got.len() < expected.len() {
                    let Some(inc) = endpoint.accept().await else {
                        return Err(NodeError::Io("endpoint closed during set-up".into()));
                    };
                    if let Some((rank, conn)) =
                        accept_one(inc, server_config, &expected, &pinned).await
                    {
                        match got.entry(rank) {
                            std::collections::hash_map::Entry::Occupied(_) => {
                                warn!(rank, "refused a second connection claiming the same rank");
                                conn.close(REFUSED.into(), b"duplicate");
                            }
                            std::collections::hash_map::Entry::Vacant(slot) => {
                                slot.insert(conn);
                            }
                        }
                    }
                }
                Ok::<_, NodeError>(got)
            };
            let (out, mut conns) = tokio::try_join!(dial_in_turn(outgoing), incoming)?;
            conns.extend(out);
            Ok::<_, NodeError>(conns)
        };
        let conns = tokio::time::timeout(timeout, setup).await.map_err(|_| {
            NodeError::Io(format!(
                "data-plane set-up did not finish within {timeout:?}"
            ))
        })??;

        // One stream per direction, announced with a preamble naming the sender.
        let mut sends = HashMap::new();
        for (&rank, conn) in &conns {
            let mut s = conn
                .open_uni()
                .await
                .map_err(|e| NodeError::Io(format!("stream to rank {rank}: {e}")))?;
            let mut pre = STREAM_MAGIC.to_vec();
            pre.extend_from_slice(&(me as u32).to_be_bytes());
            s.write_all(&pre)
                .await
                .map_err(|e| NodeError::Io(format!("stream to rank {rank}: {e}")))?;
            sends.insert(rank, s);
        }
        let mut links = HashMap::new();
        for (rank, conn) in conns {
            let mut recv = tokio::time::timeout(timeout, conn.accept_uni())
                .await
                .map_err(|_| {
                    NodeError::Io(format!("rank {rank} opened no stream within {timeout:?}"))
                })?
                .map_err(|e| NodeError::Io(format!("stream from rank {rank}: {e}")))?;
            let mut pre = [0u8; 8];
            recv.read_exact(&mut pre)
                .await
                .map_err(|e| NodeError::Io(format!("stream from rank {rank}: {e}")))?;
            if pre[..4] != STREAM_MAGIC
                || u32::from_be_bytes([pre[4], pre[5], pre[6], pre[7]]) as usize != rank
            {
                return Err(NodeError::Io(format!(
                    "rank {rank} sent a malformed stream preamble"
                )));
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let writer_error = Arc::new(Mutex::new(None));
            let send = sends
                .remove(&rank)
                .ok_or_else(|| NodeError::Io(format!("no stream to rank {rank}")))?;
            tokio::spawn(writer(send, rx, writer_error.clone()));
            debug!(rank, "data-plane link up");
            links.insert(
                rank,
                Link {
                    conn,
                    tx,
                    writer_error,
                    recv,
                    send_seq: 0,
                    recv_seq: 0,
                },
            );
        }
        Ok(Links {
            links,
            poll: Duration::ZERO,
        })
    }

    /// Receives poll for up to `poll` before letting the thread sleep (see [`poll_then_await`]).
    pub fn set_poll(&mut self, poll: Duration) {
        self.poll = poll;
    }

    fn link(&mut self, peer: usize) -> Result<&mut Link, String> {
        self.links
            .get_mut(&peer)
            .ok_or_else(|| format!("no link to rank {peer}"))
    }

    /// Queues `payload` for `peer`; returns at once.
    pub fn send(&mut self, peer: usize, payload: Bytes) -> Result<(), String> {
        let link = self.link(peer)?;
        let seq = link.send_seq;
        link.send_seq = link.send_seq.wrapping_add(1);
        link.tx.send((seq, payload)).map_err(|_| {
            link.writer_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_else(|| "link closed".to_string())
        })
    }

    /// Receives the next message from `peer` into `dst`, applying it as it arrives.
    pub async fn recv_into(
        &mut self,
        peer: usize,
        dst: &mut [u8],
        mut applier: Applier,
    ) -> Result<(), String> {
        let poll = self.poll;
        let link = self.link(peer)?;
        let mut header = [0u8; MSG_HEADER];
        poll_then_await(link.recv.read_exact(&mut header), poll)
            .await
            .map_err(|e| e.to_string())?;
        let seq = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&header[4..]);
        let len = u64::from_be_bytes(len8);
        if seq != link.recv_seq || len != dst.len() as u64 {
            return Err(format!(
                "out of step: got message {seq} of {len} bytes, expected message {} of {} bytes",
                link.recv_seq,
                dst.len()
            ));
        }
        link.recv_seq = link.recv_seq.wrapping_add(1);
        let mut remaining = dst.len();
        while remaining > 0 {
            let chunk = link
                .recv
                .read_chunk(remaining, true)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "stream ended mid-message".to_string())?;
            applier.apply(dst, &chunk.bytes);
            remaining -= chunk.bytes.len();
        }
        Ok(())
    }

    pub fn close(&self) {
        for (rank, link) in &self.links {
            let st = link.conn.stats();
            tracing::info!(
                peer = rank,
                rtt_us = st.path.rtt.as_micros() as u64,
                cwnd = st.path.cwnd,
                lost_packets = st.path.lost_packets,
                congestion_events = st.path.congestion_events,
                sent_packets = st.path.sent_packets,
                mtu = st.path.current_mtu,
                "data-plane link statistics"
            );
        }
        for link in self.links.values() {
            link.conn.close(0u32.into(), b"done");
        }
    }
}

/// Awaits `fut`, but for up to `poll` first keeps the thread awake: between polls it yields to
/// the runtime, which then checks the socket without blocking, and to the kernel, which runs
/// whatever else wants this core (another rank, on a shared one). A message that arrives
/// meanwhile is taken without a sleeping process being woken, the cost that dominates small
/// messages when ranks share cores (Open MPI polls the same way, `mpi_yield_when_idle`).
async fn poll_then_await<F: std::future::Future>(fut: F, poll: Duration) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    if !poll.is_zero() {
        let deadline = std::time::Instant::now() + poll;
        loop {
            let polled =
                std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
            if let std::task::Poll::Ready(v) = polled {
                return v;
            }
            if std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::yield_now();
            tokio::task::yield_now().await;
        }
    }
    fut.await
}

/// Completes the dials one after another (each is one handshake; the accepting side runs
/// concurrently, so no order of ranks can wait on itself).
async fn dial_in_turn<F, T>(dials: impl Iterator<Item = F>) -> Result<Vec<T>, NodeError>
where
    F: std::future::Future<Output = Result<T, NodeError>>,
{
    let mut out = Vec::new();
    for d in dials {
        out.push(d.await?);
    }
    Ok(out)
}
