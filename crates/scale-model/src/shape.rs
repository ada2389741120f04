//! The shape a run gave `hier` and `torus2d`: group size, levels, grid. A measured point carries
//! it, so the fit and the validation price the point with the cost form of the schedule that
//! ran, not the default shape for its rank count. Points from runs that recorded none take the
//! defaults (what those runs used unless told otherwise).

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, BuildOptions};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// `hier` and `rail`: ranks per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_size: Option<usize>,
    /// `hier`: the algorithm inside groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hier_inner: Option<Algorithm>,
    /// `hier`: the algorithm across groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hier_outer: Option<Algorithm>,
    /// `torus2d`: (X, Y).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<(usize, usize)>,
    /// `hier` and `rail`: whether each group's ranks shared a host and no two groups did (the
    /// groups were nodes: hops inside them did not cross the network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_are_nodes: Option<bool>,
}

impl Shape {
    /// Nothing recorded.
    pub fn is_default(&self) -> bool {
        *self == Shape::default()
    }

    /// `base` with what was recorded in place of its shape.
    pub fn apply(&self, base: &BuildOptions) -> BuildOptions {
        BuildOptions {
            group_size: self.group_size.or(base.group_size),
            hier_inner: self.hier_inner.unwrap_or(base.hier_inner),
            hier_outer: self.hier_outer.unwrap_or(base.hier_outer),
            grid: self.grid.or(base.grid),
            groups_are_nodes: self.groups_are_nodes.unwrap_or(base.groups_are_nodes),
            ..*base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_recorded_replaces_the_defaults_and_nothing_else() {
        let base = BuildOptions {
            segment_bytes: 4096,
            ..BuildOptions::default()
        };
        assert_eq!(Shape::default().apply(&base), base);
        let s = Shape {
            group_size: Some(4),
            hier_outer: Some(Algorithm::Rhd),
            ..Shape::default()
        };
        let b = s.apply(&base);
        assert_eq!(b.group_size, Some(4));
        assert_eq!(b.hier_outer, Algorithm::Rhd);
        assert_eq!(b.hier_inner, Algorithm::Ring);
        assert_eq!(b.grid, None);
        assert_eq!(b.segment_bytes, 4096);
        // The group size changes hier's cost: at 16 ranks 2 groups of 8 take 14 + 2 ring
        // steps; the default, 4 groups of 4, 6 + 6.
        let g8 = Shape {
            group_size: Some(8),
            ..Shape::default()
        };
        let steps = |b: &BuildOptions| Algorithm::Hier.cost(16, 1e6, b).latency_steps;
        assert_eq!((steps(&g8.apply(&base)), steps(&base)), (16.0, 12.0));
        assert!(!s.is_default() && Shape::default().is_default());
        // Groups recorded as nodes take hier's inner bytes off the network.
        let nodes = Shape {
            groups_are_nodes: Some(true),
            ..g8
        };
        assert!(nodes.apply(&base).groups_are_nodes && !g8.apply(&base).groups_are_nodes);
        let bytes = |b: &BuildOptions| Algorithm::Hier.cost(16, 1e6, b).bytes;
        assert!(bytes(&nodes.apply(&base)) < bytes(&g8.apply(&base)));
    }
}
