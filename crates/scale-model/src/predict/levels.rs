//! The levels an all-reduce group of p ranks crosses on a scenario's cluster: inside a node, then
//! each switch tier, each level with its fan-out, link rate, latency and oversubscription.

use serde::{Deserialize, Serialize};

use crate::scenario::{Scenario, Topology};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// `node`, or the tier's name.
    pub name: String,
    /// Members of one group of this level per group of the level below (the fan-out).
    pub size: usize,
    /// Members in one group of this level (the product of the fan-outs up to it).
    pub span: usize,
    /// Per-GPU link rate used at this level, bytes per second.
    pub bytes_per_s: f64,
    /// One-way latency of a message that crosses this level, microseconds.
    pub latency_us: f64,
    /// Oversubscription seen when every member sends across this level at once (1 inside a
    /// node; the product of the tiers' ratios up to this one).
    pub oversubscription: f64,
    /// Whether the level lies beyond the scenario's GPUs (its top tier extended).
    pub extended: bool,
    /// How the level's members connect: the scenario's `intra_node` or tier `topology` (an
    /// extended top tier keeps its tier's); a switch on a network without tiers.
    #[serde(default, skip_serializing_if = "Topology::is_switch")]
    pub topology: Topology,
}

/// The levels of a group of `ranks` members placed `stride` GPUs apart (1: contiguous ranks,
/// tp x pp for a data-parallel group). Levels with a single member are left out; one rank has no
/// levels. Fan-outs that do not divide are rounded up, so the span of the top level is at least
/// `ranks`.
pub fn levels(scenario: &Scenario, ranks: usize, stride: usize) -> Vec<Level> {
    let stride = stride.max(1);
    let members = |gpus: usize| (gpus / stride).max(1).min(ranks);
    let mut out = Vec::new();
    let mut span = 1usize;

    let node = members(scenario.cluster.gpus_per_node);
    if node > 1 {
        let (bw, lat, topology) = scenario
            .intra_node
            .as_ref()
            .map(|i| (i.bandwidth_gb_per_s * 1e9, i.latency_us, i.topology))
            .unwrap_or((
                scenario.nic_bytes_per_s(),
                scenario.network.latency_us,
                Topology::Switch,
            ));
        out.push(Level {
            name: "node".to_string(),
            size: node,
            span: node,
            bytes_per_s: bw,
            latency_us: lat,
            oversubscription: 1.0,
            extended: false,
            topology,
        });
        span = node;
    }
    let nic = scenario.nic_bytes_per_s();
    for (i, tier) in scenario.network.tiers.iter().enumerate() {
        let m = members(tier.gpus);
        if m <= span {
            continue;
        }
        let size = m.div_ceil(span);
        span *= size;
        out.push(Level {
            name: tier.name.clone(),
            size,
            span,
            bytes_per_s: nic,
            latency_us: scenario.path_latency_us(i),
            oversubscription: scenario.cumulative_oversubscription(i),
            extended: false,
            topology: tier.topology,
        });
    }
    if span < ranks {
        let top = scenario.network.tiers.len().saturating_sub(1);
        let (name, latency_us, oversubscription, topology) = match scenario.network.tiers.last() {
            Some(t) => (
                format!("{} (extended)", t.name),
                scenario.path_latency_us(top),
                scenario.cumulative_oversubscription(top),
                t.topology,
            ),
            None => (
                "network (extended)".to_string(),
                scenario.network.latency_us,
                1.0,
                Topology::Switch,
            ),
        };
        let size = ranks.div_ceil(span);
        span *= size;
        // A previous level of the same tier: fold into it rather than add a second one.
        match out.last_mut() {
            Some(last) if !scenario.network.tiers.is_empty() && last.name == top_name(scenario) => {
                last.size *= size;
                last.span = span;
                last.extended = true;
            }
            _ => out.push(Level {
                name,
                size,
                span,
                bytes_per_s: nic,
                latency_us,
                oversubscription,
                extended: true,
                topology,
            }),
        }
    }
    out
}

fn top_name(scenario: &Scenario) -> &str {
    scenario
        .network
        .tiers
        .last()
        .map(|t| t.name.as_str())
        .unwrap_or("")
}
