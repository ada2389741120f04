//! The fabric's flags: `--link-rate`, `--mtu`, and the emulated cluster's groups and uplinks
//! (`--groups`, `--uplink-rate`, a topology file's racks).

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
    Ok(FabricFlags {
        link_rate_bps,
        mtu: a.mtu,
        netns_groups,
        netns_uplink_bps,
    })
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
}
