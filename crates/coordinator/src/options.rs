//! Validated run options. Every flag is checked here, before anything starts, and an error
//! names the flag, what was given and what would be accepted.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use topologies::{Algorithm, BuildOptions, DataType, ReduceOp};

use crate::cli::RunArgs;
use crate::rate::parse_rate;
use crate::sizes::{parse_size, sweep};
use crate::topology_file::Topology;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub minbytes: u64,
    pub maxbytes: u64,
    pub stepfactor: u64,
    pub sizes: Vec<u64>,
    pub iters: u32,
    pub warmup_iters: u32,
    pub check: bool,
    pub dtype: DataType,
    pub op: ReduceOp,
    pub nranks: usize,
    pub algorithms: Vec<Algorithm>,
    pub build: BuildOptions,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub stall_timeout: Duration,
    pub launcher: LauncherKind,
    pub bind: IpAddr,
    pub link_rate_bps: Option<f64>,
    /// Set by a launcher that builds a fabric with shaped uplinks.
    pub uplink_rate_bps: Option<f64>,
    pub topology: Option<Topology>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LauncherKind {
    Local,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{flag}: {message}")]
pub struct OptionError {
    pub flag: &'static str,
    pub message: String,
}

fn bad(flag: &'static str, message: impl Into<String>) -> OptionError {
    OptionError {
        flag,
        message: message.into(),
    }
}

/// The most ranks one machine's local launcher will start.
pub const MAX_LOCAL_RANKS: usize = 256;

impl RunOptions {
    pub fn from_args(a: &RunArgs) -> Result<RunOptions, OptionError> {
        let dtype: DataType = a
            .datatype
            .parse()
            .map_err(|e| bad("-d/--datatype", format!("{e}")))?;
        let op: ReduceOp = a.op.parse().map_err(|e| bad("-o/--op", format!("{e}")))?;
        let minbytes = parse_size(&a.minbytes).map_err(|e| bad("-b/--minbytes", e.to_string()))?;
        let maxbytes = parse_size(&a.maxbytes).map_err(|e| bad("-e/--maxbytes", e.to_string()))?;
        let esize = dtype.size() as u64;
        for (flag, v) in [("-b/--minbytes", minbytes), ("-e/--maxbytes", maxbytes)] {
            if v == 0 {
                return Err(bad(flag, "must be at least one element"));
            }
            if !v.is_multiple_of(esize) {
                return Err(bad(
                    flag,
                    format!(
                        "{v} bytes is not a multiple of the {dtype} element size ({esize} bytes)"
                    ),
                ));
            }
            if v > wire::control::MAX_SIZE {
                return Err(bad(
                    flag,
                    format!(
                        "{v} bytes is above the limit of {} bytes",
                        wire::control::MAX_SIZE
                    ),
                ));
            }
        }
        if minbytes > maxbytes {
            return Err(bad(
                "-b/--minbytes",
                format!("{minbytes} bytes is larger than -e/--maxbytes ({maxbytes} bytes)"),
            ));
        }
        if a.stepfactor < 2 {
            return Err(bad(
                "-f/--stepfactor",
                format!("{} must be 2 or more", a.stepfactor),
            ));
        }
        // Every size of the sweep must hold whole elements.
        let sizes: Vec<u64> = sweep(minbytes, maxbytes, a.stepfactor);
        if a.iters == 0 || a.iters > wire::control::MAX_ITERS {
            return Err(bad(
                "-n/--iters",
                format!("{} is outside 1..={}", a.iters, wire::control::MAX_ITERS),
            ));
        }
        if a.warmup_iters > wire::control::MAX_ITERS {
            return Err(bad(
                "-w/--warmup_iters",
                format!("{} is above {}", a.warmup_iters, wire::control::MAX_ITERS),
            ));
        }
        let check = match a.check {
            0 => false,
            1 => true,
            other => {
                return Err(bad(
                    "-c/--check",
                    format!("{other} is not 0 (off) or 1 (on)"),
                ))
            }
        };
        let topology = a
            .topology
            .as_deref()
            .map(|path| Topology::load(path).map_err(|e| bad("--topology", e.to_string())))
            .transpose()?;
        let nodes = match (a.nodes, &topology) {
            (Some(n), Some(t)) if n != t.nranks => {
                return Err(bad(
                    "-N/--nodes",
                    format!("{n} ranks, but the topology file places {}", t.nranks),
                ));
            }
            (Some(n), _) => n,
            (None, Some(t)) => t.nranks,
            (None, None) => 4,
        };
        if nodes == 0 {
            return Err(bad("-N/--nodes", "0 ranks; at least 1 is needed"));
        }
        let launcher = match a.launcher.as_str() {
            "local" => LauncherKind::Local,
            other => {
                return Err(bad(
                    "--launcher",
                    format!("unknown launcher '{other}'; expected: local"),
                ))
            }
        };
        if launcher == LauncherKind::Local && nodes > MAX_LOCAL_RANKS {
            return Err(bad(
                "-N/--nodes",
                format!("{} local processes is more than the local launcher's limit of {MAX_LOCAL_RANKS}", nodes),
            ));
        }
        let algorithms =
            Algorithm::parse_list(&a.algo).map_err(|e| bad("--algo", e.to_string()))?;
        if algorithms.is_empty() {
            return Err(bad(
                "--algo",
                format!(
                    "no algorithm given; expected some of: {}",
                    Algorithm::names()
                ),
            ));
        }
        let segment = parse_size(&a.segment).map_err(|e| bad("--segment", e.to_string()))?;
        if segment < esize {
            return Err(bad(
                "--segment",
                format!("{segment} bytes is smaller than one {dtype} element"),
            ));
        }
        let level = |flag: &'static str, v: &str| {
            v.parse::<Algorithm>().map_err(|e| bad(flag, e.to_string()))
        };
        let grid = a
            .grid
            .as_deref()
            .map(|g| parse_grid(g).map_err(|m| bad("--grid", m)))
            .transpose()?;
        if topology.is_some() && (a.group_size.is_some() || grid.is_some()) {
            return Err(bad(
                "--topology",
                "give either a topology file or --group-size/--grid, not both",
            ));
        }
        let build = BuildOptions {
            segment_bytes: segment as usize,
            group_size: a.group_size.or(topology.as_ref().map(|t| t.group_size)),
            grid: grid.or(topology.as_ref().map(|t| (t.group_size, t.groups))),
            hier_inner: level("--hier-inner", &a.hier_inner)?,
            hier_outer: level("--hier-outer", &a.hier_outer)?,
        };
        // Each algorithm must accept this rank count and shape before any process starts.
        for algo in &algorithms {
            algo.build(nodes, nodes, dtype.size(), &build)
                .map_err(|e| {
                    let flag = match algo {
                        Algorithm::Hier => "--group-size/--hier-inner/--hier-outer",
                        Algorithm::Torus2d => "--grid",
                        _ => "--algo",
                    };
                    bad(flag, e.to_string())
                })?;
        }
        if a.timeout == 0 {
            return Err(bad("--timeout", "must be at least 1 second"));
        }
        let link_rate_bps = a
            .link_rate
            .as_deref()
            .map(|r| parse_rate(r).map_err(|e| bad("--link-rate", e.to_string())))
            .transpose()?;
        Ok(RunOptions {
            minbytes,
            maxbytes,
            stepfactor: a.stepfactor,
            sizes,
            iters: a.iters,
            warmup_iters: a.warmup_iters,
            check,
            dtype,
            op,
            nranks: nodes,
            algorithms,
            build,
            out: a.out.clone(),
            force: a.force,
            stall_timeout: Duration::from_secs(a.timeout),
            launcher,
            bind: a.bind,
            link_rate_bps,
            uplink_rate_bps: None,
            topology,
        })
    }
}

/// Parses `4x2` into (4, 2).
fn parse_grid(s: &str) -> Result<(usize, usize), String> {
    let (x, y) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not XxY (for example 4x2)"))?;
    let num = |v: &str| v.trim().parse::<usize>().ok().filter(|&n| n > 0);
    match (num(x), num(y)) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(format!(
            "'{s}' is not XxY with positive whole numbers (for example 4x2)"
        )),
    }
}
