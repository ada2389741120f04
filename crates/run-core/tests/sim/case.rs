//! A case: the run asked for, its one fault, and what came out.

use std::collections::HashMap;
use std::time::Duration;

use run_core::RunSpec;
use topologies::{Algorithm, BuildOptions};
use wire::results::Failure;

use super::links::Micros;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    None,
    /// SIGKILL of `rank` at `at`.
    Kill {
        rank: usize,
        at: Micros,
    },
    /// SIGSTOP of `rank` at `at`.
    Stop {
        rank: usize,
        at: Micros,
    },
    /// The data-plane link between `a` and `b` carries nothing from `at` on.
    Cut {
        a: usize,
        b: usize,
        at: Micros,
    },
    /// `rank` computes `factor` times slower from `at` on.
    Slow {
        rank: usize,
        factor: u32,
        at: Micros,
    },
    /// The coordinator is not scheduled from `at` for `for_us`.
    Pause {
        at: Micros,
        for_us: Micros,
    },
}

impl Fault {
    pub fn at(&self) -> Option<Micros> {
        match *self {
            Fault::None => None,
            Fault::Kill { at, .. }
            | Fault::Stop { at, .. }
            | Fault::Cut { at, .. }
            | Fault::Slow { at, .. }
            | Fault::Pause { at, .. } => Some(at),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub nranks: usize,
    pub algorithms: Vec<Algorithm>,
    pub sizes: Vec<u64>,
    pub warmup: u32,
    pub iters: u32,
    pub pingpong: bool,
    pub stall_timeout: Duration,
    pub setup_timeout: Duration,
    pub fault: Fault,
    /// Orders events of the same instant and staggers the launches.
    pub seed: u64,
}

/// What came out of a case.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The rows written, in order.
    pub rows: Vec<(Algorithm, u64)>,
    pub pingpong_rows: usize,
    pub failure: Option<(Failure, Micros)>,
    pub killed: Vec<usize>,
    pub done: bool,
    /// Per row: when its last report was sent (by any rank, either placement), and how many.
    pub reports_sent: HashMap<(Algorithm, u64), (Micros, usize)>,
    /// When the plan went out (the sweep began), if it did.
    pub started: Option<Micros>,
    pub end: Micros,
}

/// The run the coordinator would be asked for.
pub fn spec(case: &Case) -> RunSpec {
    RunSpec {
        run_id: format!("sim-{}", case.seed),
        nranks: case.nranks,
        series: case
            .algorithms
            .iter()
            .map(|&a| topologies::Series {
                case: topologies::Case::all_reduce(a),
                dtype: topologies::DataType::Float,
                op: topologies::ReduceOp::Sum,
            })
            .collect(),
        root: 0,
        sizes: case.sizes.clone(),
        dtype: topologies::DataType::Float,
        op: topologies::ReduceOp::Sum,
        warmup_iters: case.warmup,
        iters: case.iters,
        check_iters: 1,
        build: BuildOptions::default(),
        pingpong: case.pingpong,
        poll_us: run_core::polling::Polling::Fixed(0),
        channels: run_core::channels::ChannelCount::Auto,
        channel_min_bytes: 64 << 10,
        cpu_bind: true,
        agg_iters: 1,
        average: run_core::aggregate::Average::Max,
        corrupt: Vec::new(),
        jitter: None,
        transport: wire::control::TransportParams {
            stream_receive_window: 1 << 20,
            receive_window: 1 << 22,
            send_window: 1 << 22,
            idle_timeout_ms: wire::control::CONTROL_IDLE_TIMEOUT_MS,
            datagram_bytes: wire::control::ETHERNET_DATAGRAM,
            unencrypted: false,
        },
        certs_b64: vec![String::new(); case.nranks],
        stall_timeout: case.stall_timeout,
        setup_timeout: case.setup_timeout,
        link_rate_bps: None,
        own_links: false,
        uplink_rate_bps: None,
        launched_pids: (0..case.nranks).map(|r| Some(1_000 + r as u32)).collect(),
    }
}
