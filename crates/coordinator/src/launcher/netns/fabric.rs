//! The fabric as a list of `ip`/`tc` commands: pure, so its shape (both directions of every link
//! shaped, names that fit, nothing in the root namespace) is checked without root.
//!
//! One level: every rank's NIC is a veth to port `n<rank>` of bridge `br0`. Two levels (G
//! groups): group g's ranks hang off bridge `br<g>`, and each leaf reaches the `spine` bridge
//! through a veth pair `up<g>`/`dn<g>`. All bridges live in the fabric namespace. A link is shaped
//! with a token bucket (tbf) on the egress of *both* of its ends, so each direction gets the rate:
//! the node's NIC shapes what it sends, the switch port shapes what it receives; `up<g>` shapes
//! a group's traffic to the spine and `dn<g>` the spine's traffic into the group.
//!
//! A node holds `ranks_per_node` consecutive ranks (one by default), rank `r` on NIC
//! `eth<r % ranks_per_node>` of node `r / ranks_per_node`'s namespace, each NIC its own link and
//! switch port, as the rails of a multi-GPU server. With several NICs the node answers ARP for an
//! address only on that address's NIC (`arp_ignore=1`, `arp_announce=2`) and routes by source
//! (`from ADDR` → table `100+k` → `eth<k>`), so each rank's traffic leaves by its own NIC; traffic
//! between ranks of one node stays on loopback (the local table comes first), unshaped, as NVLink
//! traffic never reaches the NICs.
//!
//! The coordinator's namespace hangs off the spine (or `br0`) by an **unshaped** link, so control
//! traffic (barriers, reports) never waits behind a node's shaped queue. In a two-level fabric the
//! control messages to a node still cross that node's group uplink; they are a few hundred bytes
//! per iteration.

use super::cmd::Cmd;
use super::names::{ifname, node_addr, Names, COORDINATOR_ADDR, NETWORK, PREFIX_LEN};

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
    /// Consecutive ranks per node (namespace), each on a NIC of its own; divides the rank count.
    pub ranks_per_node: usize,
    /// Every node link, both directions; `None` leaves the links unshaped.
    pub link: Option<Shape>,
    /// Every group's uplink to the spine, both directions; `None` leaves them unshaped.
    pub uplink: Option<Shape>,
    /// MTU of every link and bridge, bytes.
    pub mtu: u32,
}

impl FabricSpec {
    /// Ranks, each with its own link and switch port.
    pub fn ranks(&self) -> usize {
        self.group_of.len()
    }

    /// Nodes (namespaces) holding them.
    pub fn nodes(&self) -> usize {
        self.ranks() / self.ranks_per_node.max(1)
    }

    /// The node (namespace) and NIC index of `rank`.
    pub fn place(&self, rank: usize) -> (usize, usize) {
        let g = self.ranks_per_node.max(1);
        (rank / g, rank % g)
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
    steps.extend((0..spec.nodes()).map(|node| node_step(names, spec, node)));
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

/// Node `node`: its namespace, and a NIC per rank on that rank's group's bridge, shaped both
/// ways; with several NICs, each answering and sending for its own address only.
fn node_step(names: &Names, spec: &FabricSpec, node: usize) -> Step {
    let ns = names.node_ns(node);
    let g = spec.ranks_per_node.max(1);
    let ranks = node * g..(node + 1) * g;
    let mut step = ns_step(&ns);
    if g > 1 {
        // Each address answered only on its own NIC, and ARP asked with the sending NIC's own.
        step.cmds.push(Cmd::ip(&[
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-q",
            "-w",
            "net.ipv4.conf.all.arp_ignore=1",
            "net.ipv4.conf.all.arp_announce=2",
        ]));
    }
    for rank in ranks.clone() {
        nic_cmds(&mut step.cmds, names, spec, rank);
    }
    if g > 1 {
        let net = format!("{NETWORK}/{PREFIX_LEN}");
        for rank in ranks {
            let (_, k) = spec.place(rank);
            let (addr, nic, table) = (node_addr(rank).to_string(), ifname::nic(k), source_table(k));
            step.cmds.extend([
                Cmd::ip(&[
                    "-n", &ns, "rule", "add", "from", &addr, "table", &table, "pref", &table,
                ]),
                Cmd::ip(&[
                    "-n", &ns, "route", "add", &net, "dev", &nic, "src", &addr, "table", &table,
                ]),
            ]);
        }
    }
    step
}

/// The routing table (and rule preference) of a node's `k`-th NIC: what its address sends.
fn source_table(k: usize) -> String {
    (100 + k).to_string()
}

/// Rank `rank`'s NIC in its node's namespace: a veth to its switch port on its group's bridge,
/// shaped both ways, with its address.
fn nic_cmds(cmds: &mut Vec<Cmd>, names: &Names, spec: &FabricSpec, rank: usize) {
    let sw = names.fabric_ns();
    let mtu = spec.mtu.to_string();
    let (node, k) = spec.place(rank);
    let ns = names.node_ns(node);
    let nic = ifname::nic(k);
    let port = ifname::port(rank);
    let leaf = ifname::leaf(spec.group_of[rank]);
    let addr = format!("{}/{PREFIX_LEN}", node_addr(rank));
    cmds.extend([
        veth(&sw, &port, &nic, &mtu, Some(&ns)),
        Cmd::ip(&["-n", &sw, "link", "set", &port, "master", &leaf]),
    ]);
    if let Some(shape) = spec.link {
        cmds.push(shape.tc(&ns, &nic));
        cmds.push(shape.tc(&sw, &port));
    }
    cmds.extend([
        Cmd::ip(&["-n", &sw, "link", "set", &port, "up"]),
        Cmd::ip(&["-n", &ns, "addr", "add", &addr, "dev", &nic]),
        Cmd::ip(&["-n", &ns, "link", "set", &nic, "up"]),
    ]);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(nodes: usize, groups: usize) -> FabricSpec {
        FabricSpec {
            group_of: even_groups(nodes, groups),
            ranks_per_node: 1,
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
        for (ranks, groups, per_node) in [(3, 3, 1), (6, 3, 2)] {
            let names = Names::new("r3").unwrap();
            let mut s = spec(ranks, groups);
            s.ranks_per_node = per_node;
            let steps = plan(&names, &s);
            let ours = names.all_ns(ranks / per_node);
            let created: Vec<String> = steps.iter().filter_map(|s| s.creates.clone()).collect();
            assert_eq!(created, ours);
            for c in steps.iter().flat_map(|s| &s.cmds) {
                // Every command names one of the run's namespaces (`-n NS`, `netns add NS`,
                // `netns exec NS`).
                let target = if c.args[0] == "-n" {
                    &c.args[1]
                } else {
                    &c.args[2]
                };
                assert!(ours.contains(target), "{}", c.line());
                if let Some(i) = c.args.iter().position(|a| a == "netns") {
                    if c.args.get(i + 1).is_some_and(|a| a != "add" && a != "exec") {
                        assert!(ours.contains(&c.args[i + 1]), "{}", c.line());
                    }
                }
            }
        }
    }

    fn lines(steps: &[Step]) -> Vec<String> {
        steps.iter().flat_map(|s| &s.cmds).map(Cmd::line).collect()
    }

    /// One rank per node builds exactly what it always did: `eth0`, no sysctl, rules or routes.
    #[test]
    fn one_rank_per_node_is_one_nic_named_eth0() {
        let names = Names::new("r5").unwrap();
        let mut one = spec(2, 1);
        one.link = Some(Shape { rate_bps: 1e6 });
        let steps = plan(&names, &one);
        let n1 = names.node_ns(1);
        let sw = names.fabric_ns();
        let expect = [
            format!("ip netns add {n1}"),
            format!("ip -n {n1} link set lo up"),
            format!("ip -n {sw} link add n1 mtu 9000 type veth peer name eth0 mtu 9000 netns {n1}"),
            format!("ip -n {sw} link set n1 master br0"),
            format!(
                "tc -n {n1} qdisc add dev eth0 root tbf rate 1000000bit burst 65536 limit 71786"
            ),
            format!("tc -n {sw} qdisc add dev n1 root tbf rate 1000000bit burst 65536 limit 71786"),
            format!("ip -n {sw} link set n1 up"),
            format!("ip -n {n1} addr add 10.77.0.3/16 dev eth0"),
            format!("ip -n {n1} link set eth0 up"),
        ];
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[3].creates.as_deref(), Some(n1.as_str()));
        assert_eq!(lines(&steps[3..]), expect);
        let all = lines(&steps);
        assert!(!all.iter().any(|l| l.contains("eth1")
            || l.contains(" rule ")
            || l.contains(" route ")
            || l.contains("sysctl")));
    }

    /// Two ranks per node: two namespaces, each with a NIC per rank on the rank's own switch
    /// port, shaped at both ends, answering ARP and routing by source per NIC.
    #[test]
    fn several_ranks_per_node_get_a_nic_each_and_route_by_source() {
        let names = Names::new("r6").unwrap();
        let mut two = spec(4, 1);
        two.ranks_per_node = 2;
        assert_eq!((two.ranks(), two.nodes()), (4, 2));
        assert_eq!(two.place(3), (1, 1));
        let steps = plan(&names, &two);
        let created: Vec<String> = steps.iter().filter_map(|s| s.creates.clone()).collect();
        assert_eq!(created, names.all_ns(2));
        assert!(!created.contains(&names.node_ns(2)));
        // 4 NICs x 2 ends, each at the link rate.
        let tbf = tbf_devices(&steps);
        assert_eq!(tbf.len(), 8);
        for r in 0..4 {
            let (ns, nic) = (names.node_ns(r / 2), format!("eth{}", r % 2));
            assert!(tbf.contains(&(ns, nic, "500000000bit".into())), "{r}");
            assert!(tbf.contains(&(names.fabric_ns(), ifname::port(r), "500000000bit".into())));
        }
        for node in 0..2 {
            let ns = names.node_ns(node);
            let node_lines = lines(&steps[2 + node..3 + node]);
            let has = |l: String| assert!(node_lines.contains(&l), "{l} not in {node_lines:#?}");
            has(format!(
                "ip netns exec {ns} sysctl -q -w net.ipv4.conf.all.arp_ignore=1 \
                 net.ipv4.conf.all.arp_announce=2"
            ));
            for k in 0..2 {
                let r = 2 * node + k;
                let addr = node_addr(r);
                has(format!(
                    "ip -n {} link add n{r} mtu 9000 type veth peer name eth{k} mtu 9000 netns {ns}",
                    names.fabric_ns()
                ));
                has(format!("ip -n {ns} addr add {addr}/16 dev eth{k}"));
                has(format!("ip -n {ns} link set eth{k} up"));
                let t = 100 + k;
                has(format!(
                    "ip -n {ns} rule add from {addr} table {t} pref {t}"
                ));
                has(format!(
                    "ip -n {ns} route add 10.77.0.0/16 dev eth{k} src {addr} table {t}"
                ));
            }
            // One sysctl, two rules and two routes per node; the rules and routes after the
            // addresses they name exist.
            let count = |w: &str| node_lines.iter().filter(|l| l.contains(w)).count();
            assert_eq!(
                (count("sysctl"), count(" rule "), count(" route ")),
                (1, 2, 2)
            );
            let last_addr = node_lines
                .iter()
                .rposition(|l| l.contains(" addr add "))
                .unwrap();
            let first_rule = node_lines
                .iter()
                .position(|l| l.contains(" rule "))
                .unwrap();
            assert!(last_addr < first_rule);
        }
    }

    #[test]
    fn nics_of_a_node_in_two_groups_hang_off_their_ranks_leaves() {
        let names = Names::new("r7").unwrap();
        let mut s = spec(8, 2);
        s.ranks_per_node = 2;
        let all = lines(&plan(&names, &s));
        assert!(all.iter().any(|l| l.ends_with("link set n3 master br0")));
        assert!(all.iter().any(|l| l.ends_with("link set n4 master br1")));
        assert_eq!(
            all.iter().filter(|l| l.starts_with("ip netns add")).count(),
            2 + 4
        );
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
