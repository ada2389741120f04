//! Validated run options. Every flag is checked here, before anything starts, and an error
//! names the flag, what was given and what would be accepted. The checks go by concern, each
//! with its own rules' tests: the sweep ([`sweep`]), the ranks and their launcher ([`ranks`]),
//! the algorithms and their shapes ([`algorithms`]), the fabric ([`fabric`]), the faults
//! ([`faults`]), and the cluster launchers' own flags (`launcher::cluster_args`). The result
//! is built once and never changes: what a launcher learns is its own value.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use topologies::{Algorithm, BuildOptions, Case, Collective, DataType, ReduceOp, Series};

pub mod algorithms;
pub mod fabric;
pub mod faults;
pub mod kinds;
pub mod nccl;
pub mod ranks;
pub mod sweep;
#[cfg(test)]
pub(crate) mod test_args;

pub use kinds::{LauncherKind, OptionError};
pub use ranks::MAX_LOCAL_RANKS;

use crate::cli::RunArgs;
use crate::launcher::cluster_args::ClusterOptions;
use crate::launcher::netns::faults::Fault;
use crate::topology_file::Topology;
use run_core::channels::ChannelCount;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub minbytes: u64,
    pub maxbytes: u64,
    /// 1 when the sweep adds `stepbytes` (`-i`) instead.
    pub stepfactor: u64,
    pub stepbytes: Option<u64>,
    pub sizes: Vec<u64>,
    pub iters: u32,
    pub warmup_iters: u32,
    /// Checked iterations after the timed ones (`-c`); 0: no check.
    pub check_iters: u32,
    /// The first of `dtypes` and `ops` (the ping-pong's, and the run header's).
    pub dtype: DataType,
    pub op: ReduceOp,
    /// `-d` and `-o`: every type and operator the run measures.
    pub dtypes: Vec<DataType>,
    pub ops: Vec<ReduceOp>,
    pub nranks: usize,
    /// Each collective and algorithm the sweep measures, in order.
    pub cases: Vec<Case>,
    pub build: BuildOptions,
    /// `-r`: broadcast's and reduce's root.
    pub root: usize,
    /// `--pingpong`: ranks 0 and 1 ping-pong every size after the sweep.
    pub pingpong: bool,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub stall_timeout: Duration,
    /// `--min-busbw` / `NCCL_TESTS_MIN_BW`, GB/s: below 90% of it a table fails (exit 4).
    pub min_busbw: Option<f64>,
    /// nccl-tests' `-N`, `-a`, `-m`, `-I`, and the notes on the flags accepted at a value that
    /// changes nothing here.
    pub nccl: nccl::Nccl,
    /// `--dry-run`: check and describe, start nothing.
    pub dry_run: bool,
    pub launcher: LauncherKind,
    pub bind: IpAddr,
    /// `--link-rate`, bits per second (a launcher that builds the fabric knows its own: see
    /// `launcher::Fabric::or_flags`).
    pub link_rate_bps: Option<f64>,
    /// `--mtu` (likewise).
    pub mtu: Option<u32>,
    /// `--no-encryption`: data-plane payloads in clear.
    pub no_encryption: bool,
    /// `--poll-us`: how long a node polls for the next message before sleeping (`auto` is
    /// settled from the cores the ranks were given).
    pub poll_us: run_core::polling::Polling,
    /// `--channels`: how many channels (sockets, endpoints, threads) each rank opens.
    pub channels: ChannelCount,
    /// `--channel-min-bytes`: the fewest bytes of a buffer a size gives each channel.
    pub channel_min_bytes: u64,
    /// `--cpu-bind core`: bind each rank's channel threads to its own CPUs.
    pub cpu_bind: bool,
    pub topology: Option<Topology>,
    /// netns: the group (leaf switch) of each rank, when the fabric has groups.
    pub netns_groups: Option<Vec<usize>>,
    /// netns: the configured uplink rate of each group, bits per second.
    pub netns_uplink_bps: Option<f64>,
    /// netns: consecutive ranks per emulated node, each with a NIC of its own (`--ranks-per-node`;
    /// 1 elsewhere).
    pub ranks_per_node: usize,
    /// Faults to inject (`--fault`).
    pub faults: Vec<Fault>,
    /// `--fault jitter:DIST`: the delay every rank draws before each step's sends.
    pub jitter: Option<topologies::noise::Delay>,
    /// ssh, slurm and k8s: hosts, addresses and credentials (`--hostfile`, `--listen`, ...).
    pub cluster: ClusterOptions,
}

impl RunOptions {
    /// Every algorithm the run uses, of any collective, in order, without repeats.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut out: Vec<Algorithm> = Vec::new();
        for c in &self.cases {
            if !out.contains(&c.algorithm) {
                out.push(c.algorithm);
            }
        }
        out
    }

    /// Every table of the run: each case in each type and (where it reduces) operator.
    pub fn series(&self) -> Vec<Series> {
        Series::all(&self.cases, &self.dtypes, &self.ops)
    }

    /// The collectives the run measures, in order, without repeats.
    pub fn collectives(&self) -> Vec<Collective> {
        let mut out: Vec<Collective> = Vec::new();
        for c in &self.cases {
            if !out.contains(&c.collective) {
                out.push(c.collective);
            }
        }
        out
    }

    pub fn from_args(a: &RunArgs) -> Result<RunOptions, OptionError> {
        let sweep = sweep::sweep_of(a)?;
        let nccl = nccl::nccl_of(&a.nccl)?;
        let ranks = ranks::ranks_of(a)?;
        let (nranks, launcher) = (ranks.nranks, ranks.launcher);
        let topology = ranks.topology.as_ref();
        let fabric = fabric::fabric_of(a, launcher, nranks, topology)?;
        let algorithms::Cases { cases, build, root } =
            algorithms::cases_of(a, nranks, sweep.dtype, topology, fabric.ranks_per_node)?;
        let mut nccl = nccl;
        if a.nccl.root != 0 && !cases.iter().any(|c| c.collective.rooted()) {
            nccl.notes.push(format!(
                "-r {}: no collective of this run has a root; rows print -1, as nccl-tests' do",
                a.nccl.root
            ));
        }
        let faults = faults::faults_of(&a.fault, launcher, nranks, &sweep.sizes)?;
        let jitter = faults::jitter_of(&a.fault)?;
        let cluster = ClusterOptions::from_args(&a.cluster, launcher, nranks)?;
        Ok(RunOptions {
            minbytes: sweep.minbytes,
            maxbytes: sweep.maxbytes,
            stepfactor: sweep.stepfactor,
            stepbytes: sweep.stepbytes,
            sizes: sweep.sizes,
            iters: sweep.iters,
            warmup_iters: sweep.warmup_iters,
            check_iters: sweep.check_iters,
            dtype: sweep.dtypes[0],
            op: sweep.ops[0],
            dtypes: sweep.dtypes,
            ops: sweep.ops,
            nranks,
            cases,
            build,
            root,
            pingpong: a.pingpong,
            out: a.out.clone(),
            force: a.force,
            stall_timeout: sweep.stall_timeout,
            min_busbw: sweep.min_busbw,
            nccl,
            dry_run: a.dry_run,
            launcher,
            bind: a.bind,
            link_rate_bps: fabric.link_rate_bps,
            mtu: fabric.mtu,
            no_encryption: a.no_encryption,
            poll_us: sweep.poll_us,
            channels: sweep.channels,
            channel_min_bytes: sweep.channel_min_bytes,
            cpu_bind: a.cpu_bind == crate::cli::CpuBind::Core,
            topology: ranks.topology,
            netns_groups: fabric.netns_groups,
            netns_uplink_bps: fabric.netns_uplink_bps,
            ranks_per_node: fabric.ranks_per_node,
            faults,
            jitter,
            cluster,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args::args;

    fn group_size(line: &str) -> Option<usize> {
        RunOptions::from_args(&args(line))
            .map(|o| o.build.group_size)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn the_ranks_of_a_node_are_the_algorithms_groups_unless_told_otherwise() {
        assert_eq!(
            group_size("--launcher netns --np 8 --ranks-per-node 4 --algo hier"),
            Some(4)
        );
        assert_eq!(
            group_size("--launcher netns --np 8 --ranks-per-node 4 --group-size 2 --algo hier"),
            Some(2)
        );
        assert_eq!(group_size("--launcher netns --np 8 --algo hier"), None);
        assert_eq!(
            group_size("--launcher netns --np 8 --ranks-per-node 1"),
            None
        );
        let o = RunOptions::from_args(&args("--launcher netns --np 4 --ranks-per-node 2"));
        assert_eq!(o.map(|o| o.ranks_per_node).ok(), Some(2));
    }
}
