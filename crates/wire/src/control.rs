//! Control-plane messages between the coordinator and bench-nodes, and their validation.
//!
//! Every message that arrives is decoded with [`decode_from_node`] or [`decode_from_coordinator`],
//! which reject malformed JSON, unknown fields and values out of range with a [`WireError`]
//! that says what was wrong. Nothing from the wire reaches a panic.

use serde::{Deserialize, Serialize};
use topologies::noise::Delay;
#[cfg(test)]
use topologies::{Algorithm, Case};
use topologies::{BuildOptions, DataType, ReduceOp, Series};

/// Whether the result lands in a separate buffer (out-of-place) or overwrites the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    OutOfPlace,
    InPlace,
}

impl Placement {
    pub const BOTH: [Placement; 2] = [Placement::OutOfPlace, Placement::InPlace];
}

/// A rank's data-plane identity, as the coordinator hands it to every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerInfo {
    pub rank: u32,
    /// `ip:port` of the rank's QUIC endpoint of each channel, in channel order.
    pub data_addrs: Vec<String>,
    /// The rank's certificate (DER, base64), pinned: a data-plane peer must present exactly this.
    pub cert_der_b64: String,
}

/// QUIC flow-control windows, sized from the bandwidth-delay product, and the datagram size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportParams {
    pub stream_receive_window: u64,
    pub receive_window: u64,
    pub send_window: u64,
    /// Seconds without any packet after which a connection is declared dead.
    pub idle_timeout_ms: u64,
    /// UDP payload of every data-plane datagram, bytes: the network's MTU less the IP and UDP
    /// headers. The network must carry it (the coordinator derives it from `--mtu`).
    #[serde(default = "ethernet_datagram")]
    pub datagram_bytes: u16,
    /// Packet payloads left in clear after the TLS handshake (`--no-encryption`, to attribute
    /// the cipher's cost; never the default).
    #[serde(default)]
    pub unencrypted: bool,
}

/// The datagram an Ethernet MTU of 1500 carries over IPv6 (and IPv4).
pub const ETHERNET_DATAGRAM: u16 = 1452;

fn one() -> u32 {
    1
}

fn ethernet_datagram() -> u16 {
    ETHERNET_DATAGRAM
}

/// Everything a node needs to run its part of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub run_id: String,
    pub nranks: u32,
    pub peers: Vec<PeerInfo>,
    /// What the sweep measures, in order: each collective and algorithm, in each type and
    /// operator, at every size.
    pub series: Vec<Series>,
    /// Broadcast's and reduce's root.
    #[serde(default)]
    pub root: u32,
    /// Bytes per rank, each a positive multiple of every series' element size.
    pub sizes: Vec<u64>,
    /// The ping-pong's element type and operator (the first series' in a run of several).
    pub dtype: DataType,
    pub op: ReduceOp,
    pub warmup_iters: u32,
    pub iters: u32,
    /// Operations per timed iteration, run back to back (nccl-tests' `-m`); reports are per
    /// operation.
    #[serde(default = "one")]
    pub agg_iters: u32,
    pub check: bool,
    /// With `check`: the untimed iterations whose result is checked (nccl-tests' `-c`); absent
    /// in plans of builds before it existed (one).
    #[serde(default = "one")]
    pub check_iters: u32,
    pub build: BuildOptions,
    pub transport: TransportParams,
    /// After the all-reduce sweep, a ping-pong between ranks 0 and 1 at every size (the other
    /// ranks only meet the barriers); absent in plans of builds before it existed.
    #[serde(default)]
    pub pingpong: bool,
    /// Microseconds a node keeps polling for the next message before its thread sleeps (0:
    /// sleep at once). Polling spares the wake-up of a sleeping process for every small message,
    /// which on cores shared by several ranks is most of its cost; absent in older plans.
    #[serde(default)]
    pub poll_us: u32,
    /// Channels every rank opened ([`FromCoordinator::OpenChannels`]): each its own socket,
    /// QUIC endpoint, connections and thread. A size runs on as many of them as give each at
    /// least `channel_min_bytes` of the buffer (`topologies::channels::channels_for`).
    pub channels: u32,
    pub channel_min_bytes: u64,
    /// Test hook (`--fault corrupt:RANK@SIZE`): these ranks spoil one element of their checked
    /// result at these sizes, so the check must find it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrupt: Vec<Corrupt>,
    /// `--fault jitter:DIST`: before each step's sends of the warm-up and timed iterations,
    /// every rank's channel waits a delay drawn from this distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Delay>,
}

/// A rank that spoils its checked result at a size (a test hook).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corrupt {
    pub rank: u32,
    pub size: u64,
}

/// The most channels a rank may open.
pub const MAX_CHANNELS: u32 = 64;

/// The longest `poll_us` a plan may ask for: one second.
pub const MAX_POLL_US: u32 = 1_000_000;

/// Limits on a plan that a node accepts; they bound what a plan can make a node allocate or do.
pub const MAX_RANKS: u32 = 1 << 17;
pub const MAX_SIZE: u64 = 16 << 30;
pub const MAX_ITERS: u32 = 1_000_000;

/// Barriers of the sweep per algorithm, size and placement: one before the iterations, which
/// then run back to back (as nccl-tests' loop does: a barrier before every iteration would time
/// how late its release reaches each rank, which at small sizes is most of the time), and one
/// before the untimed iteration whose result is checked.
pub const BARRIERS_PER_MEASUREMENT: u64 = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FromNode {
    /// First message on the control stream.
    Register {
        protocol: u16,
        token: String,
        rank: u32,
        nranks: u32,
        /// The node's control endpoint; its data-plane addresses follow in
        /// [`FromNode::Channels`].
        data_addr: String,
        host: String,
        pid: u32,
        /// The CPUs this node may run on, in the kernel's list syntax ([`crate::cpus`]).
        cpus: String,
        /// The machine this node runs on (the kernel's boot id): nodes in network namespaces
        /// or containers of one machine share its cores and name the same one.
        machine: String,
        /// Cores the node's control group may use, when it is limited (cgroup v2 `cpu.max`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu_quota: Option<f64>,
        /// What the node could read of its host (for the results' metadata).
        #[serde(default)]
        facts: HostFacts,
    },
    /// The node's channel endpoints are open, at these addresses (channel order).
    Channels { addrs: Vec<String> },
    /// Data-plane connections to every peer are up.
    Ready {},
    /// The node reached barrier `epoch`.
    Arrive { epoch: u64 },
    /// Measurements of one algorithm, size and placement.
    Report(Report),
    /// Round trips of one size of the ping-pong, from the rank that timed them.
    PingPong(PingPongReport),
    /// The node hit an error it cannot recover from; `context` says where, in words. When the
    /// error came from the data plane, `peer` is the rank it was waiting for or sending to and
    /// `step` the step of the schedule it was in (none while its last sends drained).
    Failed {
        context: String,
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<u32>,
    },
    /// Sent every [`HEARTBEAT_INTERVAL_MS`] from registration on: the node is alive, and where it is.
    Heartbeat(Heartbeat),
}

/// What a node could read of its host: the CPU model, the kernel release, the interface its
/// data plane uses and that link's speed as the kernel reports it. Each absent where unreadable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_speed_mbps: Option<u64>,
}

/// The longest text a [`HostFacts`] field may hold.
pub const MAX_FACT_BYTES: usize = 255;

/// How often a node sends a [`FromNode::Heartbeat`].
pub const HEARTBEAT_INTERVAL_MS: u64 = 500;
/// QUIC idle timeout of the control connection: a coordinator or node silent this long (not
/// even a keep-alive) is gone. A backstop: both sides find the other gone sooner from its
/// heartbeats, with a limit that follows how late heartbeats have come.
pub const CONTROL_IDLE_TIMEOUT_MS: u64 = 30_000;
/// A node gives up on a coordinator silent this long at least (longer than the coordinator
/// waits for a node, so that a node cut off is named for its silence before it gives up); the
/// coordinator, after a pause of its own this long, knows the nodes may have given up on it.
pub const COORDINATOR_SILENCE_MIN_MS: u64 = 4_000;
/// Most peers a heartbeat names as awaited.
pub const MAX_AWAITED: usize = 64;

/// Where a node is in the sweep, as its heartbeat says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The last barrier the node arrived at (0 before the first).
    pub epoch: u64,
    /// The step of the iteration after barrier `epoch` the node is in; `None` while it waits at
    /// the barrier (or before the sweep).
    pub step: Option<u32>,
    /// The iteration after barrier `epoch` that step belongs to (warm-up iterations count; absent
    /// from older nodes and between iterations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u32>,
    /// The ranks whose data that step waits for.
    pub awaiting: Vec<u32>,
    /// Steps the node has finished since the sweep began; grows while data moves.
    pub steps_done: u64,
    /// Data-plane connection attempts the node has refused so far (absent from older nodes).
    #[serde(default)]
    pub refused: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The series (collective, algorithm, type and operator) measured.
    pub series: Series,
    pub size: u64,
    pub placement: Placement,
    /// This rank's time for each timed iteration, in nanoseconds.
    pub iter_ns: Vec<u64>,
    /// The same times as an HDR histogram (see [`crate::histogram`]).
    pub histogram: String,
    /// Wrong elements in this rank's result, when checking was asked for.
    pub nwrong: Option<u64>,
    /// Channels this size ran on.
    pub channels: u32,
    /// CPU time of each channel's thread over the timed iterations, nanoseconds, less the
    /// rounds of polling for a message that found nothing to do (`poll_idle_ns`).
    pub cpu_ns: Vec<u64>,
    /// Time each channel's thread spent in rounds of polling that found nothing to do,
    /// nanoseconds: on a core of its own free, on a shared one taken from the other threads
    /// there. Empty from older nodes.
    #[serde(default)]
    pub poll_idle_ns: Vec<u64>,
    /// Time each channel's thread spent runnable but waiting for a core (Linux's run-queue
    /// delay), nanoseconds. Empty where the kernel does not say, and from older nodes.
    #[serde(default)]
    pub runq_wait_ns: Vec<u64>,
    /// Bytes this rank sends per iteration, over all channels.
    pub sent_bytes: u64,
}

/// One size of the ping-pong, as the rank that sent first measured it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingPongReport {
    pub size: u64,
    /// The round trip of each timed iteration, in nanoseconds.
    pub round_trip_ns: Vec<u64>,
}

// One plan per run: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FromCoordinator {
    /// Every rank registered: open `count` channels and say where
    /// ([`FromNode::Channels`]); the plan follows with every rank's addresses.
    OpenChannels {
        count: u32,
        /// The CPUs to bind the channel threads to, channel i to `cpus[i % len]` (`--cpu-bind`);
        /// empty: left to the scheduler.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cpus: Vec<u32>,
    },
    Plan(Plan),
    /// Every rank reached barrier `epoch`.
    Release {
        epoch: u64,
    },
    /// Stop now; `reason` says why.
    Abort {
        reason: String,
    },
    /// The sweep is over; close connections and exit.
    Done,
    /// Sent every [`HEARTBEAT_INTERVAL_MS`] from registration on: the coordinator is alive.
    Heartbeat,
}

pub const PROTOCOL: u16 = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("not a collbench frame (magic bytes {0:02x?})")]
    BadMagic(Vec<u8>),
    #[error("protocol version {got} is not supported (this build speaks {want})")]
    Version { got: u16, want: u16 },
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> WireError {
    WireError::Invalid {
        field,
        reason: reason.into(),
    }
}

pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, WireError> {
    let payload = serde_json::to_vec(msg).map_err(|e| WireError::Malformed(e.to_string()))?;
    crate::frame::encode(&payload)
}

fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, WireError> {
    serde_json::from_slice(payload).map_err(|e| {
        if e.line() > 0 {
            return WireError::Malformed(e.to_string());
        }
        // Errors inside an internally tagged message carry no position (serde buffers it
        // first); say which message it was.
        let kind = serde_json::Deserializer::from_slice(payload)
            .into_iter::<serde_json::Value>()
            .next()
            .and_then(Result::ok)
            .and_then(|v| v.get("type")?.as_str().map(str::to_owned));
        WireError::Malformed(match kind {
            Some(k) => format!("{e} (in a {k:?} message)"),
            None => e.to_string(),
        })
    })
}

/// Decodes and validates a payload a node sent.
pub fn decode_from_node(payload: &[u8]) -> Result<FromNode, WireError> {
    let msg: FromNode = parse(payload)?;
    match &msg {
        FromNode::Register {
            rank,
            nranks,
            data_addr,
            host,
            cpus,
            machine,
            cpu_quota,
            facts,
            ..
        } => {
            if *nranks == 0 || *nranks > MAX_RANKS {
                return Err(invalid(
                    "nranks",
                    format!("{nranks} is outside 1..={MAX_RANKS}"),
                ));
            }
            if rank >= nranks {
                return Err(invalid(
                    "rank",
                    format!("{rank} is not below nranks {nranks}"),
                ));
            }
            data_addr
                .parse::<std::net::SocketAddr>()
                .map_err(|e| invalid("data_addr", format!("'{data_addr}': {e}")))?;
            if host.is_empty() || host.len() > 255 {
                return Err(invalid("host", "must be 1 to 255 bytes"));
            }
            crate::cpus::parse(cpus).map_err(|e| invalid("cpus", e))?;
            if machine.is_empty() || machine.len() > 64 {
                return Err(invalid("machine", "must be 1 to 64 bytes"));
            }
            if cpu_quota.is_some_and(|q| !(q.is_finite() && q > 0.0)) {
                return Err(invalid("cpu_quota", "must be a positive number of cores"));
            }
            for (field, text) in [
                ("facts.cpu_model", &facts.cpu_model),
                ("facts.kernel", &facts.kernel),
                ("facts.interface", &facts.interface),
            ] {
                if text
                    .as_ref()
                    .is_some_and(|t| t.is_empty() || t.len() > MAX_FACT_BYTES)
                {
                    return Err(invalid(
                        field,
                        format!("must be 1 to {MAX_FACT_BYTES} bytes"),
                    ));
                }
            }
        }
        FromNode::Channels { addrs } => {
            if addrs.is_empty() || addrs.len() > MAX_CHANNELS as usize {
                return Err(invalid(
                    "addrs",
                    format!("{} channels, expected 1..={MAX_CHANNELS}", addrs.len()),
                ));
            }
            for a in addrs {
                a.parse::<std::net::SocketAddr>()
                    .map_err(|e| invalid("addrs", format!("'{a}': {e}")))?;
            }
        }
        FromNode::Report(r) => {
            if r.iter_ns.len() > MAX_ITERS as usize {
                return Err(invalid("iter_ns", "more iterations than any plan allows"));
            }
            if r.channels == 0 || r.channels > MAX_CHANNELS {
                return Err(invalid(
                    "channels",
                    format!("{} is outside 1..={MAX_CHANNELS}", r.channels),
                ));
            }
            if r.cpu_ns.len() != r.channels as usize {
                return Err(invalid(
                    "cpu_ns",
                    format!("{} entries for {} channels", r.cpu_ns.len(), r.channels),
                ));
            }
            for (field, per_channel) in [
                ("poll_idle_ns", &r.poll_idle_ns),
                ("runq_wait_ns", &r.runq_wait_ns),
            ] {
                if !per_channel.is_empty() && per_channel.len() != r.channels as usize {
                    return Err(invalid(
                        field,
                        format!("{} entries for {} channels", per_channel.len(), r.channels),
                    ));
                }
            }
        }
        FromNode::PingPong(r) => {
            if r.round_trip_ns.len() > MAX_ITERS as usize {
                return Err(invalid(
                    "round_trip_ns",
                    "more iterations than any plan allows",
                ));
            }
        }
        FromNode::Heartbeat(h) => {
            if h.awaiting.len() > MAX_AWAITED {
                return Err(invalid(
                    "awaiting",
                    format!("{} ranks, at most {MAX_AWAITED}", h.awaiting.len()),
                ));
            }
            if h.step.is_none() && !h.awaiting.is_empty() {
                return Err(invalid("awaiting", "ranks awaited outside a step"));
            }
        }
        FromNode::Ready {} | FromNode::Arrive { .. } | FromNode::Failed { .. } => {}
    }
    Ok(msg)
}

/// Decodes and validates a payload the coordinator sent.
pub fn decode_from_coordinator(payload: &[u8]) -> Result<FromCoordinator, WireError> {
    let msg: FromCoordinator = parse(payload)?;
    match &msg {
        FromCoordinator::Plan(plan) => plan.validate()?,
        FromCoordinator::OpenChannels { count, cpus } => {
            check_channels(*count)?;
            check_cpus(cpus)?;
        }
        _ => {}
    }
    Ok(msg)
}

/// CPU numbers a binding may name: those a Linux CPU set holds.
pub const MAX_CPU: u32 = 1023;

fn check_cpus(cpus: &[u32]) -> Result<(), WireError> {
    if cpus.len() > MAX_CPU as usize + 1 {
        return Err(invalid("cpus", format!("{} CPUs", cpus.len())));
    }
    match cpus.iter().find(|&&c| c > MAX_CPU) {
        Some(c) => Err(invalid("cpus", format!("CPU {c} is above {MAX_CPU}"))),
        None => Ok(()),
    }
}

fn check_channels(count: u32) -> Result<(), WireError> {
    if count == 0 || count > MAX_CHANNELS {
        return Err(invalid(
            "channels",
            format!("{count} is outside 1..={MAX_CHANNELS}"),
        ));
    }
    Ok(())
}

impl Plan {
    pub fn validate(&self) -> Result<(), WireError> {
        if self.nranks == 0 || self.nranks > MAX_RANKS {
            return Err(invalid(
                "nranks",
                format!("{} is outside 1..={MAX_RANKS}", self.nranks),
            ));
        }
        if self.peers.len() != self.nranks as usize {
            return Err(invalid(
                "peers",
                format!("{} entries for {} ranks", self.peers.len(), self.nranks),
            ));
        }
        check_channels(self.channels)?;
        for (i, p) in self.peers.iter().enumerate() {
            if p.rank as usize != i {
                return Err(invalid(
                    "peers",
                    format!("entry {i} is for rank {}", p.rank),
                ));
            }
            if p.data_addrs.len() != self.channels as usize {
                return Err(invalid(
                    "peers.data_addrs",
                    format!(
                        "rank {i} has {} addresses for {} channels",
                        p.data_addrs.len(),
                        self.channels
                    ),
                ));
            }
            for a in &p.data_addrs {
                a.parse::<std::net::SocketAddr>()
                    .map_err(|e| invalid("peers.data_addrs", format!("'{a}': {e}")))?;
            }
        }
        if self.series.is_empty() {
            return Err(invalid("series", "empty"));
        }
        for s in &self.series {
            s.case
                .collective
                .check(s.case.algorithm)
                .map_err(|e| invalid("series", e.to_string()))?;
        }
        if self.root >= self.nranks {
            return Err(invalid(
                "root",
                format!("{} is not a rank of {}", self.root, self.nranks),
            ));
        }
        if self.sizes.is_empty() {
            return Err(invalid("sizes", "empty"));
        }
        let esize = self
            .series
            .iter()
            .map(|s| s.dtype.size() as u64)
            .chain([self.dtype.size() as u64])
            .max()
            .unwrap_or(1);
        for &s in &self.sizes {
            if s == 0 || !s.is_multiple_of(esize) || s > MAX_SIZE {
                return Err(invalid(
                    "sizes",
                    format!("{s} is not a positive multiple of {esize} up to {MAX_SIZE}"),
                ));
            }
        }
        if self.iters == 0 || self.iters > MAX_ITERS || self.warmup_iters > MAX_ITERS {
            return Err(invalid("iters", format!("iters must be 1..={MAX_ITERS}")));
        }
        if self.agg_iters == 0 || self.agg_iters > MAX_ITERS {
            return Err(invalid("agg_iters", format!("must be 1..={MAX_ITERS}")));
        }
        if self.check_iters == 0 || self.check_iters > MAX_ITERS {
            return Err(invalid("check_iters", format!("must be 1..={MAX_ITERS}")));
        }
        if self.build.segment_bytes == 0 {
            return Err(invalid("build.segment_bytes", "must be positive"));
        }
        if self.poll_us > MAX_POLL_US {
            return Err(invalid("poll_us", format!("must be at most {MAX_POLL_US}")));
        }
        if self.pingpong && self.nranks < 2 {
            return Err(invalid("pingpong", "a ping-pong needs at least 2 ranks"));
        }
        if let Some(j) = &self.jitter {
            j.check().map_err(|e| invalid("jitter", e))?;
        }
        for c in &self.corrupt {
            if c.rank >= self.nranks || !self.sizes.contains(&c.size) {
                return Err(invalid(
                    "corrupt",
                    format!("rank {} at {} bytes is not in the plan", c.rank, c.size),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn register_with_rank_beyond_nranks_is_refused_by_field() {
        let m = FromNode::Register {
            protocol: PROTOCOL,
            token: "t".into(),
            rank: 4,
            nranks: 4,
            data_addr: "127.0.0.1:1".into(),
            host: "h".into(),
            pid: 1,
            cpus: "0-1".into(),
            machine: "m".into(),
            cpu_quota: None,
            facts: HostFacts::default(),
        };
        let bytes = serde_json::to_vec(&m).unwrap();
        let e = decode_from_node(&bytes).unwrap_err();
        assert!(matches!(e, WireError::Invalid { field: "rank", .. }), "{e}");
    }

    #[test]
    fn unknown_fields_and_types_are_malformed() {
        for bad in [
            &br#"{"type":"ready","extra":1}"#[..],
            br#"{"type":"arrive","epoch":1,"extra":1}"#,
            br#"{"type":"reboot"}"#,
            br#"{"type":"arrive","epoch":-1}"#,
            b"\xff\xfe",
        ] {
            assert!(matches!(
                decode_from_node(bad),
                Err(WireError::Malformed(_))
            ));
        }
    }

    /// Found by fuzzing: a wrong type inside a tagged message came back with neither field
    /// nor position; it now names the message.
    #[test]
    fn errors_inside_a_tagged_message_name_the_message() {
        let e = decode_from_node(br#"{"type":"arrive","epoch":"x"}"#).unwrap_err();
        assert!(e.to_string().contains(r#"in a "arrive" message"#), "{e}");
    }

    #[test]
    fn heartbeats_round_trip_and_oversized_ones_are_refused_by_field() {
        let hb = FromNode::Heartbeat(Heartbeat {
            epoch: 3,
            step: Some(2),
            iteration: Some(1),
            awaiting: vec![1, 3],
            steps_done: 40,
            refused: 0,
        });
        let bytes = serde_json::to_vec(&hb).unwrap();
        assert_eq!(decode_from_node(&bytes).unwrap(), hb);
        let big = FromNode::Heartbeat(Heartbeat {
            step: Some(0),
            iteration: None,
            awaiting: vec![0; MAX_AWAITED + 1],
            ..Default::default()
        });
        let e = decode_from_node(&serde_json::to_vec(&big).unwrap()).unwrap_err();
        assert!(
            matches!(
                e,
                WireError::Invalid {
                    field: "awaiting",
                    ..
                }
            ),
            "{e}"
        );
        let stray = FromNode::Heartbeat(Heartbeat {
            awaiting: vec![1],
            ..Default::default()
        });
        let e = decode_from_node(&serde_json::to_vec(&stray).unwrap()).unwrap_err();
        assert!(
            matches!(
                e,
                WireError::Invalid {
                    field: "awaiting",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn failed_without_a_peer_still_decodes() {
        let m = decode_from_node(br#"{"type":"failed","context":"c","error":"e"}"#).unwrap();
        assert_eq!(
            m,
            FromNode::Failed {
                context: "c".into(),
                error: "e".into(),
                peer: None,
                step: None,
            }
        );
    }

    fn plan(nranks: u32) -> Plan {
        Plan {
            run_id: "r".into(),
            nranks,
            peers: (0..nranks)
                .map(|rank| PeerInfo {
                    rank,
                    data_addrs: vec![format!("127.0.0.1:{}", 1000 + rank)],
                    cert_der_b64: String::new(),
                })
                .collect(),
            series: vec![Series {
                case: Case::all_reduce(Algorithm::Ring),
                dtype: DataType::Float,
                op: ReduceOp::Sum,
            }],
            root: 0,
            sizes: vec![1024],
            dtype: DataType::Float,
            op: ReduceOp::Sum,
            warmup_iters: 0,
            iters: 1,
            agg_iters: 1,
            check: true,
            check_iters: 1,
            build: BuildOptions::default(),
            transport: TransportParams {
                stream_receive_window: 1,
                receive_window: 1,
                send_window: 1,
                idle_timeout_ms: 1,
                datagram_bytes: ETHERNET_DATAGRAM,
                unencrypted: false,
            },
            pingpong: true,
            poll_us: 0,
            channels: 1,
            channel_min_bytes: 0,
            corrupt: Vec::new(),
            jitter: None,
        }
    }

    /// A plan's jitter is checked as the command line's is: a Pareto tail with an infinite mean
    /// (shape 1 or below) is refused by field.
    #[test]
    fn a_plan_with_an_unusable_jitter_is_refused_by_field() {
        let mut p = plan(2);
        assert_eq!(p.validate(), Ok(()));
        p.jitter = Some(Delay::Exp { mean_us: 200.0 });
        assert_eq!(p.validate(), Ok(()));
        p.jitter = Some(Delay::Pareto {
            scale_us: 50.0,
            shape: 0.5,
        });
        assert!(matches!(
            p.validate(),
            Err(WireError::Invalid {
                field: "jitter",
                ..
            })
        ));
    }

    #[test]
    fn every_peer_has_an_address_per_channel() {
        let mut p = plan(2);
        p.channels = 2;
        let e = p.validate().unwrap_err();
        assert!(
            matches!(
                e,
                WireError::Invalid {
                    field: "peers.data_addrs",
                    ..
                }
            ),
            "{e}"
        );
        for peer in &mut p.peers {
            peer.data_addrs.push("127.0.0.1:9".into());
        }
        assert_eq!(p.validate(), Ok(()));
        p.channels = MAX_CHANNELS + 1;
        assert!(matches!(
            p.validate(),
            Err(WireError::Invalid {
                field: "channels",
                ..
            })
        ));
    }

    #[test]
    fn a_register_with_a_bad_cpu_list_or_quota_is_refused_by_field() {
        let with = |cpus: &str, quota: Option<f64>| FromNode::Register {
            protocol: PROTOCOL,
            token: "t".into(),
            rank: 0,
            nranks: 1,
            data_addr: "127.0.0.1:1".into(),
            host: "h".into(),
            pid: 1,
            cpus: cpus.into(),
            machine: "m".into(),
            cpu_quota: quota,
            facts: HostFacts::default(),
        };
        let decode = |m: &FromNode| decode_from_node(&serde_json::to_vec(m).unwrap());
        assert!(decode(&with("0-3", Some(1.5))).is_ok());
        assert!(matches!(
            decode(&with("3-0", None)),
            Err(WireError::Invalid { field: "cpus", .. })
        ));
        assert!(matches!(
            decode(&with("0", Some(-1.0))),
            Err(WireError::Invalid {
                field: "cpu_quota",
                ..
            })
        ));
        let mut long = with("0", None);
        if let FromNode::Register { facts, .. } = &mut long {
            facts.cpu_model = Some("x".repeat(MAX_FACT_BYTES + 1));
        }
        assert!(matches!(
            decode(&long),
            Err(WireError::Invalid {
                field: "facts.cpu_model",
                ..
            })
        ));
    }

    #[test]
    fn a_binding_names_cpus_a_cpu_set_holds() {
        let open = |cpus: Vec<u32>| {
            decode_from_coordinator(
                &serde_json::to_vec(&FromCoordinator::OpenChannels { count: 2, cpus }).unwrap(),
            )
        };
        assert!(open(vec![0, 1023]).is_ok());
        assert!(open(Vec::new()).is_ok());
        assert!(matches!(
            open(vec![2, 1024]),
            Err(WireError::Invalid { field: "cpus", .. })
        ));
    }

    #[test]
    fn a_report_names_one_cpu_time_per_channel() {
        let report = |channels: u32, cpu: usize| {
            FromNode::Report(Report {
                series: Series {
                    case: Case::all_reduce(Algorithm::Ring),
                    dtype: DataType::Float,
                    op: ReduceOp::Sum,
                },
                size: 8,
                placement: Placement::InPlace,
                iter_ns: vec![1],
                histogram: String::new(),
                nwrong: None,
                channels,
                cpu_ns: vec![1; cpu],
                poll_idle_ns: Vec::new(),
                runq_wait_ns: Vec::new(),
                sent_bytes: 8,
            })
        };
        let decode = |m: &FromNode| decode_from_node(&serde_json::to_vec(m).unwrap());
        assert!(decode(&report(2, 2)).is_ok());
        // The idle polling and run-queue wait times, where given, are one per channel too.
        let with = |idle: usize, wait: usize| match report(2, 2) {
            FromNode::Report(r) => FromNode::Report(Report {
                poll_idle_ns: vec![1; idle],
                runq_wait_ns: vec![1; wait],
                ..r
            }),
            other => other,
        };
        assert!(decode(&with(2, 2)).is_ok());
        for (idle, wait, field) in [(1, 0, "poll_idle_ns"), (0, 3, "runq_wait_ns")] {
            assert!(
                matches!(decode(&with(idle, wait)), Err(WireError::Invalid { field: f, .. }) if f == field),
                "{field}"
            );
        }
        assert!(matches!(
            decode(&report(2, 1)),
            Err(WireError::Invalid {
                field: "cpu_ns",
                ..
            })
        ));
        assert!(matches!(
            decode(&report(0, 0)),
            Err(WireError::Invalid {
                field: "channels",
                ..
            })
        ));
        let open = serde_json::to_vec(&FromCoordinator::OpenChannels {
            count: 0,
            cpus: Vec::new(),
        })
        .unwrap();
        assert!(matches!(
            decode_from_coordinator(&open),
            Err(WireError::Invalid {
                field: "channels",
                ..
            })
        ));
    }

    #[test]
    fn a_ping_pong_needs_two_ranks_and_older_plans_have_none() {
        assert_eq!(plan(2).validate(), Ok(()));
        let e = plan(1).validate().unwrap_err();
        assert!(
            matches!(
                e,
                WireError::Invalid {
                    field: "pingpong",
                    ..
                }
            ),
            "{e}"
        );
        // A plan from a build before the ping-pong existed has none.
        let mut v = serde_json::to_value(FromCoordinator::Plan(plan(2))).unwrap();
        v.as_object_mut().unwrap().remove("pingpong");
        let old = decode_from_coordinator(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(matches!(old, FromCoordinator::Plan(p) if !p.pingpong));
    }

    #[test]
    fn a_ping_pong_report_longer_than_any_plan_is_refused_by_field() {
        let r = FromNode::PingPong(PingPongReport {
            size: 8,
            round_trip_ns: vec![1; MAX_ITERS as usize + 1],
        });
        let e = decode_from_node(&serde_json::to_vec(&r).unwrap()).unwrap_err();
        assert!(
            matches!(
                e,
                WireError::Invalid {
                    field: "round_trip_ns",
                    ..
                }
            ),
            "{e}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_from_node(&bytes);
            let _ = decode_from_coordinator(&bytes);
        }
    }
}
