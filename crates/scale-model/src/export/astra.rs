//! ASTRA-sim 2.x analytical network backend config (YAML).
//!
//! One dimension per level the group crosses (inside a node, then each switch tier), with
//! `topology`, `npus_count`, `bandwidth` and `latency` lists. ASTRA-sim prices a message as
//! hops x latency + bytes / bandwidth, with bandwidth in "GB/s" meaning 2^30 bytes per second
//! and latency in ns; a Switch dimension counts two hops (up to the switch and down), so the
//! one-way latency is written halved. Bandwidth is per NPU, with the lab's efficiency and the
//! level's oversubscription applied.
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
            "latency: ns per hop; every dimension is a Switch (2 hops), so the one-way latency \
             is halved"
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
        net.topology.push("Switch".to_string());
        net.npus_count.push(level.size);
        net.bandwidth.push(round3(rate / GIB));
        net.latency.push(round3(link.alpha_us * 1000.0 / 2.0));
        net.comments.push(format!(
            "dimension {}: {} ({} members, {:.3} GB/s after efficiency {:.3}, oversubscription \
             {}, one-way {:.3} us)",
            net.topology.len() - 1,
            level.name,
            level.size,
            rate / 1e9,
            carried.efficiency,
            level.oversubscription,
            link.alpha_us
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
