//! Validated run options. Every flag is checked here, before anything starts, and an error
//! names the flag, what was given and what would be accepted.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use topologies::{Algorithm, BuildOptions, DataType, ReduceOp};

pub mod kinds;

pub use kinds::{LauncherKind, OptionError};

use kinds::bad;

use crate::channels::ChannelCount;
use crate::cli::RunArgs;
use crate::launcher::cluster_args::{default_nodes, ClusterOptions};
use crate::launcher::netns::fabric::even_groups;
use crate::launcher::netns::faults::{Fault, FaultKind, FaultSyntax};
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
    /// `--pingpong`: ranks 0 and 1 ping-pong every size after the sweep.
    pub pingpong: bool,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub stall_timeout: Duration,
    pub launcher: LauncherKind,
    pub bind: IpAddr,
    /// `--link-rate`, bits per second (a launcher that builds the fabric knows its own: see
    /// `launcher::Fabric::or_flags`).
    pub link_rate_bps: Option<f64>,
    /// `--mtu` (likewise).
    pub mtu: Option<u32>,
    /// `--no-encryption`: data-plane payloads in clear.
    pub no_encryption: bool,
    /// `--poll-us`: how long a node polls for the next message before sleeping.
    pub poll_us: u32,
    /// `--channels`: how many channels (sockets, endpoints, threads) each rank opens.
    pub channels: ChannelCount,
    /// `--channel-min-bytes`: the fewest bytes of a buffer a size gives each channel.
    pub channel_min_bytes: u64,
    pub topology: Option<Topology>,
    /// netns: the group (leaf switch) of each rank, when the fabric has groups.
    pub netns_groups: Option<Vec<usize>>,
    /// netns: the configured uplink rate of each group, bits per second.
    pub netns_uplink_bps: Option<f64>,
    /// Faults to inject (`--fault`).
    pub faults: Vec<Fault>,
    /// ssh, slurm and k8s: hosts, addresses and credentials (`--hostfile`, `--listen`, ...).
    pub cluster: ClusterOptions,
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
        if a.poll_us > wire::control::MAX_POLL_US {
            return Err(bad(
                "--poll-us",
                format!(
                    "{} is above {} (one second)",
                    a.poll_us,
                    wire::control::MAX_POLL_US
                ),
            ));
        }
        let channels: ChannelCount = a
            .channels
            .parse()
            .map_err(|e: String| bad("--channels", e))?;
        let channel_min_bytes = parse_size(&a.channel_min_bytes)
            .map_err(|e| bad("--channel-min-bytes", e.to_string()))?;
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
            (None, None) => default_nodes(&a.cluster, &a.launcher)?.unwrap_or(4),
        };
        if nodes == 0 {
            return Err(bad("-N/--nodes", "0 ranks; at least 1 is needed"));
        }
        let launcher = match a.launcher.as_str() {
            "local" => LauncherKind::Local,
            "netns" => LauncherKind::Netns,
            "ssh" => LauncherKind::Ssh,
            "slurm" => LauncherKind::Slurm,
            "k8s" => LauncherKind::K8s,
            other => {
                return Err(bad(
                    "--launcher",
                    format!("unknown launcher '{other}'; expected: local, netns, ssh, slurm, k8s"),
                ))
            }
        };
        if launcher == LauncherKind::Netns && nodes > crate::launcher::netns::names::MAX_NODES {
            return Err(bad(
                "-N/--nodes",
                format!(
                    "{nodes} namespaces is more than the netns launcher's limit of {}",
                    crate::launcher::netns::names::MAX_NODES
                ),
            ));
        }
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
        let ring_segment =
            parse_size(&a.ring_segment).map_err(|e| bad("--ring-segment", e.to_string()))?;
        if ring_segment != 0 && ring_segment < esize {
            return Err(bad(
                "--ring-segment",
                format!(
                    "{ring_segment} bytes is smaller than one {dtype} element (0 turns pieces off)"
                ),
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
            ring_segment_bytes: ring_segment as usize,
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
        if a.pingpong && nodes < 2 {
            return Err(bad(
                "--pingpong",
                format!("{nodes} rank; a ping-pong needs at least 2 (-N 2 or more)"),
            ));
        }
        if a.timeout == 0 {
            return Err(bad("--timeout", "must be at least 1 second"));
        }
        let link_rate_bps = a
            .link_rate
            .as_deref()
            .map(|r| parse_rate(r).map_err(|e| bad("--link-rate", e.to_string())))
            .transpose()?;
        if let Some(mtu) = a.mtu {
            let max = transport::tls::MAX_MTU;
            if !(1280..=max).contains(&mtu) {
                return Err(bad("--mtu", format!("{mtu} is outside 1280..{max} bytes")));
            }
        }
        let (netns_groups, netns_uplink_bps) =
            fabric_groups(a, launcher, nodes, topology.as_ref())?;
        let faults = parse_faults(&a.fault, launcher, nodes, &sizes)?;
        let cluster = ClusterOptions::from_args(&a.cluster, launcher, nodes)?;
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
            pingpong: a.pingpong,
            out: a.out.clone(),
            force: a.force,
            stall_timeout: Duration::from_secs(a.timeout),
            launcher,
            bind: a.bind,
            link_rate_bps,
            mtu: a.mtu,
            no_encryption: a.no_encryption,
            poll_us: a.poll_us,
            channels,
            channel_min_bytes,
            topology,
            netns_groups,
            netns_uplink_bps,
            faults,
            cluster,
        })
    }
}

/// `--groups`, `--uplink-rate` and a topology file's racks: the group of each rank, and the
/// uplink rate.
#[allow(clippy::type_complexity)]
fn fabric_groups(
    a: &RunArgs,
    launcher: LauncherKind,
    nodes: usize,
    topology: Option<&Topology>,
) -> Result<(Option<Vec<usize>>, Option<f64>), OptionError> {
    let netns = launcher == LauncherKind::Netns;
    let uplink = a
        .uplink_rate
        .as_deref()
        .map(|r| parse_rate(r).map_err(|e| bad("--uplink-rate", e.to_string())))
        .transpose()?;
    let groups = match a.groups {
        Some(_) if !netns => {
            return Err(bad(
                "--groups",
                "only the netns launcher builds groups; add --launcher netns",
            ))
        }
        Some(g) if g == 0 || g > nodes => {
            return Err(bad(
                "--groups",
                format!("{g} is outside 1..={nodes} (the rank count)"),
            ))
        }
        Some(g) => Some(even_groups(nodes, g)),
        None if netns => topology.and_then(rack_groups),
        None => None,
    };
    // tc's tbf takes whole bits per second; below 1 kbit/s nothing useful moves.
    if netns {
        let link = a.link_rate.as_deref().and_then(|r| parse_rate(r).ok());
        for (flag, rate) in [("--link-rate", link), ("--uplink-rate", uplink)] {
            if rate.is_some_and(|r| r < 1e3) {
                return Err(bad(flag, "below 1kbit; the netns launcher shapes links with tbf, which needs at least 1kbit"));
            }
        }
    }
    if uplink.is_some() {
        if !netns {
            return Err(bad(
                "--uplink-rate",
                "only the netns launcher builds uplinks; add --launcher netns",
            ));
        }
        let g = groups
            .as_ref()
            .and_then(|v| v.iter().max())
            .map_or(1, |m| m + 1);
        if g < 2 {
            return Err(bad(
                "--uplink-rate",
                "needs a fabric of 2 or more groups (--groups G, or racks in --topology)",
            ));
        }
    }
    Ok((groups, uplink))
}

/// The rack of each rank, numbered in file order, when every host names one.
fn rack_groups(t: &Topology) -> Option<Vec<usize>> {
    let mut racks: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(t.nranks);
    for host in t.host_of_rank() {
        let rack = host.rack.as_deref()?;
        let g = match racks.iter().position(|r| *r == rack) {
            Some(g) => g,
            None => {
                racks.push(rack);
                racks.len() - 1
            }
        };
        out.push(g);
    }
    Some(out)
}

/// `--fault` specs, checked against the rank count, the sweep's sizes and the launcher.
fn parse_faults(
    specs: &[String],
    launcher: LauncherKind,
    nodes: usize,
    sizes: &[u64],
) -> Result<Vec<Fault>, OptionError> {
    specs
        .iter()
        .map(|spec| {
            let f: Fault = spec
                .parse()
                .map_err(|e: FaultSyntax| bad("--fault", e.to_string()))?;
            if f.rank >= nodes {
                return Err(bad(
                    "--fault",
                    format!(
                        "'{spec}': rank {} is not below the rank count {nodes}",
                        f.rank
                    ),
                ));
            }
            if !sizes.contains(&f.size) {
                return Err(bad(
                    "--fault",
                    format!(
                        "'{spec}': {} bytes is not a size of the sweep (-b/-e/-f)",
                        f.size
                    ),
                ));
            }
            if !matches!(launcher, LauncherKind::Local | LauncherKind::Netns) {
                return Err(bad(
                    "--fault",
                    format!("'{spec}': faults need --launcher local or netns"),
                ));
            }
            if f.kind == FaultKind::LinkDown && launcher != LauncherKind::Netns {
                return Err(bad(
                    "--fault",
                    format!("'{spec}': link-down needs --launcher netns"),
                ));
            }
            Ok(f)
        })
        .collect()
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
