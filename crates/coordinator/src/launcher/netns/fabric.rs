//! The fabric as a list of `ip`/`tc` commands: pure, so its shape (both directions of every link
//! shaped, names that fit, nothing in the root namespace) is checked without root.
//!
//! One level: every node's `eth0` is a veth to port `n<rank>` of bridge `br0`. Two levels (G
//! groups): group g's nodes hang off bridge `br<g>`, and each leaf reaches the `spine` bridge
//! through a veth pair `up<g>`/`dn<g>`. All bridges live in the fabric namespace. A link is shaped
//! with a token bucket (tbf) on the egress of *both* of its ends, so each direction gets the rate:
//! the node's `eth0` shapes what it sends, the switch port shapes what it receives; `up<g>` shapes
//! a group's traffic to the spine and `dn<g>` the spine's traffic into the group.
//!
//! The coordinator's namespace hangs off the spine (or `br0`) by an **unshaped** link, so control
//! traffic (barriers, reports) never waits behind a node's shaped queue. In a two-level fabric the
//! control messages to a node still cross that node's group uplink; they are a few hundred bytes
//! per iteration.

use super::cmd::Cmd;
use super::names::{ifname, node_addr, Names, COORDINATOR_ADDR, PREFIX_LEN};

/// A token-bucket shaper for one direction of a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub rate_bps: f64,
}

/// Queueing delay a shaper's queue holds at its rate before it drops: deep enough that the
/// senders' bursts and congestion control never lose packets to the queue at these rates.
pub const QUEUE_DELAY_S: f64 = 0.05;

impl Shape {
    /// Bucket size: one millisecond at the rate, and never below 64 KiB (one GSO super-packet),
    /// so the shaper releases whole bursts at line rate without ever starving the link.
    pub fn burst_bytes(&self) -> u64 {
        ((self.rate_bps / 8.0 * 1e-3) as u64).max(64 << 10)
    }

    /// Queue length in bytes: [`QUEUE_DELAY_S`] at the rate plus one bucket.
    pub fn limit_bytes(&self) -> u64 {
        (self.rate_bps / 8.0 * QUEUE_DELAY_S) as u64 + self.burst_bytes()
    }

    /// `tc -n NS qdisc add dev DEV root tbf ...`
    pub fn tc(&self, ns: &str, dev: &str) -> Cmd {
        let rate = format!("{}bit", self.rate_bps.round() as u64);
        let burst = self.burst_bytes().to_string();
        let limit = self.limit_bytes().to_string();
        Cmd::tc(&[
            "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", &rate, "burst", &burst,
            "limit", &limit,
        ])
    }
}

/// What to build.
#[derive(Debug, Clone, PartialEq)]
pub struct FabricSpec {
    /// Group (leaf bridge) of each rank; all zero for a one-level fabric.
    pub group_of: Vec<usize>,
    /// Every node link, both directions; `None` leaves the links unshaped.
    pub link: Option<Shape>,
    /// Every group's uplink to the spine, both directions; `None` leaves them unshaped.
    pub uplink: Option<Shape>,
    /// MTU of every link and bridge, bytes.
    pub mtu: u32,
}

impl FabricSpec {
    pub fn nodes(&self) -> usize {
        self.group_of.len()
    }

    pub fn groups(&self) -> usize {
        self.group_of.iter().max().map_or(1, |g| g + 1)
    }
}

/// Group of each of `nodes` ranks split into `groups` consecutive blocks, as equal as possible.
pub fn even_groups(nodes: usize, groups: usize) -> Vec<usize> {
    let groups = groups.max(1);
    (0..nodes).map(|r| r * groups / nodes.max(1)).collect()
}

/// A namespace to create, then the commands that fill it; in creation order.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Namespace this step creates first (`ip netns add`), recorded for teardown.
    pub creates: Option<String>,
    pub cmds: Vec<Cmd>,
}

fn ns_step(ns: &str) -> Step {
    Step {
        creates: Some(ns.to_string()),
        cmds: vec![
            Cmd::ip(&["netns", "add", ns]),
            Cmd::ip(&["-n", ns, "link", "set", "lo", "up"]),
        ],
    }
}

/// `ip -n SW link add A mtu M type veth peer name B mtu M [netns PEER_NS]`: a link whose two
/// ends both carry the fabric's MTU, `a` in the switch namespace `sw`.
fn veth(sw: &str, a: &str, b: &str, mtu: &str, peer_ns: Option<&str>) -> Cmd {
    let mut args = vec![
        "-n", sw, "link", "add", a, "mtu", mtu, "type", "veth", "peer", "name", b, "mtu", mtu,
    ];
    if let Some(ns) = peer_ns {
        args.extend(["netns", ns]);
    }
    Cmd::ip(&args)
}

/// The commands that build `spec` for the run `names`, in order.
pub fn plan(names: &Names, spec: &FabricSpec) -> Vec<Step> {
    let (switch, core) = switch_step(names, spec);
    let mut steps = vec![switch, coordinator_step(names, spec, &core)];
    steps.extend(
        spec.group_of
            .iter()
            .enumerate()
            .map(|(rank, &g)| node_step(names, spec, rank, g)),
    );
    steps
}

/// The switch: leaf bridges, and a spine joined to them by uplinks when there are groups; and
/// the core bridge the coordinator joins (the spine, or the one leaf).
fn switch_step(names: &Names, spec: &FabricSpec) -> (Step, String) {
    let sw = names.fabric_ns();
    let groups = spec.groups();
    let mtu = spec.mtu.to_string();
    let mut fabric = ns_step(&sw);
    let bridge = |cmds: &mut Vec<Cmd>, name: &str| {
        cmds.push(Cmd::ip(&[
            "-n", &sw, "link", "add", name, "mtu", &mtu, "type", "bridge",
        ]));
        cmds.push(Cmd::ip(&["-n", &sw, "link", "set", name, "up"]));
    };
    for g in 0..groups {
        bridge(&mut fabric.cmds, &ifname::leaf(g));
    }
    if groups <= 1 {
        return (fabric, ifname::leaf(0));
    }
    bridge(&mut fabric.cmds, ifname::SPINE);
    for g in 0..groups {
        let (up, dn, leaf) = (ifname::uplink(g), ifname::downlink(g), ifname::leaf(g));
        let c = &mut fabric.cmds;
        c.push(veth(&sw, &up, &dn, &mtu, None));
        c.push(Cmd::ip(&["-n", &sw, "link", "set", &up, "master", &leaf]));
        c.push(Cmd::ip(&[
            "-n",
            &sw,
            "link",
            "set",
            &dn,
            "master",
            ifname::SPINE,
        ]));
        if let Some(shape) = spec.uplink {
            c.push(shape.tc(&sw, &up));
            c.push(shape.tc(&sw, &dn));
        }
        c.push(Cmd::ip(&["-n", &sw, "link", "set", &up, "up"]));
        c.push(Cmd::ip(&["-n", &sw, "link", "set", &dn, "up"]));
    }
    (fabric, ifname::SPINE.to_string())
}

/// The coordinator, on the core bridge by an unshaped link.
fn coordinator_step(names: &Names, spec: &FabricSpec, core: &str) -> Step {
    let sw = names.fabric_ns();
    let co = names.coordinator_ns();
    let mtu = spec.mtu.to_string();
    let mut coord = ns_step(&co);
    let addr = format!("{COORDINATOR_ADDR}/{PREFIX_LEN}");
    coord.cmds.extend([
        veth(
            &sw,
            ifname::COORDINATOR_PORT,
            ifname::COORDINATOR,
            &mtu,
            Some(&co),
        ),
        Cmd::ip(&[
            "-n",
            &sw,
            "link",
            "set",
            ifname::COORDINATOR_PORT,
            "master",
            core,
        ]),
        Cmd::ip(&["-n", &sw, "link", "set", ifname::COORDINATOR_PORT, "up"]),
        Cmd::ip(&["-n", &co, "addr", "add", &addr, "dev", ifname::COORDINATOR]),
        Cmd::ip(&["-n", &co, "link", "set", ifname::COORDINATOR, "up"]),
    ]);
    coord
}

/// Node `rank`, on its group's bridge, shaped both ways.
fn node_step(names: &Names, spec: &FabricSpec, rank: usize, group: usize) -> Step {
    let sw = names.fabric_ns();
    let mtu = spec.mtu.to_string();
    let ns = names.node_ns(rank);
    let port = ifname::port(rank);
    let addr = format!("{}/{PREFIX_LEN}", node_addr(rank));
    let mut node = ns_step(&ns);
    node.cmds.extend([
        veth(&sw, &port, ifname::NODE, &mtu, Some(&ns)),
        Cmd::ip(&[
            "-n",
            &sw,
            "link",
            "set",
            &port,
            "master",
            &ifname::leaf(group),
        ]),
    ]);
    if let Some(shape) = spec.link {
        node.cmds.push(shape.tc(&ns, ifname::NODE));
        node.cmds.push(shape.tc(&sw, &port));
    }
    node.cmds.extend([
        Cmd::ip(&["-n", &sw, "link", "set", &port, "up"]),
        Cmd::ip(&["-n", &ns, "addr", "add", &addr, "dev", ifname::NODE]),
        Cmd::ip(&["-n", &ns, "link", "set", ifname::NODE, "up"]),
    ]);
    node
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(nodes: usize, groups: usize) -> FabricSpec {
        FabricSpec {
            group_of: even_groups(nodes, groups),
            link: Some(Shape { rate_bps: 500e6 }),
            uplink: Some(Shape { rate_bps: 250e6 }),
            mtu: 9000,
        }
    }

    fn tbf_devices(steps: &[Step]) -> Vec<(String, String, String)> {
        steps
            .iter()
            .flat_map(|s| &s.cmds)
            .filter(|c| c.program == "tc")
            .map(|c| (c.args[1].clone(), c.args[5].clone(), c.args[9].clone()))
            .collect()
    }

    #[test]
    fn every_link_is_shaped_in_both_directions() {
        let names = Names::new("r1").unwrap();
        let steps = plan(&names, &spec(4, 1));
        let tbf = tbf_devices(&steps);
        for r in 0..4 {
            assert!(tbf.contains(&(names.node_ns(r), "eth0".into(), "500000000bit".into())));
            assert!(tbf.contains(&(names.fabric_ns(), ifname::port(r), "500000000bit".into())));
        }
        // One level: no uplinks, and the coordinator's link is never shaped.
        assert_eq!(tbf.len(), 8);
        assert!(!tbf.iter().any(|(_, dev, _)| dev == "co"));
    }

    #[test]
    fn two_levels_shape_each_uplink_both_ways() {
        let names = Names::new("r2").unwrap();
        let steps = plan(&names, &spec(8, 2));
        let tbf = tbf_devices(&steps);
        for g in 0..2 {
            for dev in [ifname::uplink(g), ifname::downlink(g)] {
                assert!(tbf.contains(&(names.fabric_ns(), dev, "250000000bit".into())));
            }
        }
        assert_eq!(tbf.len(), 8 * 2 + 4);
        // Ranks 0-3 hang off br0 and 4-7 off br1.
        let all: Vec<String> = steps.iter().flat_map(|s| &s.cmds).map(Cmd::line).collect();
        assert!(all.iter().any(|l| l.ends_with("link set n3 master br0")));
        assert!(all.iter().any(|l| l.ends_with("link set n4 master br1")));
        assert!(all.iter().any(|l| l.ends_with("link set co master spine")));
    }

    #[test]
    fn nothing_is_made_outside_the_runs_namespaces() {
        let names = Names::new("r3").unwrap();
        let steps = plan(&names, &spec(3, 3));
        let ours = names.all_ns(3);
        let created: Vec<String> = steps.iter().filter_map(|s| s.creates.clone()).collect();
        assert_eq!(created, ours);
        for c in steps.iter().flat_map(|s| &s.cmds) {
            // Every command names one of the run's namespaces (`-n NS`, `netns add NS`).
            let target = if c.args[0] == "-n" {
                &c.args[1]
            } else {
                &c.args[2]
            };
            assert!(ours.contains(target), "{}", c.line());
            if let Some(i) = c.args.iter().position(|a| a == "netns") {
                if c.args.get(i + 1).is_some_and(|a| a != "add") {
                    assert!(ours.contains(&c.args[i + 1]), "{}", c.line());
                }
            }
        }
    }

    #[test]
    fn buckets_and_queues_scale_with_the_rate() {
        let slow = Shape { rate_bps: 10e6 };
        assert_eq!(slow.burst_bytes(), 64 << 10);
        let fast = Shape { rate_bps: 10e9 };
        assert_eq!(fast.burst_bytes(), 1_250_000);
        assert_eq!(fast.limit_bytes(), 62_500_000 + 1_250_000);
        assert_eq!(even_groups(5, 2), vec![0, 0, 0, 1, 1]);
        assert_eq!(even_groups(4, 1), vec![0; 4]);
    }
}
