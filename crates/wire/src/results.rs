//! The results file (`results.json`): nccl-tests' `-J` layout where it fits, plus what
//! collbench adds (algorithm, hosts, histograms, the failure that ended a run, the ping-pong
//! sweep).
//! `results/schema.json` in the repository describes the same shape; a test holds them together.

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, Case, Collective, DataType, ReduceOp, Series};

use crate::stats::IterStats;

/// 2: channels, the CPU each rank used per row, the cores each rank was given. 3: nccl-tests'
/// flags and the run's metadata. 4: every rank's every iteration time (`rank_iter_us`). 5: the
/// injected jitter (`config.jitter`). 6: collectives other than all-reduce (`collective` on every
/// row, `config.collectives`, `config.root`).
pub const SCHEMA_VERSION: u32 = 6;
/// The oldest version the readers take (every field added since is optional).
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    pub schema_version: u32,
    pub tool: String,
    pub config: RunConfig,
    pub results: Vec<ResultRow>,
    /// Set when the run ended early; every row above it was measured in full.
    #[serde(default)]
    pub failure: Option<Failure>,
    /// The ping-pong sweep (`collbench run --pingpong`), one row per size as it completes;
    /// absent when the run was not asked for one (and in files written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pingpong: Option<Vec<PingPongRow>>,
    /// Connection attempts refused during the run, by kind ("control connection": at the
    /// coordinator; "data-plane connection": at the nodes, summed); absent when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub refused: std::collections::BTreeMap<String, u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub run_id: String,
    pub started_at: String,
    pub nranks: usize,
    pub launcher: String,
    /// The collectives the run measured, in order (absent before schema 6: all-reduce).
    #[serde(default = "all_reduce_only")]
    pub collectives: Vec<Collective>,
    /// Every algorithm the run used, of any collective.
    pub algorithms: Vec<Algorithm>,
    /// Broadcast's and reduce's root (`-r`); absent before schema 6.
    #[serde(default)]
    pub root: Option<u32>,
    pub minbytes: u64,
    pub maxbytes: u64,
    pub stepfactor: u64,
    pub sizes: Vec<u64>,
    /// The run's type and operator; with `-d`/`-o` lists, the first of each.
    #[serde(rename = "type")]
    pub dtype: DataType,
    pub redop: ReduceOp,
    /// `-d` with several types (`all`): every one, in order; absent for one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<DataType>,
    /// `-o` with several operators: every one, in order; absent for one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redops: Vec<ReduceOp>,
    pub warmup_iters: u32,
    pub iters: u32,
    pub check: bool,
    /// Checked iterations per size and placement (`-c`); absent in files from before it was
    /// recorded (one when `check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_iters: Option<u32>,
    pub segment_bytes: u64,
    /// Piece size `ring` forwarded, bytes; 0: whole chunks. Absent in files from before the
    /// pipelined ring (which forwarded whole chunks).
    #[serde(default)]
    pub ring_segment_bytes: Option<u64>,
    pub hosts: Vec<RankHost>,
    /// Configured link rate of an emulated or known fabric, bits per second.
    #[serde(default)]
    pub link_rate_bps: Option<f64>,
    #[serde(default)]
    pub uplink_rate_bps: Option<f64>,
    /// Emulated cluster (`--launcher netns`): consecutive ranks per node, each with a NIC of its
    /// own (`--ranks-per-node`; 1: one rank per node); absent for other launchers and in files
    /// from before the option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranks_per_node: Option<usize>,
    /// MTU of the network between nodes, bytes, when known (the data plane's datagrams fit it).
    #[serde(default)]
    pub mtu: Option<u32>,
    /// The data plane ran with packet payloads in clear (`--no-encryption`, attribution only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub data_plane_unencrypted: bool,
    /// Microseconds nodes polled for the next message before sleeping (`--poll-us`); absent in
    /// files from before the option (they slept at once).
    #[serde(default)]
    pub poll_us: Option<u32>,
    /// How iterations were timed; absent in files from before back-to-back timing (a barrier
    /// before every iteration, `time` the mean of per-iteration maxima).
    #[serde(default)]
    pub timing: Option<IterationTiming>,
    /// `hier`'s and `rail`'s ranks per group, when the run had either (given, from the topology
    /// file or `--ranks-per-node`, or the default for the rank count); absent in files written
    /// before it was recorded.
    #[serde(default)]
    pub group_size: Option<usize>,
    /// `hier`'s algorithms inside and across groups, when the run had `hier`.
    #[serde(default)]
    pub hier_inner: Option<Algorithm>,
    #[serde(default)]
    pub hier_outer: Option<Algorithm>,
    /// `torus2d`'s grid `[X, Y]` (rows of X consecutive ranks), when the run had `torus2d`.
    #[serde(default)]
    pub grid: Option<(usize, usize)>,
    /// Channels every rank opened (each its own socket, QUIC endpoint and thread), and the
    /// fewest bytes of the buffer a size gives each; absent in files from before channels (one).
    #[serde(default)]
    pub channels: Option<u32>,
    #[serde(default)]
    pub channel_min_bytes: Option<u64>,
    /// `-i`: the sweep added this many bytes per step instead of multiplying by `stepfactor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stepbytes: Option<u64>,
    /// `-N`: the sweep ran this many times; each cycle's rows follow the previous cycle's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_cycles: Option<u32>,
    /// `-m`: operations per timed iteration; times are per operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg_iters: Option<u32>,
    /// `-a`: whose mean `time` is: rank0, mean, min or max over ranks (absent: max).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<String>,
    /// `--fault jitter:DIST`: every rank waited a delay drawn from DIST (`exp:200us`,
    /// `pareto:50us:2.5`) before each step's sends, so the times include the injected noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    /// The coordinator's command line, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<Vec<String>>,
    /// When the run ended (RFC 3339, UTC); absent while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

/// How a run timed its iterations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IterationTiming {
    /// One barrier, then the iterations back to back; `time` is the largest rank mean.
    BackToBack,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankHost {
    pub rank: usize,
    pub host: String,
    pub pid: u32,
    /// The data-plane address of the rank's first channel.
    pub data_addr: String,
    /// Every channel's data-plane address, in channel order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_addrs: Vec<String>,
    /// The CPUs the rank could run on (its affinity, kernel list syntax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// The cores the rank was given: its machine's CPUs it may use, shared among the ranks
    /// that run there (and no more than its control group's quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<f64>,
    /// The CPUs its channel threads were bound to (`--cpu-bind`), in the kernel's list syntax;
    /// absent where they were left to the scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_cpus: Option<String>,
    /// The host's CPU model, kernel release, the interface the rank's data plane used and its
    /// link speed (Mbit/s) as the kernel reports it; each absent where the node could not read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_speed_mbps: Option<u64>,
}

/// The CPU one rank's data plane used over a placement's timed iterations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankCpu {
    /// CPU-seconds of its data-plane threads per second of the timed iterations: the cores it
    /// kept busy, less the rounds of polling for the next message (`--poll-us`) that found
    /// nothing to do.
    pub busy_cores: f64,
    /// Those rounds of idle polling per second of the timed iterations: free on cores of the
    /// rank's own, taken from the other ranks where it shares them (0 from older nodes).
    #[serde(default)]
    pub idle_poll_cores: f64,
    /// Seconds its data-plane threads spent runnable but waiting for a core (Linux's run-queue
    /// delay) per second of the timed iterations: where ranks outnumber the cores, the time the
    /// host's scheduler added to each message. Absent where the kernel does not say, and in
    /// older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runq_wait_cores: Option<f64>,
    /// CPU-seconds of its data-plane threads per GB (10^9 bytes) it sent; null when it sent
    /// nothing. Comparable with the transport's own cost per GB moved (`transport_floor`).
    pub cpu_s_per_gb: Option<f64>,
    /// CPU-seconds of each channel's thread.
    pub thread_cpu_s: Vec<f64>,
}

/// One placement's measurement of one algorithm at one size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// Mean over iterations of the slowest rank's time, microseconds.
    pub time: f64,
    pub alg_bw: f64,
    pub bus_bw: f64,
    /// Wrong elements over all ranks; null when checking was off.
    pub nwrong: Option<u64>,
    /// Statistics over iterations of the slowest rank's time.
    pub per_iter: IterStats,
    /// The slowest rank's time of each timed iteration, microseconds, in order; absent in
    /// files from before schema 3.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iter_us: Vec<f64>,
    /// Every rank's every iteration time (ns) merged into one HDR histogram, base64 V2.
    pub rank_histogram: String,
    /// Mean time of each rank, microseconds, indexed by rank.
    pub rank_mean_us: Vec<f64>,
    /// Each rank's time of each timed iteration, microseconds: `rank_iter_us[rank][iteration]`;
    /// absent in files from before schema 4.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rank_iter_us: Vec<Vec<f64>>,
    /// The CPU each rank's data plane used, indexed by rank; absent in files from before it
    /// was measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rank_cpu: Vec<RankCpu>,
    /// Ranks whose CPU set this measurement, not the network: a rank with a core per thread
    /// busier than [`CPU_BOUND_SHARE`] of them; ranks sharing cores whose machine's ranks kept
    /// more than [`SHARED_CPU_BOUND_SHARE`] of their cores busy. None in a measurement whose bus
    /// bandwidth reached [`LINK_BOUND_SHARE`] of each rank's own link.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_bound_ranks: Vec<usize>,
    /// Ranks whose data-plane threads waited for a core (`runq_wait_cores`, per thread) more
    /// than [`SCHED_BOUND_SHARE`] of the time: the host's scheduler, not the network, set at
    /// least that share of this measurement (none where the link was reached, as above).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sched_bound_ranks: Vec<usize>,
}

fn all_reduce_only() -> Vec<Collective> {
    vec![Collective::AllReduce]
}

/// The share of its cores beyond which a rank's data plane is taken to be CPU-bound.
pub const CPU_BOUND_SHARE: f64 = 0.9;

/// Where ranks share cores, the share of a machine's cores their work together may keep busy
/// before its ranks are taken to be CPU-bound. Ranks that take turns on cores wait for each
/// other on every message: once their work fills half the cores, those waits are a large share
/// of a latency-bound step, and the step grows with the ranks per core (eight ranks on two
/// cores: a 1 KiB all-gather ring step takes 50 us where two ranks take 30, on loopback and
/// on a 500 Mbit/s emulated link alike), which ranks with cores of their own would not show.
pub const SHARED_CPU_BOUND_SHARE: f64 = 0.5;

/// The share of each rank's own link rate at which a measurement is the link's whatever the
/// host's counters say: the host kept up with the link.
pub const LINK_BOUND_SHARE: f64 = 0.9;

/// The share of the time, per data-plane thread, beyond which waiting for a core is taken to
/// have set a rank's measurement.
pub const SCHED_BOUND_SHARE: f64 = 0.1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// nccl-tests' name of the collective (absent before schema 6: all-reduce).
    #[serde(default)]
    pub collective: Collective,
    pub algorithm: Algorithm,
    pub nranks: usize,
    pub size: u64,
    pub count: u64,
    #[serde(rename = "type")]
    pub dtype: DataType,
    pub redop: ReduceOp,
    pub root: i64,
    /// Channels this size ran on (small sizes use fewer than were opened); absent in files
    /// from before channels (one).
    #[serde(default)]
    pub channels: Option<u32>,
    #[serde(flatten)]
    pub out_of_place: Measured,
    pub in_place: Measured,
    #[serde(default)]
    pub link_rate_bps: Option<f64>,
    #[serde(default)]
    pub uplink_rate_bps: Option<f64>,
    /// busbw / configured link rate, when a link rate is known.
    #[serde(default)]
    pub link_efficiency: Option<f64>,
}

impl ResultRow {
    /// The series (case, type and operator) this row is of.
    pub fn series(&self) -> Series {
        Series {
            case: self.case(),
            dtype: self.dtype,
            op: self.redop,
        }
    }

    /// The collective and algorithm this row measured.
    pub fn case(&self) -> Case {
        Case {
            collective: self.collective,
            algorithm: self.algorithm,
        }
    }
}

/// One size of the ping-pong: `ranks[0]` sends `size` bytes to `ranks[1]`, which sends them
/// straight back, over the data-plane link the all-reduce uses; the one-way time is half of
/// each round trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PingPongRow {
    /// Bytes in each direction.
    pub size: u64,
    /// Timed iterations (round trips).
    pub iterations: u32,
    /// Statistics over timed iterations of the one-way time, microseconds.
    pub one_way: IterStats,
    /// size / mean one-way time, GB/s with GB = 10^9 bytes.
    pub bandwidth: f64,
    /// The rank that sent first and timed the round trips, and the rank that echoed.
    pub ranks: [usize; 2],
    /// Their hosts, in the same order.
    pub hosts: [String; 2],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub message: String,
    #[serde(default)]
    pub rank: Option<usize>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collective: Option<Collective>,
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    #[serde(default)]
    pub size: Option<u64>,
    /// The step of the iteration the run stopped at (the culprit's, or that of the ranks
    /// waiting for it).
    #[serde(default)]
    pub step: Option<u32>,
    /// Ranks that were waiting for the culprit (`rank`) when the run stopped.
    #[serde(default)]
    pub waiting_ranks: Vec<usize>,
}
