//! Names and addresses of everything a netns run creates.
//!
//! Every namespace is named `cb-<run id>-<role>`, so what a run made can be told apart from
//! anything else on the machine and traced back to its run. Interfaces live only inside those
//! namespaces, so their names are short and fixed (`eth<k>` for the k-th NIC of a node, `n<rank>`
//! for a switch port); nothing is created in the root namespace.

use std::net::Ipv4Addr;

/// Prefix of every namespace collbench creates.
pub const PREFIX: &str = "cb-";
/// Where a run records who owns it (`/run/collbench/<run id>/owner`).
pub const STATE_DIR: &str = "/run/collbench";
/// Prefix length of the fabric's private subnet, 10.77.0.0/16.
pub const PREFIX_LEN: u8 = 16;
/// The fabric's private subnet (with [`PREFIX_LEN`]).
pub const NETWORK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 0);
/// The coordinator's address on the fabric.
pub const COORDINATOR_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 255, 254);
/// The most ranks one fabric gives addresses to (and one bridge takes ports for).
pub const MAX_NODES: usize = 1000;

/// The names of one run's namespaces and interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    run_id: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("run id '{0}' cannot name a namespace (letters, digits and '-' only, at most 64)")]
pub struct BadRunId(pub String);

impl Names {
    pub fn new(run_id: &str) -> Result<Names, BadRunId> {
        let ok = !run_id.is_empty()
            && run_id.len() <= 64
            && run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok {
            Ok(Names {
                run_id: run_id.to_string(),
            })
        } else {
            Err(BadRunId(run_id.to_string()))
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    fn ns(&self, role: &str) -> String {
        format!("{PREFIX}{}-{role}", self.run_id)
    }

    /// The namespace holding the switch: every bridge and the switch side of every link.
    pub fn fabric_ns(&self) -> String {
        self.ns("sw")
    }

    /// The namespace the coordinator's control socket lives in.
    pub fn coordinator_ns(&self) -> String {
        self.ns("co")
    }

    /// The namespace of node `node` (with one rank per node, the rank's; with G, ranks
    /// `node*G..node*G+G` share it).
    pub fn node_ns(&self, node: usize) -> String {
        self.ns(&format!("n{node}"))
    }

    /// Every namespace of a run with `nodes` nodes, the fabric's first.
    pub fn all_ns(&self, nodes: usize) -> Vec<String> {
        let mut v = vec![self.fabric_ns(), self.coordinator_ns()];
        v.extend((0..nodes).map(|n| self.node_ns(n)));
        v
    }

    pub fn state_dir(&self) -> std::path::PathBuf {
        std::path::Path::new(STATE_DIR).join(&self.run_id)
    }
}

/// The run id a namespace name belongs to, when collbench named it.
pub fn run_id_of(ns: &str) -> Option<&str> {
    let rest = ns.strip_prefix(PREFIX)?;
    let (id, role) = rest.rsplit_once('-')?;
    let role_ok = role == "sw"
        || role == "co"
        || role
            .strip_prefix('n')
            .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()));
    (role_ok && Names::new(id).is_ok()).then_some(id)
}

/// Interface names inside the namespaces (at most 15 characters each).
pub mod ifname {
    /// The coordinator's end of its link.
    pub const COORDINATOR: &str = "eth0";
    /// The switch side of the coordinator's link.
    pub const COORDINATOR_PORT: &str = "co";
    /// The spine bridge of a two-level fabric.
    pub const SPINE: &str = "spine";

    /// A node's `k`-th NIC, its end of rank `node*G + k`'s link, in the node's namespace
    /// (`eth0` when a node has one rank).
    pub fn nic(k: usize) -> String {
        format!("eth{k}")
    }

    /// The switch port of a rank's link.
    pub fn port(rank: usize) -> String {
        format!("n{rank}")
    }

    /// The bridge of group `g` (the only bridge of a one-level fabric is `br0`).
    pub fn leaf(g: usize) -> String {
        format!("br{g}")
    }

    /// The leaf end of group `g`'s uplink (its egress is the group's traffic to the spine).
    pub fn uplink(g: usize) -> String {
        format!("up{g}")
    }

    /// The spine end of group `g`'s uplink (its egress is the spine's traffic to the group).
    pub fn downlink(g: usize) -> String {
        format!("dn{g}")
    }
}

/// A rank's address (its NIC's): 10.77.x.y inside the fabric only.
pub fn node_addr(rank: usize) -> Ipv4Addr {
    let n = rank + 1;
    Ipv4Addr::new(10, 77, (n / 250) as u8, (n % 250) as u8 + 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_carry_the_run_id_and_parse_back() {
        let n = Names::new("20261129-034438-ab12").unwrap();
        assert_eq!(n.node_ns(7), "cb-20261129-034438-ab12-n7");
        for ns in n.all_ns(3) {
            assert_eq!(run_id_of(&ns), Some("20261129-034438-ab12"), "{ns}");
        }
        assert_eq!(run_id_of("cb-x-nope"), None);
        assert_eq!(run_id_of("pr_h1"), None);
        assert_eq!(run_id_of("cb--sw"), None);
        assert!(Names::new("a/b").is_err());
        assert!(Names::new("").is_err());
    }

    #[test]
    fn interface_names_fit_and_addresses_are_distinct() {
        for r in [0, 9, 999] {
            assert!(ifname::port(r).len() <= 15);
            assert!(ifname::leaf(r).len() <= 15 && ifname::uplink(r).len() <= 15);
        }
        let addrs: std::collections::BTreeSet<_> = (0..MAX_NODES).map(node_addr).collect();
        assert_eq!(addrs.len(), MAX_NODES);
        assert!(!addrs.contains(&COORDINATOR_ADDR));
        assert!(addrs
            .iter()
            .all(|a| a.octets()[..2] == [10, 77] && a.octets()[3] != 0));
        assert_eq!(node_addr(0), Ipv4Addr::new(10, 77, 0, 2));
    }
}
