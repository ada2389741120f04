//! What a run is asked to do: the options the state machine needs, checked before it starts.

use std::time::Duration;

use topologies::{BuildOptions, DataType, ReduceOp, Series};
use wire::control::TransportParams;

use crate::channels::ChannelCount;

/// One run's plan as the coordinator's options and launcher made it.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub run_id: String,
    pub nranks: usize,
    /// What the sweep measures at every size, in order.
    pub series: Vec<Series>,
    /// Broadcast's and reduce's root.
    pub root: usize,
    pub sizes: Vec<u64>,
    /// The ping-pong's type and operator (the first series').
    pub dtype: DataType,
    pub op: ReduceOp,
    pub warmup_iters: u32,
    pub iters: u32,
    /// Operations per timed iteration (nccl-tests' `-m`); the nodes report per-operation times.
    pub agg_iters: u32,
    /// Whose mean a row's time is (nccl-tests' `-a`).
    pub average: crate::aggregate::Average,
    /// Checked iterations after the timed ones (`-c`); 0: no check.
    pub check_iters: u32,
    pub build: BuildOptions,
    /// After the sweep, ranks 0 and 1 ping-pong every size.
    pub pingpong: bool,
    pub poll_us: crate::polling::Polling,
    pub channels: ChannelCount,
    pub channel_min_bytes: u64,
    /// `--cpu-bind core`: bind each rank's channel threads to its own slice of its machine's CPUs
    /// ([`crate::binding`]).
    pub cpu_bind: bool,
    /// The data plane's QUIC settings.
    pub transport: TransportParams,
    /// Each rank's certificate (DER, base64), pinned in the plan.
    pub certs_b64: Vec<String>,
    /// `--timeout`: the least time without progress before the run is declared stuck.
    pub stall_timeout: Duration,
    /// How long registering, and opening the channels, may take.
    pub setup_timeout: Duration,
    /// The fabric's rates, recorded with every row.
    pub link_rate_bps: Option<f64>,
    /// Each rank sends over a link of its own at `link_rate_bps` whichever machine it runs on
    /// (the emulated cluster's nodes of one rank); otherwise it does only where no two ranks
    /// share a machine. A row whose bus bandwidth reaches that link's rate is the link's.
    pub own_links: bool,
    pub uplink_rate_bps: Option<f64>,
    /// `--fault corrupt:RANK@SIZE`: ranks that spoil their checked result at a size (a test
    /// hook for the exit status of wrong results).
    pub corrupt: Vec<(usize, u64)>,
    /// `--fault jitter:DIST`: the delay every rank draws before each step's sends.
    pub jitter: Option<topologies::noise::Delay>,
    /// The PID of each rank's process where this coordinator started it (named before it
    /// registers).
    pub launched_pids: Vec<Option<u32>>,
}

impl RunSpec {
    /// Rows of the sweep: every series at every size (the series of every cycle of `-N`, in
    /// order).
    pub fn rows(&self) -> usize {
        self.series.len() * self.sizes.len()
    }
}
