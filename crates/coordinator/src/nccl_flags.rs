//! nccl-tests' common flags, with nccl-tests' letters and meanings. Those that mean something
//! here are implemented (`-N` run cycles, `-a` averaging, `-m` aggregated iterations, `-I`
//! per-iteration columns, `-J` JSON); those where only nccl-tests' default makes sense here (no GPUs, one
//! rank per process, iterations always waited for) are accepted at that value, some with a
//! one-line note, and refused with the reason otherwise (`options::nccl`).

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "nccl-tests' flags")]
pub struct NcclFlags {
    /// Run the whole sweep this many times, printing each cycle's tables (nccl-tests' -N; 0,
    /// endless, is refused).
    #[arg(
        short = 'N',
        long = "run_cycles",
        alias = "run-cycles",
        default_value_t = 1
    )]
    pub run_cycles: u32,
    /// The time over ranks: 0 rank 0's, 1 the mean, 2 the fastest, 3 the slowest rank's (each
    /// rank's mean over its timed iterations). Default 3: the all-reduce is over when its last
    /// rank is (nccl-tests' default is 1).
    #[arg(short = 'a', long = "average", default_value_t = 3)]
    pub average: u8,
    /// Operations per timed iteration, run back to back; the time is per operation.
    #[arg(
        short = 'm',
        long = "agg_iters",
        alias = "agg-iters",
        default_value_t = 1
    )]
    pub agg_iters: u32,
    /// 1: add per-iteration columns (i_min, i_max, i_p99, i_cv%) after each placement.
    #[arg(short = 'I', long = "per_iter_timing", default_value_t = 0)]
    pub per_iter_timing: u8,
    /// With -I: leading iterations left out of the per-iteration columns (only 0 here).
    #[arg(short = 'K', long = "per_iter_skip", default_value_t = 0)]
    pub per_iter_skip: u32,
    /// Threads per process (only 1: each rank is its own process; --np sets the ranks).
    #[arg(short = 't', long = "nthreads")]
    pub nthreads: Option<u32>,
    /// GPUs per thread (only 1: no GPUs; each rank is a process with host buffers).
    #[arg(short = 'g', long = "ngpus")]
    pub ngpus: Option<u32>,
    /// Root rank (all-reduce has none: rows print -1, as nccl-tests' do).
    #[arg(
        short = 'r',
        long = "root",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub root: i64,
    /// 0/1: initialise in parallel (always so here: every rank connects at once).
    #[arg(short = 'p', long = "parallel_init", default_value_t = 0)]
    pub parallel_init: u8,
    /// 0 or 2 (no barrier between iterations, as collbench times them); 1 and 3 are refused.
    #[arg(short = 'z', long = "blocking", default_value_t = 0)]
    pub blocking: u8,
    /// 0: no CUDA streams here.
    #[arg(short = 'y', long = "stream_null", default_value_t = 0)]
    pub stream_null: u8,
    /// 0: no CUDA graphs here.
    #[arg(short = 'G', long = "cudagraph", default_value_t = 0)]
    pub cudagraph: u32,
    /// 0/1: report CPU time (every time here is taken on the host's clock already).
    #[arg(short = 'C', long = "report_cputime", default_value_t = 0)]
    pub report_cputime: u8,
    /// 0: timestamps per row are not printed here.
    #[arg(short = 'S', long = "report_timestamps", default_value_t = 0)]
    pub report_timestamps: u8,
    /// 0: buffer registration is NCCL's; buffers here are host memory.
    #[arg(short = 'R', long = "local_register", default_value_t = 0)]
    pub local_register: u8,
    /// 0: no device memory report here.
    #[arg(short = 'M', long = "memory", default_value_t = 0)]
    pub memory: u8,
    /// 0: buffers are not misaligned here.
    #[arg(short = 'u', long = "unalign", default_value_t = 0)]
    pub unalign: u32,
    /// NCCL's CTA policy: not set here (no GPU).
    #[arg(short = 'x', long = "cta_policy")]
    pub cta_policy: Option<i64>,
    /// NCCL's device implementation: 0 here (no GPU).
    #[arg(short = 'D', long = "device_implementation", default_value_t = 0)]
    pub device_implementation: u32,
    /// NCCL's device CTA count: not set here (no GPU).
    #[arg(short = 'V', long = "device_cta_count")]
    pub device_cta_count: Option<u32>,
    /// Also write nccl-tests' JSON (its layout and keys) to this file ("-": stdout, after the
    /// table); results.json in --out stays collbench's richer file.
    #[arg(short = 'J', long = "output_file")]
    pub output_file: Option<PathBuf>,
}
