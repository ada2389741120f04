//! The fabric's flags: `--link-rate`, `--mtu`, and the emulated cluster's groups, uplinks and
//! nodes (`--groups`, `--uplink-rate`, a topology file's racks, `--ranks-per-node`).

use super::kinds::{bad, LauncherKind, OptionError};
use crate::cli::RunArgs;
use crate::launcher::netns::fabric::even_groups;
use crate::topology_file::Topology;

/// The fabric as the flags describe it, checked.
pub struct FabricFlags {
    pub link_rate_bps: Option<f64>,
    pub mtu: Option<u32>,
    /// netns: the group (leaf switch) of each rank, when the fabric has groups.
    pub netns_groups: Option<Vec<usize>>,
    /// netns: the configured uplink rate of each group, bits per second.
    pub netns_uplink_bps: Option<f64>,
    /// netns: consecutive ranks per emulated node, each with a NIC of its own (1 elsewhere).
    pub ranks_per_node: usize,
}

pub fn fabric_of(
    a: &RunArgs,
    launcher: LauncherKind,
    nranks: usize,
    topology: Option<&Topology>,
) -> Result<FabricFlags, OptionError> {
    let link_rate_bps = a.link_rate;
    if let Some(mtu) = a.mtu {
        let max = transport::tls::MAX_MTU;
        if !(1280..=max).contains(&mtu) {
            return Err(bad("--mtu", format!("{mtu} is outside 1280..{max} bytes")));
        }
    }
    let (netns_groups, netns_uplink_bps) = groups(a, launcher, nranks, topology)?;
    let ranks_per_node = ranks_per_node(a, launcher, nranks, netns_groups.as_deref())?;
    Ok(FabricFlags {
        link_rate_bps,
        mtu: a.mtu,
        netns_groups,
        netns_uplink_bps,
        ranks_per_node,
    })
}

/// `--ranks-per-node`: nodes of G consecutive ranks, which must make whole nodes and not straddle
/// two groups.
fn ranks_per_node(
    a: &RunArgs,
    launcher: LauncherKind,
    nranks: usize,
    group_of: Option<&[usize]>,
) -> Result<usize, OptionError> {
    const FLAG: &str = "--ranks-per-node";
    let g = a.ranks_per_node.unwrap_or(1);
    if g == 0 {
        return Err(bad(FLAG, "0 ranks per node; at least 1 is needed"));
    }
    if g == 1 {
        return Ok(1);
    }
    if launcher != LauncherKind::Netns {
        return Err(bad(
            FLAG,
            format!(
                "{g}: only the netns launcher builds nodes with several NICs; add --launcher netns"
            ),
        ));
    }
    if !nranks.is_multiple_of(g) {
        return Err(bad(
            FLAG,
            format!(
                "{g} does not divide the {nranks} ranks (--np) into whole nodes; use a divisor of {nranks}"
            ),
        ));
    }
    if let Some(group_of) = group_of {
        for (node, ranks) in group_of.chunks(g).enumerate() {
            let first = ranks[0];
            if let Some(&other) = ranks.iter().find(|&&x| x != first) {
                let by = if a.groups.is_some() {
                    "--groups"
                } else {
                    "the racks of --topology"
                };
                let r0 = node * g;
                return Err(bad(
                    FLAG,
                    format!(
                        "node {node} (ranks {r0}..={}) would be split across groups {first} and {other} of {by}; \
                         groups must hold whole nodes of {g} ranks",
                        r0 + g - 1
                    ),
                ));
            }
        }
    }
    Ok(g)
}

/// `--groups`, `--uplink-rate` and a topology file's racks: the group of each rank, and the
/// uplink rate.
#[allow(clippy::type_complexity)]
fn groups(
    a: &RunArgs,
    launcher: LauncherKind,
    nranks: usize,
    topology: Option<&Topology>,
) -> Result<(Option<Vec<usize>>, Option<f64>), OptionError> {
    let netns = launcher == LauncherKind::Netns;
    let uplink = a.uplink_rate;
    let groups = match a.groups {
        Some(_) if !netns => {
            return Err(bad(
                "--groups",
                "only the netns launcher builds groups; add --launcher netns",
            ))
        }
        Some(g) if g == 0 || g > nranks => {
            return Err(bad(
                "--groups",
                format!("{g} is outside 1..={nranks} (the rank count)"),
            ))
        }
        Some(g) => Some(even_groups(nranks, g)),
        None if netns => topology.and_then(rack_groups),
        None => None,
    };
    // tc's tbf takes whole bits per second; below 1 kbit/s nothing useful moves.
    if netns {
        let link = a.link_rate;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args::{args, refused};

    fn of(line: &str, launcher: LauncherKind) -> Result<FabricFlags, OptionError> {
        fabric_of(&args(line), launcher, 4, None)
    }

    #[test]
    fn rates_and_mtu_parse_and_stay_in_range() {
        let f = of("--link-rate 500mbit --mtu 1500", LauncherKind::Local).ok();
        assert_eq!(f.as_ref().and_then(|f| f.link_rate_bps), Some(500e6));
        assert_eq!(refused(of("--mtu 100", LauncherKind::Local)).0, "--mtu");
        assert_eq!(refused(of("--mtu 65000", LauncherKind::Local)).0, "--mtu");
        assert_eq!(
            refused(of("--link-rate 500bit", LauncherKind::Netns)).0,
            "--link-rate"
        );
    }

    #[test]
    fn groups_and_uplinks_are_the_emulated_clusters_and_need_two_groups() {
        let f = of("--groups 2 --uplink-rate 1gbit", LauncherKind::Netns).ok();
        assert_eq!(f.and_then(|f| f.netns_groups), Some(vec![0, 0, 1, 1]));
        assert_eq!(refused(of("--groups 2", LauncherKind::Local)).0, "--groups");
        assert_eq!(refused(of("--groups 5", LauncherKind::Netns)).0, "--groups");
        assert_eq!(
            refused(of("--uplink-rate 1gbit", LauncherKind::Local)).0,
            "--uplink-rate"
        );
        let (flag, why) = refused(of("--uplink-rate 1gbit", LauncherKind::Netns));
        assert_eq!(flag, "--uplink-rate");
        assert!(why.contains("2 or more groups"), "{why}");
    }

    #[test]
    fn ranks_per_node_makes_whole_nodes_of_the_netns_fabric_inside_whole_groups() {
        let rpn = |line: &str, launcher| of(line, launcher).map(|f| f.ranks_per_node);
        assert_eq!(rpn("", LauncherKind::Netns), Ok(1));
        assert_eq!(rpn("", LauncherKind::Local), Ok(1));
        assert_eq!(rpn("--ranks-per-node 1", LauncherKind::Local), Ok(1));
        assert_eq!(rpn("--ranks-per-node 2", LauncherKind::Netns), Ok(2));
        assert_eq!(rpn("--ranks-per-node 4", LauncherKind::Netns), Ok(4));
        assert_eq!(
            rpn("--ranks-per-node 2 --groups 2", LauncherKind::Netns),
            Ok(2)
        );
        let (flag, why) = refused(rpn("--ranks-per-node 0", LauncherKind::Netns));
        assert_eq!(flag, "--ranks-per-node");
        assert!(why.contains("at least 1"), "{why}");
        let (flag, why) = refused(rpn("--ranks-per-node 3", LauncherKind::Netns));
        assert_eq!(flag, "--ranks-per-node");
        assert!(why.contains("3 does not divide the 4 ranks"), "{why}");
        let (flag, why) = refused(rpn("--ranks-per-node 2", LauncherKind::Local));
        assert_eq!(flag, "--ranks-per-node");
        assert!(why.contains("--launcher netns"), "{why}");
        // 4 groups of one rank would split every node of two.
        let (flag, why) = refused(rpn("--ranks-per-node 2 --groups 4", LauncherKind::Netns));
        assert_eq!(flag, "--ranks-per-node");
        assert!(
            why.contains("node 0 (ranks 0..=1) would be split across groups 0 and 1 of --groups"),
            "{why}"
        );
        // Racks of a topology file: two hosts of one rank each per rack, 2 racks.
        let racks = |group_of: Vec<usize>| {
            let a = args("--ranks-per-node 2");
            ranks_per_node(&a, LauncherKind::Netns, group_of.len(), Some(&group_of))
        };
        assert_eq!(racks(vec![0, 0, 1, 1]), Ok(2));
        let (_, why) = refused(racks(vec![0, 1, 1, 1]));
        assert!(why.contains("of the racks of --topology"), "{why}");
    }
}
