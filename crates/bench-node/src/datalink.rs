//! Data-plane connections to the peers a node's schedules name.
//!
//! The lower rank of each pair dials the higher one. Every connection is mutual TLS against the
//! run's CA, and the certificate a peer presents must be exactly the one the coordinator pinned
//! for the rank it claims to be and that the schedules name; anything else is closed and logged.
//! Each direction of a pair then has one unidirectional stream carrying messages in schedule
//! order, each framed as `seq (u32 BE) | length (u64 BE) | payload`. A send only queues the
//! message (it never blocks a step: the executor's semantics); the queues are written into their
//! streams by the node's own task whenever it is polled, while it waits for a receive and in
//! [`Links::flush`] at the end of an iteration. (A writer task per peer did this before: one more
//! task wake-up and channel hop per message, a tenth of a 1 KiB all-reduce's time.)

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use quinn::{Connection, Endpoint, RecvStream, SendStream, ServerConfig};
use tracing::debug;
use transport::credentials::rank_name;
use transport::tls::peer_leaf;
use wire::control::PeerInfo;

use crate::apply::Applier;
use crate::host::thread_cpu_time;
use crate::link_error::LinkError;
use crate::refused;
use crate::NodeError;

const STREAM_MAGIC: [u8; 4] = *b"CBDP";
const MSG_HEADER: usize = 12;
/// QUIC application error code sent when a connection is refused.
pub const REFUSED: u32 = 0x43;

/// A piece of a message: bytes to copy, or bytes shared as they are (the input, or a message
/// received earlier that is forwarded unchanged), which are sent without a copy.
pub enum Part<'a> {
    Copy(&'a [u8]),
    Shared(Bytes),
}

impl Part<'_> {
    fn len(&self) -> usize {
        match self {
            Part::Copy(b) => b.len(),
            Part::Shared(b) => b.len(),
        }
    }
}

/// The sending half of a link: the messages queued and not yet taken by the stream.
struct Outbox {
    stream: SendStream,
    queued: VecDeque<Bytes>,
    /// Where copied parts and headers are written. Each message's copies are split off it;
    /// once QUIC has released them all (acknowledged), the next message reuses the same memory
    /// instead of a fresh allocation, whose pages the kernel would fault in and zero.
    arena: BytesMut,
    seq: u32,
    /// Why the stream failed; every later send to this peer reports it.
    error: Option<quinn::WriteError>,
}

impl Outbox {
    /// Writes as much of the queue as the stream takes now; when it takes no more, `cx` is woken
    /// once it does.
    fn poll_write(&mut self, cx: &mut Context<'_>) {
        while self.error.is_none() && !self.queued.is_empty() {
            // Cancel-safe: a write that is not ready has written nothing.
            let polled = {
                let chunks = self.queued.make_contiguous();
                std::pin::pin!(self.stream.write_chunks(chunks)).poll(cx)
            };
            match polled {
                Poll::Ready(Ok(written)) => {
                    self.queued.drain(..written.chunks);
                    if written.bytes == 0 {
                        return;
                    }
                }
                Poll::Ready(Err(e)) => {
                    self.error = Some(e);
                    self.queued.clear();
                }
                Poll::Pending => return,
            }
        }
    }
}

struct Inbox {
    stream: RecvStream,
    seq: u32,
}

/// The open links of one node, by peer rank.
pub struct Links {
    conns: HashMap<usize, Connection>,
    outboxes: HashMap<usize, Outbox>,
    inboxes: HashMap<usize, Inbox>,
    /// How long a receive polls for its message before the thread may sleep.
    poll: Duration,
    /// CPU time spent polling while nothing happened (see [`poll_then_await`]).
    idle: Idle,
}

/// The CPU time of the rounds of polling that found nothing to do: rounds in which no datagram
/// of the thread's connections was received or sent (a round that moved one ran QUIC's work on
/// it). On a core of its own a round's CPU is its wall time; on a shared one less, and only the
/// CPU counts.
#[derive(Debug, Default)]
struct Idle {
    total: Duration,
}

impl Idle {
    /// A round that took `cpu` of this thread's CPU and `moved` datagrams or not.
    fn round(&mut self, cpu: Duration, moved: bool) {
        if !moved {
            self.total += cpu;
        }
    }
}

/// The datagrams received and sent so far over `conns`; a round of polling that changes the
/// count did work.
fn datagrams(conns: &HashMap<usize, Connection>) -> u64 {
    conns
        .values()
        .map(|c| {
            let stats = c.stats();
            stats.udp_rx.datagrams + stats.udp_tx.datagrams
        })
        .sum()
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
    channel: usize,
    pinned: &HashMap<Vec<u8>, usize>,
) -> Result<(usize, Connection), NodeError> {
    let rank = peer.rank as usize;
    let text = peer.data_addrs.get(channel).ok_or_else(|| {
        NodeError::Io(format!("rank {rank} has no address for channel {channel}"))
    })?;
    let addr: SocketAddr = text
        .parse()
        .map_err(|e| NodeError::Io(format!("rank {rank} address {text}: {e}")))?;
    let conn = endpoint
        .connect(addr, &rank_name(rank))
        .map_err(|e| NodeError::Io(format!("dial rank {rank} at {addr}: {e}")))?
        .await
        .map_err(|e| NodeError::Io(format!("dial rank {rank} at {addr}: {e}")))?;
    match peer_leaf(&conn).and_then(|der| pinned.get(&der).copied()) {
        Some(r) if r == rank => Ok((rank, conn)),
        _ => {
            conn.close(REFUSED.into(), b"unexpected certificate");
            Err(NodeError::from(transport::TransportError::Tls(format!(
                "rank {rank} at {addr} presented a certificate that is not the one pinned for it"
            ))))
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
            refused::data_plane(remote, &e.to_string());
            return None;
        }
    };
    let conn = match connecting.await {
        Ok(c) => c,
        Err(e) => {
            refused::data_plane(remote, &format!("handshake failed: {e}"));
            return None;
        }
    };
    match peer_leaf(&conn).and_then(|der| pinned.get(&der).copied()) {
        Some(rank) if expected.contains(&rank) => Some((rank, conn)),
        claimed => {
            let who = claimed.map_or("no run certificate".to_string(), |r| format!("rank {r}"));
            refused::data_plane(remote, &format!("not a scheduled peer ({who})"));
            conn.close(REFUSED.into(), b"not a scheduled peer");
            None
        }
    }
}

/// Accepts one connection from each rank of `expected`; anything else is refused (and counted).
async fn accept_expected(
    endpoint: &Endpoint,
    expected: &BTreeSet<usize>,
    server_config: &Arc<ServerConfig>,
    pinned: &HashMap<Vec<u8>, usize>,
) -> Result<HashMap<usize, Connection>, NodeError> {
    let mut got = HashMap::new();
    while got.len() < expected.len() {
        let Some(inc) = endpoint.accept().await else {
            return Err(NodeError::Io("endpoint closed during set-up".into()));
        };
        let Some((rank, conn)) = accept_one(inc, server_config, expected, pinned).await else {
            continue;
        };
        match got.entry(rank) {
            std::collections::hash_map::Entry::Occupied(_) => {
                refused::data_plane(
                    conn.remote_address(),
                    &format!("a second connection claiming rank {rank}"),
                );
                conn.close(REFUSED.into(), b"duplicate");
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(conn);
            }
        }
    }
    Ok(got)
}

/// Refuses every connection that arrives after set-up, so a late intruder gets an answer.
pub fn refuse_latecomers(endpoint: Endpoint) {
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            refused::data_plane(incoming.remote_address(), "after set-up");
            incoming.refuse();
        }
    });
}

impl Links {
    /// Connects channel `channel` to every rank in `peers` (the union over the plan's
    /// schedules), dialling each higher rank's endpoint of that channel.
    pub async fn connect(
        endpoint: &Endpoint,
        me: usize,
        channel: usize,
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
                .map(|&q| dial(endpoint, &plan_peers[q], channel, &pinned));
            let expected: BTreeSet<usize> = peers.iter().copied().filter(|&q| q < me).collect();
            let incoming = accept_expected(endpoint, &expected, server_config, &pinned);
            let (out, mut conns) = tokio::try_join!(dial_in_turn(outgoing), incoming)?;
            conns.extend(out);
            Ok::<_, NodeError>(conns)
        };
        let conns = tokio::time::timeout(timeout, setup).await.map_err(|_| {
            NodeError::Io(format!(
                "data-plane set-up did not finish within {timeout:?}"
            ))
        })??;
        Self::open_streams(me, conns, timeout).await
    }

    /// One stream per direction on each connection, announced with a preamble naming the
    /// sender, checked on the way in.
    async fn open_streams(
        me: usize,
        conns: HashMap<usize, Connection>,
        timeout: Duration,
    ) -> Result<Links, NodeError> {
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
        let mut links = Links {
            conns: HashMap::new(),
            outboxes: HashMap::new(),
            inboxes: HashMap::new(),
            poll: Duration::ZERO,
            idle: Idle::default(),
        };
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
            let send = sends
                .remove(&rank)
                .ok_or_else(|| NodeError::Io(format!("no stream to rank {rank}")))?;
            debug!(rank, "data-plane link up");
            links.outboxes.insert(
                rank,
                Outbox {
                    stream: send,
                    queued: VecDeque::new(),
                    arena: BytesMut::new(),
                    seq: 0,
                    error: None,
                },
            );
            links.inboxes.insert(
                rank,
                Inbox {
                    stream: recv,
                    seq: 0,
                },
            );
            links.conns.insert(rank, conn);
        }
        Ok(links)
    }

    /// Receives poll for up to `poll` before letting the thread sleep (see [`poll_then_await`]).
    pub fn set_poll(&mut self, poll: Duration) {
        self.poll = poll;
    }

    /// The CPU time this thread spent polling for messages while nothing happened, since the
    /// last call: time it would have slept without polling, which a measurement of the data
    /// plane's work leaves out.
    pub fn take_idle(&mut self) -> Duration {
        std::mem::take(&mut self.idle.total)
    }

    /// Queues one message for `peer` whose payload is `parts` in order; returns at once.
    pub fn send(&mut self, peer: usize, parts: &[Part<'_>]) -> Result<(), LinkError> {
        let out = self
            .outboxes
            .get_mut(&peer)
            .ok_or(LinkError::NoLink(peer))?;
        if let Some(e) = &out.error {
            return Err(LinkError::Write(e.clone()));
        }
        let len: usize = parts.iter().map(Part::len).sum();
        let copied: usize = parts
            .iter()
            .map(|p| match p {
                Part::Copy(b) => b.len(),
                Part::Shared(_) => 0,
            })
            .sum();
        let arena = &mut out.arena;
        arena.reserve(MSG_HEADER + copied);
        arena.put_u32(out.seq);
        arena.put_u64(len as u64);
        for part in parts {
            match part {
                Part::Copy(b) => arena.put_slice(b),
                Part::Shared(b) => {
                    if !arena.is_empty() {
                        out.queued.push_back(arena.split().freeze());
                    }
                    if !b.is_empty() {
                        out.queued.push_back(b.clone());
                    }
                }
            }
        }
        if !arena.is_empty() {
            out.queued.push_back(arena.split().freeze());
        }
        out.seq = out.seq.wrapping_add(1);
        Ok(())
    }

    /// Receives the next message from `peer` into `dst`, applying it as it arrives, and writes
    /// the queued sends meanwhile. With `keep`, the message's bytes are also kept there as
    /// they arrived (shared, not copied), to be forwarded.
    pub async fn recv_into(
        &mut self,
        peer: usize,
        dst: &mut [u8],
        mut applier: Applier<'_>,
        mut keep: Option<&mut Vec<Bytes>>,
    ) -> Result<(), LinkError> {
        let Links {
            conns,
            outboxes,
            inboxes,
            poll,
            idle,
        } = self;
        let inbox = inboxes.get_mut(&peer).ok_or(LinkError::NoLink(peer))?;
        let mut header = [0u8; MSG_HEADER];
        let read = inbox.stream.read_exact(&mut header);
        poll_then_await(writing_meanwhile(outboxes, read), *poll, idle, || {
            datagrams(conns)
        })
        .await
        .map_err(LinkError::ReadHeader)?;
        let seq = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&header[4..]);
        let len = u64::from_be_bytes(len8);
        if seq != inbox.seq || len != dst.len() as u64 {
            return Err(LinkError::OutOfStep {
                got_seq: seq,
                got_len: len,
                want_seq: inbox.seq,
                want_len: dst.len() as u64,
            });
        }
        inbox.seq = inbox.seq.wrapping_add(1);
        let mut remaining = dst.len();
        while remaining > 0 {
            let read = inbox.stream.read_chunk(remaining, true);
            let chunk = writing_meanwhile(outboxes, read)
                .await
                .map_err(LinkError::Read)?
                .ok_or(LinkError::EndedMidMessage)?;
            applier.apply(dst, &chunk.bytes);
            remaining -= chunk.bytes.len();
            if let Some(kept) = keep.as_deref_mut() {
                kept.push(chunk.bytes);
            }
        }
        Ok(())
    }

    /// Waits until every queued message is in its stream, from which quinn sends it; a failed
    /// stream comes back as `(peer, error)`. Every receive of the iteration has been applied by
    /// then, so no peer waits on this node to take a message before it can take ours.
    pub async fn flush(&mut self) -> Result<(), (usize, LinkError)> {
        let outboxes = &mut self.outboxes;
        std::future::poll_fn(|cx| {
            let mut queued = false;
            for (&peer, out) in outboxes.iter_mut() {
                out.poll_write(cx);
                if let Some(e) = &out.error {
                    return Poll::Ready(Err((peer, LinkError::Write(e.clone()))));
                }
                queued |= !out.queued.is_empty();
            }
            if queued {
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        })
        .await
    }

    pub fn close(&self) {
        for (rank, conn) in &self.conns {
            let st = conn.stats();
            tracing::info!(
                peer = rank,
                rtt_us = st.path.rtt.as_micros() as u64,
                cwnd = st.path.cwnd,
                lost_packets = st.path.lost_packets,
                congestion_events = st.path.congestion_events,
                sent_packets = st.path.sent_packets,
                mtu = st.path.current_mtu,
                // A sender that ran out of the peer's flow-control window said so this often.
                stream_blocked = st.frame_tx.stream_data_blocked,
                connection_blocked = st.frame_tx.data_blocked,
                "data-plane link statistics"
            );
        }
        for conn in self.conns.values() {
            conn.close(0u32.into(), b"done");
        }
    }
}

/// Awaits `fut`, but for up to `poll` first keeps the thread awake: between polls it yields to
/// the runtime, which then checks the socket without blocking, and to the kernel, which runs
/// whatever else wants this core (another rank, on a shared one). A message that arrives
/// meanwhile is taken without a sleeping process being woken, the cost that dominates small
/// messages when ranks share cores (Open MPI polls the same way, `mpi_yield_when_idle`).
///
/// Each yield also runs QUIC's drivers, which send and receive, so a round of polling may be
/// work; the rounds that found nothing to do ([`Idle`]: `moved`, the datagrams moved so far,
/// did not change), which the thread would have slept through without polling, are added up,
/// so that the CPU a rank reports is its data plane's work and not its waiting (one read of the
/// thread's CPU clock and of its connections' counters a round).
async fn poll_then_await<F: Future>(
    fut: F,
    poll: Duration,
    idle: &mut Idle,
    moved: impl Fn() -> u64,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    if !poll.is_zero() {
        let deadline = std::time::Instant::now() + poll;
        // The thread's CPU clock and the datagrams moved when the previous round ended; read
        // only once the message is not there at once, so a receive that finds it pays nothing.
        let mut last: Option<(Duration, u64)> = None;
        loop {
            let polled =
                std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
            if let std::task::Poll::Ready(v) = polled {
                return v;
            }
            let (cpu, count) = (thread_cpu_time(), moved());
            // The first round ran the receive's own work, not a wait.
            if let Some((then_cpu, then_count)) = last {
                idle.round(cpu.saturating_sub(then_cpu), count != then_count);
            }
            last = Some((cpu, count));
            if std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::yield_now();
            tokio::task::yield_now().await;
        }
    }
    fut.await
}

/// Awaits `fut`, writing every peer's queued sends whenever it is polled: a peer may be waiting
/// for one of them before it sends what `fut` waits for.
async fn writing_meanwhile<F: Future>(outboxes: &mut HashMap<usize, Outbox>, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        for out in outboxes.values_mut() {
            out.poll_write(cx);
        }
        fut.as_mut().poll(cx)
    })
    .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rounds_that_moved_no_datagram_are_idle() {
        let us = Duration::from_micros;
        let mut i = Idle::default();
        for (cpu, moved) in [
            (us(2), false),
            (us(40), true),
            (us(3), false),
            (us(7), true),
        ] {
            i.round(cpu, moved);
        }
        assert_eq!(i.total, us(5));
    }
}
