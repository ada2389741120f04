//! The netns launcher: an emulated cluster on one machine.
//!
//! Each node runs in its own network namespace with one link (a veth pair) per rank to a switch
//! (a bridge in the run's fabric namespace), shaped in both directions with tbf; one rank per node
//! unless `--ranks-per-node G` gives each node G ranks, each with a NIC of its own (see
//! [`fabric`]). `--groups G` puts the ranks on G leaf bridges joined by uplinks (`--uplink-rate`)
//! through a spine. The coordinator's
//! control socket lives in a namespace of its own on an unshaped link to the switch. The fabric
//! uses 10.77.0.0/16, which exists only inside the run's namespaces.
//!
//! Lifecycle: the run's id is claimed under `/run/collbench` before anything is made; every
//! namespace is named after the run (`cb-<run id>-…`); teardown removes them on every path out
//! (and `Drop` as a last resort); and each start first removes what runs whose coordinator is no
//! longer alive left behind (see [`state`]).

pub mod cmd;
pub mod fabric;
pub mod faults;
pub mod names;
pub mod spawn;
pub mod state;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tracing::{info, warn};

use self::cmd::{Cmd, NetnsError};
use self::fabric::{FabricSpec, Shape};
use self::faults::LinkControl;
use self::names::{ifname, Names, COORDINATOR_ADDR};
use super::{Fabric, LaunchContext, Launcher, NodeProcess};

/// How long bridge ports get to start forwarding.
const PORTS_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Netns {
    spec: FabricSpec,
    names: Option<Names>,
    /// Namespaces made so far, in creation order.
    created: Vec<String>,
    claimed: bool,
}

impl Netns {
    /// A launcher for `group_of.len()` ranks, `ranks_per_node` (which divides them) to a node;
    /// rates in bits per second, `None` = unshaped.
    pub fn new(
        group_of: Vec<usize>,
        ranks_per_node: usize,
        link_bps: Option<f64>,
        uplink_bps: Option<f64>,
        mtu: u32,
    ) -> Netns {
        Netns {
            spec: FabricSpec {
                group_of,
                ranks_per_node: ranks_per_node.max(1),
                link: link_bps.map(|rate_bps| Shape { rate_bps }),
                uplink: uplink_bps.map(|rate_bps| Shape { rate_bps }),
                mtu,
            },
            names: None,
            created: Vec::new(),
            claimed: false,
        }
    }

    pub fn from_options(opts: &crate::options::RunOptions) -> Netns {
        let group_of = opts
            .netns_groups
            .clone()
            .unwrap_or_else(|| vec![0; opts.nranks]);
        let mtu = opts.mtu.unwrap_or(transport::settings::JUMBO_MTU);
        Netns::new(
            group_of,
            opts.ranks_per_node,
            opts.link_rate_bps,
            opts.netns_uplink_bps,
            mtu,
        )
    }

    fn build(&mut self, names: &Names) -> Result<()> {
        for step in fabric::plan(names, &self.spec) {
            for (i, c) in step.cmds.iter().enumerate() {
                c.run()?;
                // Recorded once it exists, so teardown removes exactly what was made.
                if i == 0 {
                    if let Some(ns) = &step.creates {
                        self.created.push(ns.clone());
                    }
                }
            }
        }
        self.wait_for_ports(names)
    }

    /// Waits until every bridge port (one per rank, the coordinator's, the uplinks' two ends)
    /// forwards, so the first packets are not lost.
    fn wait_for_ports(&self, names: &Names) -> Result<()> {
        let groups = self.spec.groups();
        let expected = self.spec.ranks() + 1 + if groups > 1 { 2 * groups } else { 0 };
        let start = Instant::now();
        loop {
            let out = Cmd {
                program: "bridge",
                args: vec!["-n".into(), names.fabric_ns(), "link".into(), "show".into()],
            }
            .run()?;
            let forwarding = out.lines().filter(|l| l.contains("forwarding")).count();
            if forwarding >= expected {
                return Ok(());
            }
            if start.elapsed() > PORTS_TIMEOUT {
                return Err(NetnsError::Other(format!(
                    "only {forwarding} of {expected} bridge ports forward after {PORTS_TIMEOUT:?}:\n{out}"
                ))
                .into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Launcher for Netns {
    fn name(&self) -> &'static str {
        "netns"
    }

    fn prepare(&mut self, run_id: &str) -> Result<std::net::UdpSocket> {
        cmd::preflight(self.spec.ranks_per_node > 1)?;
        match state::sweep_stale() {
            Ok(ids) if !ids.is_empty() => {
                info!(runs = ?ids, "removed fabrics left by earlier runs")
            }
            Ok(_) => {}
            Err(e) => warn!("{e}"),
        }
        let names = Names::new(run_id)?;
        state::claim(&names)?;
        self.claimed = true;
        self.names = Some(names.clone());
        let start = Instant::now();
        self.build(&names).context("building the emulated fabric")?;
        info!(
            ranks = self.spec.ranks(),
            nodes = self.spec.nodes(),
            groups = self.spec.groups(),
            elapsed_ms = start.elapsed().as_millis() as u64,
            "fabric up"
        );
        spawn::udp_socket_in(
            &names.coordinator_ns(),
            SocketAddr::new(IpAddr::V4(COORDINATOR_ADDR), 0),
        )
        .context("binding the control socket in the coordinator's namespace")
    }

    fn launch(&mut self, ctx: &LaunchContext<'_>) -> Result<Vec<NodeProcess>> {
        let names = self
            .names
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("launch before prepare"))?;
        spawn::launch(
            names,
            &self.spec,
            ctx.exe,
            ctx.coordinator,
            ctx.creds,
            ctx.events,
        )
    }

    fn teardown(&mut self) -> Result<()> {
        let mut errors = Vec::new();
        // Nodes first, the switch last.
        while let Some(ns) = self.created.pop() {
            if let Err(e) = state::remove_namespace(&ns) {
                errors.push(e.to_string());
            }
        }
        if self.claimed {
            if let Some(names) = &self.names {
                state::release(names);
            }
            self.claimed = false;
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "removing the emulated fabric: {}",
                errors.join("; ")
            ))
        }
    }

    fn fabric(&self) -> Fabric {
        Fabric {
            link_rate_bps: self.spec.link.map(|s| s.rate_bps),
            uplink_rate_bps: self.spec.uplink.map(|s| s.rate_bps),
            mtu: Some(self.spec.mtu),
        }
    }

    fn link_control(&self) -> Option<Box<dyn LinkControl>> {
        let names = self.names.as_ref()?;
        Some(Box::new(SwitchPorts {
            fabric_ns: names.fabric_ns(),
        }))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if !self.created.is_empty() || self.claimed {
            if let Err(e) = self.teardown() {
                warn!("{e:#}");
            }
        }
    }
}

/// Takes a rank's switch port down or up (its NIC loses carrier; the node's other NICs keep
/// theirs).
struct SwitchPorts {
    fabric_ns: String,
}

impl LinkControl for SwitchPorts {
    fn set_link(&self, rank: usize, up: bool) -> Result<()> {
        let port = ifname::port(rank);
        Cmd::ip(&[
            "-n",
            &self.fabric_ns,
            "link",
            "set",
            &port,
            if up { "up" } else { "down" },
        ])
        .run()?;
        Ok(())
    }
}
