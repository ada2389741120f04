//! Command-line definitions (clap). They turn into validated [`RunOptions`](crate::options::RunOptions)
//! before anything starts; the rest of the program never sees clap.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::rate::parse_rate;
use crate::sizes::parse_size;

#[derive(Parser, Debug)]
#[command(
    name = "collbench",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("COLLBENCH_GIT_COMMIT"), ")"),
    about = "Measure all-reduce over QUIC across processes, namespaces or machines, with nccl-tests' flags and numbers",
    long_about = "collbench launches bench-node processes, runs all-reduce between them over QUIC \
(mutual TLS with a per-run CA), times every iteration in HDR histograms, checks the results, and \
prints an nccl-tests-style table while writing JSON and CSV to the output directory.\n\n\
Quick start:  collbench run            (4 local processes, ring, float sum, 1K..64M)\n\
Set RUST_LOG=debug for detailed logs."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an all-reduce sweep (the coordinator).
    Run(Box<RunArgs>),
    /// Run one bench-node (what the coordinator launches on each host; not for direct use).
    Node(NodeArgs),
    /// The scale model: fit results, predict 100k+ GPU clusters, validate, export.
    Model(Box<crate::model::args::ModelArgs>),
    /// Compare two runs' results: busbw and p50/p99 time ratios per row; exit status 5 when a
    /// row regressed beyond --threshold.
    Compare(crate::compare_cmd::CompareArgs),
    /// Write Kubernetes manifests for a run: an Indexed Job of bench-nodes, a headless Service,
    /// the coordinator and a Secret with the run's credentials.
    K8s(Box<crate::k8s::args::K8sArgs>),
    /// Print a shell completion script to stdout (for example: collbench completions bash >
    /// /etc/bash_completion.d/collbench).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout: collbench man run | man -l -
    Man {
        /// A subcommand's page (run, compare, model, k8s) instead of the overview.
        subcommand: Option<String>,
    },
    /// Send a reachability probe to a coordinator (what launchers run on each host first).
    #[command(hide = true)]
    Probe(crate::probe::ProbeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Smallest message size per rank (bytes; K, M, G suffixes).
    #[arg(short = 'b', long = "minbytes", default_value = "1K", value_parser = parse_size)]
    pub minbytes: u64,
    /// Largest message size per rank.
    #[arg(short = 'e', long = "maxbytes", default_value = "64M", value_parser = parse_size)]
    pub maxbytes: u64,
    /// Multiply the size by this factor between steps of the sweep (at least 2) [default: 2,
    /// unless -i is given].
    #[arg(short = 'f', long = "stepfactor", conflicts_with = "stepbytes")]
    pub stepfactor: Option<u64>,
    /// Add this many bytes between steps of the sweep instead of multiplying (K, M, G suffixes).
    #[arg(short = 'i', long = "stepbytes", value_parser = parse_size)]
    pub stepbytes: Option<u64>,
    /// Timed iterations per size and placement.
    #[arg(short = 'n', long = "iters", default_value_t = 20)]
    pub iters: u32,
    /// Untimed warm-up iterations before them (QUIC's congestion window grows during these).
    #[arg(
        short = 'w',
        long = "warmup_iters",
        alias = "warmup-iters",
        default_value_t = 5
    )]
    pub warmup_iters: u32,
    /// Check results: the untimed iterations after the timed ones whose result is checked
    /// (nccl-tests' -c: each is checked, #wrong sums them); 0: off, #wrong shows N/A.
    #[arg(short = 'c', long = "check", default_value_t = 1)]
    pub check: u32,
    /// Element types, comma-separated, or 'all' (a table each): int8, uint8, int32, uint32,
    /// int64, uint64, half, float, double, bfloat16.
    #[arg(short = 'd', long = "datatype", default_value = "float")]
    pub datatype: String,
    /// Reduction operators, comma-separated, or 'all' (a table each for the collectives that
    /// reduce): sum, prod, min, max, avg.
    #[arg(short = 'o', long = "op", default_value = "sum")]
    pub op: String,
    /// Number of ranks (bench-node processes), as mpirun's -np [default: 4, or the topology
    /// file's count, or the launcher's slots].
    #[arg(long = "np", visible_alias = "nodes")]
    pub nodes: Option<usize>,
    #[command(flatten)]
    pub nccl: crate::nccl_flags::NcclFlags,
    /// Check every flag and print what the run would do, then exit without starting anything.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Collectives to measure, comma-separated, or 'all' (nccl-tests' names): all_reduce,
    /// all_gather, reduce_scatter, alltoall, broadcast, reduce, sendrecv. Each runs every size
    /// of the sweep with each of its algorithms from --algo.
    #[arg(long = "collective", default_value = "all_reduce")]
    pub collective: String,
    /// Algorithms, comma-separated, or 'all' (each collective's own). all_reduce: ring, tree,
    /// dbtree, rhd, rd, hier, torus2d, rail (a ring per rank of a node, each leaving the node on
    /// its own NIC); all_gather and reduce_scatter: ring, rhd, hier; alltoall: pairwise, linear,
    /// bruck; broadcast and reduce: chain, tree; sendrecv: ring. Each collective takes the names
    /// it has; a name none of them has, or a collective left with none, is refused [default: each
    /// collective's first].
    #[arg(long = "algo")]
    pub algo: Option<String>,
    /// Segment size for the pipelined algorithms tree and dbtree (bytes; K, M, G suffixes).
    #[arg(long = "segment", default_value = "64K", value_parser = parse_size)]
    pub segment: u64,
    /// Piece size that ring forwards as soon as it has reduced it, instead of whole chunks
    /// (bytes; K, M, G suffixes; 0: whole chunks, the textbook ring).
    #[arg(long = "ring-segment", default_value = "1M", value_parser = parse_size)]
    pub ring_segment: u64,
    /// hier and rail: ranks per group (consecutive ranks; the GPUs of a node) [default: from
    /// --topology, else --ranks-per-node where above 1, else the largest divisor of the rank
    /// count not above its square root].
    #[arg(long = "group-size")]
    pub group_size: Option<usize>,
    /// torus2d: grid as XxY with X*Y ranks, rows of X consecutive ranks [default: from
    /// --topology, else the squarest factorisation].
    #[arg(long = "grid")]
    pub grid: Option<String>,
    /// hier: algorithm inside groups (ring or rhd).
    #[arg(long = "hier-inner", default_value = "ring")]
    pub hier_inner: String,
    /// hier: algorithm across groups (ring, tree, dbtree, rhd or rd).
    #[arg(long = "hier-outer", default_value = "ring")]
    pub hier_outer: String,
    /// A topology file (TOML) placing ranks on hosts, racks and pods; hier groups and torus2d
    /// rows follow it. See placements/README.md.
    #[arg(long = "topology")]
    pub topology: Option<PathBuf>,
    /// After the all-reduce sweep, a ping-pong between ranks 0 and 1 at every size (same
    /// -b/-e/-f, -w and -n) over the same data-plane link: one-way latency and bandwidth, from
    /// which `collbench model` fits the point-to-point link.
    #[arg(long = "pingpong")]
    pub pingpong: bool,
    /// Output directory [default: results/<run-id>].
    #[arg(long = "out")]
    pub out: Option<PathBuf>,
    /// Overwrite an output directory that already holds results.
    #[arg(long)]
    pub force: bool,
    /// Seconds without progress (no rank finishing a step, reaching a barrier or reporting)
    /// before the run is declared stuck; grows to 10 x the iteration time measured at the
    /// previous size. Dead, stopped or cut-off nodes are found from heartbeats in seconds.
    #[arg(short = 'T', long = "timeout", default_value_t = 60)]
    pub timeout: u64,
    /// Exit with status 4 when a table's average bus bandwidth is below 90% of this many GB/s,
    /// as nccl-tests checks NCCL_TESTS_MIN_BW (read when the flag is not given). Wrong results
    /// exit with 3 whatever the bandwidth.
    #[arg(long = "min-busbw", value_name = "GB/S", env = "NCCL_TESTS_MIN_BW")]
    pub min_busbw: Option<String>,
    /// How bench-nodes are started: local (processes on this machine), netns (an emulated
    /// cluster: one network namespace per node, links shaped with tbf both ways; needs root),
    /// ssh (the hosts of --hostfile), slurm (srun inside an allocation) or k8s (the coordinator
    /// of manifests written by `collbench k8s`).
    #[arg(long = "launcher", default_value = "local")]
    pub launcher: String,
    #[command(flatten)]
    pub cluster: crate::launcher::cluster_args::ClusterArgs,
    /// Address the coordinator and local nodes bind to.
    #[arg(long = "bind", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Link rate of the fabric (tc units: 500mbit, 10gbit); sizes QUIC windows and, for
    /// emulated fabrics, link efficiency. Default: 40gbit assumed for windows only.
    #[arg(long = "link-rate", value_parser = parse_rate)]
    pub link_rate: Option<f64>,
    /// MTU of the network between nodes, bytes (1280..9216); QUIC datagrams are sized to
    /// fill it. netns builds its links with it. Default: 9000 (jumbo frames) on loopback and
    /// netns, 1500 elsewhere.
    #[arg(long = "mtu")]
    pub mtu: Option<u32>,
    /// Leave the data plane's QUIC payloads unencrypted after the TLS handshake, to measure what
    /// the cipher costs. For attribution only: results and output are marked, never the default.
    #[arg(long = "no-encryption")]
    pub no_encryption: bool,
    /// Microseconds a node keeps polling for the next message before its thread sleeps (0:
    /// sleep at once), or 'auto': 500 where every rank was given at least half a core (see
    /// --channels), else 0. Polling spares a process wake-up per small message, which dominates
    /// small collectives where a rank has a core to itself or shares it with one other; where
    /// more ranks share a core, a polling rank holds the core another needs. It costs CPU only
    /// while a rank waits.
    #[arg(long = "poll-us", default_value = "auto")]
    pub poll_us: String,
    /// Channels per rank, or 'auto': each its own UDP socket, QUIC endpoint, connection to
    /// every peer and thread, carrying its own part of the buffer (as NCCL's channels), so a
    /// rank's data plane can use as many cores. auto: the cores each rank was given (its
    /// machine's CPUs it may run on, shared among the ranks there, within its cgroup's quota),
    /// 1 to 16.
    #[arg(long = "channels", default_value = "auto")]
    pub channels: String,
    /// The fewest bytes of the buffer a size gives each channel: smaller sizes run on fewer
    /// channels (at least one), where more lanes would add only per-message costs. K, M
    /// suffixes.
    #[arg(long = "channel-min-bytes", default_value = "64K", value_parser = parse_size)]
    pub channel_min_bytes: u64,
    /// Bind each rank's channel threads to CPUs of their own: 'core' gives every rank of a
    /// machine its own slice of the CPUs its ranks may use (channel i on the slice's i-th), as
    /// MPI launchers bind ranks to cores, where each rank gets at least one (otherwise, or
    /// where a workload manager already placed the ranks apart, nothing is bound): no two
    /// ranks' threads then share a core for a whole size, but a bound thread cannot move away
    /// from the control threads either. 'none' leaves them to the scheduler.
    #[arg(long = "cpu-bind", value_enum, default_value = "none")]
    pub cpu_bind: CpuBind,
    /// netns: put the nodes into G groups (consecutive ranks), each on its own leaf switch,
    /// joined through a spine [default: 1, or the racks of --topology].
    #[arg(long = "groups")]
    pub groups: Option<usize>,
    /// netns: ranks per emulated node (consecutive ranks), each with its own NIC (`eth<k>`, its
    /// own switch port, shaped at --link-rate both ways); traffic between ranks of one node stays
    /// inside the node (loopback, unshaped), as NVLink does [default: 1].
    #[arg(long = "ranks-per-node", value_name = "G")]
    pub ranks_per_node: Option<usize>,
    /// netns: rate of each group's uplink to the spine, both directions (tc units); below
    /// group size x --link-rate the uplink is oversubscribed. Default: unshaped.
    #[arg(long = "uplink-rate", value_parser = parse_rate)]
    pub uplink_rate: Option<f64>,
    /// Inject a fault when the sweep reaches a size: KIND:RANK@SIZE, KIND one of link-down
    /// (netns only: the rank's switch port goes down), kill (SIGKILL), stop (SIGSTOP) or
    /// corrupt (any launcher: the rank spoils one element of its checked result, so the run
    /// reports wrong results and exits with 3); fires once, just after the first barrier of that
    /// size. Repeatable. Example: kill:2@1M. Also jitter:DIST (any launcher, once): every rank
    /// waits a delay drawn from DIST before each step's sends, DIST exp:MEAN or
    /// pareto:SCALE:SHAPE (exp:200us, pareto:50us:2.5).
    #[arg(long = "fault")]
    pub fault: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// The coordinator's control address, HOST:PORT (a name is resolved at start, retried
    /// until --setup-timeout).
    #[arg(long)]
    pub coordinator: String,
    /// This node's rank.
    #[arg(long)]
    pub rank: Option<usize>,
    /// Number of ranks in the run.
    #[arg(long)]
    pub nranks: Option<usize>,
    /// Take the rank (and with slurm the rank count) from the environment: slurm
    /// (SLURM_PROCID, SLURM_NTASKS) or k8s (JOB_COMPLETION_INDEX).
    #[arg(long, value_enum)]
    pub rank_from: Option<crate::node_env::RankFrom>,
    /// Address to bind the data-plane endpoint to, or 'auto': the address traffic to the
    /// coordinator leaves from.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Read the credentials from stdin (KEY=VALUE lines up to a line END); the node then exits
    /// when stdin closes (the launcher's ssh session ended).
    #[arg(long, conflicts_with = "credentials_dir")]
    pub credentials_stdin: bool,
    /// Read the credentials from DIR/rank-<rank>.env [default: the environment].
    #[arg(long)]
    pub credentials_dir: Option<PathBuf>,
    /// Host name reported in results [default: the machine's host name].
    #[arg(long)]
    pub host: Option<String>,
    /// Seconds allowed for connecting to the coordinator and peers.
    #[arg(long, default_value_t = 30)]
    pub setup_timeout: u64,
}

/// `--cpu-bind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CpuBind {
    /// Each rank its own slice of its machine's CPUs.
    Core,
    /// Left to the scheduler.
    None,
}
