//! ASTRA-sim 2.x analytical network backend config (YAML).
//!
//! One dimension per level the group crosses (inside a node, then each switch tier), with
//! `topology`, `npus_count`, `bandwidth` and `latency` lists. Each dimension's topology is its
//! level's ([`Topology`](crate::scenario::Topology): the scenario's `intra_node` or tier
//! `topology`, Switch by default). ASTRA-sim prices a message as hops x latency + bytes /
//! bandwidth, with bandwidth in "GB/s" meaning 2^30 bytes per second and latency in ns
//! (astra-network-analytical, `BasicTopology::compute_communication_delay`,
//! `bw_GBps_to_Bpns`). A Switch dimension counts two hops (up to the switch and down), so the
//! one-way latency is written halved; a FullyConnected one counts one hop, and a Ring one hop
//! between neighbours, so the one-way latency is written as it is (a Ring's latency is then its
//! neighbours'). Bandwidth is per NPU, with the lab's efficiency and the level's
//! oversubscription applied.
//!
//! Written with the `yaml-rust2` emitter, under comment lines saying where each dimension's
//! numbers came from.

use serde::{Deserialize, Serialize};

use crate::predict::{levels, Carried, Mode};
use crate::scenario::Scenario;
use crate::stack::StackProfile;
use crate::units::{bytes_per_s, GIB};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AstraNetwork {
    pub topology: Vec<String>,
    pub npus_count: Vec<usize>,
    /// 2^30 bytes per second.
    pub bandwidth: Vec<f64>,
    /// Nanoseconds per hop.
    pub latency: Vec<f64>,
    /// Comment lines written above the config.
    pub comments: Vec<String>,
}

/// The network of a group of `ranks` ranks `stride` GPUs apart on `scenario`, priced with the
/// carried parameters of `carried` (normally ring's) and, in target mode, the target's `stack`:
/// ASTRA-sim takes one latency per dimension, so a stack with protocols gives each dimension its
/// Simple protocol's step (the protocol of the large messages training moves).
pub fn astra_network(
    scenario: &Scenario,
    ranks: usize,
    stride: usize,
    carried: &Carried,
    mode: Mode,
    stack: StackProfile,
) -> AstraNetwork {
    let lv = levels(scenario, ranks, stride);
    let protocol = stack.protocols().iter().find(|p| p.name == "Simple");
    let multi_node = lv.iter().any(|l| l.name != "node");
    let mut net = AstraNetwork {
        topology: Vec::new(),
        npus_count: Vec::new(),
        bandwidth: Vec::new(),
        latency: Vec::new(),
        comments: vec![
            format!(
                "ASTRA-sim analytical network config written by collbench: scenario '{}', {} \
                 ranks{}, {:?} mode, parameters of {}",
                scenario.name,
                ranks,
                if stride > 1 {
                    format!(" {stride} GPUs apart")
                } else {
                    String::new()
                },
                mode,
                carried.algorithm
            ),
            "bandwidth: GB/s as ASTRA-sim counts them (2^30 bytes/s) per NPU, link efficiency \
             and oversubscription applied"
                .to_string(),
            "latency: ns per hop as ASTRA-sim counts hops: a Switch message takes 2 (the \
             one-way latency halved), a FullyConnected message 1 and a Ring message 1 between \
             neighbours (the one-way latency as it is)"
                .to_string(),
        ],
    };
    if mode == Mode::Target {
        net.comments.push(format!(
            "stack {stack}{}",
            if protocol.is_some() {
                ": latency per dimension is its Simple protocol's step, bandwidth its share"
            } else {
                ""
            }
        ));
    }
    for level in &lv {
        let link = carried.link_with(level, mode, protocol, multi_node);
        let rate = bytes_per_s(link.beta_us_per_byte) / level.oversubscription.max(1.0);
        let hops = level.topology.astra_hops();
        net.topology.push(level.topology.astra_name().to_string());
        net.npus_count.push(level.size);
        net.bandwidth.push(round3(rate / GIB));
        // The one-way latency over the hops ASTRA-sim counts for the kind.
        let per_hop_ns = link.alpha_us * 1000.0 / f64::from(hops);
        net.latency.push(round3(per_hop_ns));
        net.comments.push(format!(
            "dimension {}: {}, {} ({} members, {:.3} GB/s after efficiency {:.3}, \
             oversubscription {}, one-way {:.3} us over {hops} hop{})",
            net.topology.len() - 1,
            level.name,
            level.topology.astra_name(),
            level.size,
            rate / 1e9,
            carried.efficiency,
            level.oversubscription,
            link.alpha_us,
            if hops == 1 { "" } else { "s" }
        ));
    }
    let product: usize = net.npus_count.iter().product();
    if product != ranks {
        net.comments.push(format!(
            "npus_count multiplies to {product}, not {ranks}: a level's fan-out was rounded up"
        ));
    }
    net
}

impl AstraNetwork {
    /// The config as YAML (the `yaml-rust2` emitter), under its comment lines.
    pub fn to_yaml(&self) -> String {
        use yaml_rust2::yaml::{Hash, Yaml};
        let list = |v: Vec<Yaml>| Yaml::Array(v);
        let reals = |v: &[f64]| list(v.iter().map(|x| Yaml::Real(fmt_num(*x))).collect());
        let mut doc = Hash::new();
        let mut put = |key: &str, value: Yaml| doc.insert(Yaml::String(key.into()), value);
        put(
            "topology",
            list(self.topology.iter().cloned().map(Yaml::String).collect()),
        );
        put(
            "npus_count",
            list(
                self.npus_count
                    .iter()
                    .map(|&n| Yaml::Integer(i64::try_from(n).unwrap_or(i64::MAX)))
                    .collect(),
            ),
        );
        put("bandwidth", reals(&self.bandwidth));
        put("latency", reals(&self.latency));
        let mut s: String = self
            .comments
            .iter()
            .map(|c| format!("# {}\n", c.replace(['\n', '\r'], " ")))
            .collect();
        let mut body = String::new();
        // Writing into a String cannot fail.
        let _ = yaml_rust2::YamlEmitter::new(&mut body).dump(&Yaml::Hash(doc));
        s.push_str(&body);
        s.push('\n');
        s
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A float as YAML reads it back as a float (always with a decimal point).
pub(crate) fn fmt_num(x: f64) -> String {
    if x.is_finite() && x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}
