//! Hierarchical all-reduce: a [two-level](crate::two_level) all-reduce with a choice of
//! algorithm at each level.
//!
//! Groups are `group_size` consecutive ranks (the GPUs of one node, when ranks are numbered
//! node by node). Inside a group the buffer is reduce-scattered and at the end all-gathered with
//! the inner algorithm (`ring`, or `rhd`'s halving and doubling); across groups each rank
//! all-reduces its 1/g shard with the ranks of the same index in the other groups, with the
//! outer algorithm (`ring`, `tree`, `dbtree`, `rhd` or `rd`).
//!
//! Defaults: inner and outer `ring`; group size the largest divisor of p not above sqrt(p)
//! ([`default_group_size`]), the most nearly square split that keeps at least as many groups as
//! ranks per group. Set it to the GPUs per node to model a real cluster. A group size that is
//! zero or does not divide p is rejected; group size 1 (every prime p by default) leaves only the
//! outer all-reduce, and group size p only the inner one.

use crate::algorithm::{Algorithm, AlgorithmError, BuildOptions};
use crate::cost::CostTerms;
use crate::factor::square_divisor;
use crate::scatter_gather::ScatterGather;
use crate::schedule::Schedule;
use crate::two_level::compose;
use crate::{rhd, ring};

/// The group size used when none is given: the largest divisor of p with d x d <= p.
pub fn default_group_size(nranks: usize) -> usize {
    square_divisor(nranks).max(1)
}

/// The group size to use for `nranks` ranks, checked.
pub fn group_size(nranks: usize, opts: &BuildOptions) -> Result<usize, AlgorithmError> {
    let g = opts
        .group_size
        .unwrap_or_else(|| default_group_size(nranks));
    if g == 0 || !nranks.is_multiple_of(g) {
        return Err(AlgorithmError::Shape {
            algorithm: Algorithm::Hier,
            nranks,
            reason: format!(
                "group size {g} does not divide the ranks into whole groups; \
                 use a divisor of {nranks}"
            ),
        });
    }
    Ok(g)
}

/// Checks the inner and outer algorithms of `opts`.
pub fn check_levels(opts: &BuildOptions) -> Result<(), AlgorithmError> {
    if !matches!(opts.hier_inner, Algorithm::Ring | Algorithm::Rhd) {
        return Err(AlgorithmError::Unsupported {
            algorithm: Algorithm::Hier,
            option: "inner algorithm",
            reason: format!("'{}' is not one of: ring, rhd", opts.hier_inner),
        });
    }
    if matches!(opts.hier_outer, Algorithm::Hier | Algorithm::Torus2d) {
        return Err(AlgorithmError::Unsupported {
            algorithm: Algorithm::Hier,
            option: "outer algorithm",
            reason: format!(
                "'{}' is not one of: ring, tree, dbtree, rhd, rd",
                opts.hier_outer
            ),
        });
    }
    Ok(())
}

fn inner(algorithm: Algorithm, group: usize, count: usize) -> ScatterGather {
    match algorithm {
        Algorithm::Rhd => rhd::scatter_gather(group, count),
        _ => ring::scatter_gather(group, count),
    }
}

pub fn schedule(
    nranks: usize,
    count: usize,
    elem_size: usize,
    opts: &BuildOptions,
) -> Result<Schedule, AlgorithmError> {
    check_levels(opts)?;
    let g = group_size(nranks, opts)?;
    let sg = inner(opts.hier_inner, g, count);
    compose(nranks, count, g, &sg, |ranks, len| {
        opts.hier_outer.build(ranks, len, elem_size, opts)
    })
}

/// Inner reduce-scatter + outer all-reduce of the largest shard + inner all-gather. With ring
/// inside, this is the rail-aligned form 2(g-1) alpha + 2((g-1)/g) n beta + ((g-1)/g) n gamma
/// + T_outer(p/g, n/g).
pub fn cost(nranks: usize, bytes: f64, opts: &BuildOptions) -> Result<CostTerms, AlgorithmError> {
    check_levels(opts)?;
    let g = group_size(nranks, opts)?;
    let (rs, ag, shard) = match opts.hier_inner {
        Algorithm::Rhd => (
            rhd::reduce_scatter_cost(g, bytes),
            rhd::all_gather_cost(g, bytes),
            rhd::shard_bytes(g, bytes),
        ),
        _ => (
            ring::reduce_scatter_cost(g, bytes),
            ring::all_gather_cost(g, bytes),
            bytes / g as f64,
        ),
    };
    let across = opts.hier_outer.try_cost(nranks / g, shard, opts)?;
    let nodes = opts.groups_are_nodes;
    Ok(inside_groups(rs, nodes)
        .plus(across)
        .plus(inside_groups(ag, nodes)))
}

/// A phase inside groups: where the groups are nodes (`groups_are_nodes`), its messages and
/// reductions cost what they do and its bytes cross no network link; otherwise it is `c`.
pub fn inside_groups(c: CostTerms, groups_are_nodes: bool) -> CostTerms {
    if groups_are_nodes {
        CostTerms { bytes: 0.0, ..c }
    } else {
        c
    }
}
