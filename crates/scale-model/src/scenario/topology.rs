//! How the members of one level connect: through a switch, in a ring, or each to each. Only the
//! ASTRA-sim export reads it (one dimension's `topology`); the prediction prices a message across
//! a level at the level's latency whatever the kind.
//!
//! The kinds and their hop counts are ASTRA-sim 2.x's analytical backend's
//! (astra-sim/astra-network-analytical, `common/network-parser/NetworkParser.cpp`
//! `parse_topology_name` accepts exactly `Ring`, `FullyConnected` and `Switch`;
//! `congestion_unaware/basic-topology/*.cpp` `compute_hops_count`): a Switch message takes 2
//! hops (source, switch, destination), a FullyConnected one 1, a Ring one the shorter way round
//! (rings are bidirectional by default), 1 between neighbours. A message costs hops x the
//! dimension's latency plus bytes / bandwidth (`BasicTopology::compute_communication_delay`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// Every member on one switch (NVSwitch, a top-of-rack or spine layer).
    #[default]
    Switch,
    /// A bidirectional ring: each member linked to its two neighbours.
    Ring,
    /// A direct link between every pair of members.
    FullyConnected,
}

impl Topology {
    pub const ALL: [Topology; 3] = [Topology::Switch, Topology::Ring, Topology::FullyConnected];

    /// The name a scenario file writes.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Switch => "switch",
            Topology::Ring => "ring",
            Topology::FullyConnected => "fully_connected",
        }
    }

    /// The name ASTRA-sim's network config writes.
    pub fn astra_name(self) -> &'static str {
        match self {
            Topology::Switch => "Switch",
            Topology::Ring => "Ring",
            Topology::FullyConnected => "FullyConnected",
        }
    }

    /// Hops ASTRA-sim counts for a message between neighbours of the dimension, each priced
    /// at the dimension's latency.
    pub fn astra_hops(self) -> u32 {
        match self {
            Topology::Switch => 2,
            Topology::Ring | Topology::FullyConnected => 1,
        }
    }

    /// Either spelling (`fully_connected` or ASTRA-sim's `FullyConnected`), any case.
    pub fn parse(s: &str) -> Option<Topology> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s) || t.astra_name().eq_ignore_ascii_case(s))
    }

    pub fn is_switch(&self) -> bool {
        *self == Topology::Switch
    }
}

#[cfg(test)]
mod tests {
    use super::Topology;

    #[test]
    fn both_spellings_in_any_case() {
        for t in Topology::ALL {
            assert_eq!(Topology::parse(t.name()), Some(t));
            assert_eq!(Topology::parse(t.astra_name()), Some(t));
            assert_eq!(Topology::parse(&t.name().to_uppercase()), Some(t));
        }
        assert_eq!(
            Topology::parse(" fullyconnected "),
            Some(Topology::FullyConnected)
        );
        assert_eq!(Topology::parse("torus"), None);
        assert_eq!(Topology::parse(""), None);
    }
}
