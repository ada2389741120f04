//! Cluster scenarios: a target cluster's GPUs, links, switch tiers and workload, read from TOML.
//!
//! The file format is documented in `scenarios/README.md`. [`Scenario::parse`] reads a file's
//! text (the caller reads the file) and checks it; every error names the file, line and field.

mod check;
mod error;
mod raw;
mod topology;
pub mod training_step;
pub mod vary;
mod workload;

use serde::{Deserialize, Serialize};

use crate::noise_form::Noise;
use crate::stack::StackProfile;

pub use error::{line_col, ScenarioError};
pub use topology::Topology;
pub use workload::{
    DType, ModelWorkload, MoeWorkload, Pipeline, Sharding, Workload, WorkloadPoint,
};

/// A checked scenario. Field names are those of the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub cluster: Cluster,
    /// Absent only where nodes hold one GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intra_node: Option<IntraNode>,
    pub network: Network,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    /// The collective library's costs on this cluster (`[stack] profile = "nccl"`); absent: the
    /// lab's where a lab is given, else none.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "stack_table")]
    pub stack: Option<StackProfile>,
    /// The host noise of the target (`[noise] delay = "exp:20us"`, or `"exp:10%"` of each
    /// step's time): before each step's sends every rank waits a draw ([`crate::noise`]);
    /// absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "noise_table")]
    pub noise: Option<Noise>,
}

/// `noise` as the file writes it: a table `{ delay = "exp:20us" }`.
mod noise_table {
    use crate::noise_form::Noise;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Table {
        delay: String,
    }

    pub fn serialize<S: Serializer>(v: &Option<Noise>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|d| Table {
            delay: d.to_string(),
        })
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Noise>, D::Error> {
        Option::<Table>::deserialize(d)?
            .map(|t| t.delay.parse().map_err(D::Error::custom))
            .transpose()
    }
}

/// `stack` as the file writes it: a table `{ profile = "nccl" }`.
mod stack_table {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::stack::StackProfile;

    #[derive(Serialize, Deserialize)]
    struct Table {
        profile: StackProfile,
    }

    pub fn serialize<S: Serializer>(v: &Option<StackProfile>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|profile| Table { profile }).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StackProfile>, D::Error> {
        Ok(Option::<Table>::deserialize(d)?.map(|t| t.profile))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    pub gpus: usize,
    pub gpus_per_node: usize,
}

/// The scale-up domain inside a node (NVLink through NVSwitch on an H100 node).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntraNode {
    /// Per GPU, per direction, GB/s (1e9 bytes).
    pub bandwidth_gb_per_s: f64,
    /// One-way latency of a message between two GPUs of a node, microseconds.
    pub latency_us: f64,
    /// The node's switch reduces and multicasts (NVLink SHARP, NVLS: NVSwitch of the third
    /// generation, H100 and H200 HGX boards), so NCCL's `nvls` and `nvls-tree` run.
    #[serde(default)]
    pub in_switch_reduction: bool,
    /// How the node's GPUs connect (NVSwitch: a switch).
    #[serde(default, skip_serializing_if = "Topology::is_switch")]
    pub topology: Topology,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Per GPU (one NIC per GPU, rail-aligned), per direction, Gbit/s.
    pub nic_gbit_per_s: f64,
    /// One-way NIC-to-NIC latency of a message excluding switches, microseconds.
    pub latency_us: f64,
    /// The fabric's switches reduce in the network (SHARP on InfiniBand, NCCL's CollNet), so
    /// `collnet-direct`, `collnet-chain` and `nvls` across nodes run.
    #[serde(default)]
    pub in_switch_reduction: bool,
    /// Switch tiers from the lowest (top of rack) up; each spans more GPUs than the one below.
    #[serde(default)]
    pub tiers: Vec<Tier>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub name: String,
    /// GPUs under one switch group of this tier.
    pub gpus: usize,
    /// Down:up bandwidth ratio where groups of the tier below connect into this tier (1 = full
    /// bisection, 7 = Llama 3's 1:7 between pods).
    pub oversubscription: f64,
    /// Extra one-way latency of a message that has to cross this tier, microseconds.
    pub hop_latency_us: f64,
    /// How the tier connects the groups below it.
    #[serde(default, skip_serializing_if = "Topology::is_switch")]
    pub topology: Topology,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    /// Rate at which a GPU reduces incoming data into its buffer, GB/s of reduced bytes.
    pub reduce_gb_per_s: f64,
}

impl Scenario {
    /// Parses and checks a scenario file's `text`; `file` is only used in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let raw: raw::RawScenario =
            toml::from_str(text).map_err(|e| ScenarioError::syntax(file, text, &e))?;
        check::check(raw, &error::Locator { file, text })
    }

    /// The scenario as a TOML file (without comments).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# could not write the scenario: {e}\n"))
    }

    /// A lab of `nodes` single-GPU nodes on one non-blocking switch, links of `link_rate_bps`
    /// bits per second: what `collbench run --launcher netns` builds. `latency_us` is the link's
    /// one-way latency without software (0 where it is not known: the fitted alpha then holds it).
    pub fn lab(nodes: usize, link_rate_bps: f64, latency_us: f64) -> Scenario {
        Scenario {
            name: "lab".to_string(),
            description: Some(format!(
                "{nodes} single-GPU nodes on one switch, {} Mbit/s links",
                link_rate_bps / 1e6
            )),
            cluster: Cluster {
                gpus: nodes,
                gpus_per_node: 1,
            },
            intra_node: None,
            network: Network {
                nic_gbit_per_s: link_rate_bps / 1e9,
                latency_us,
                in_switch_reduction: false,
                tiers: vec![Tier {
                    name: "switch".to_string(),
                    gpus: nodes,
                    oversubscription: 1.0,
                    hop_latency_us: 0.0,
                    topology: Topology::Switch,
                }],
            },
            compute: None,
            workload: None,
            stack: None,
            noise: None,
        }
    }

    /// NIC bandwidth in bytes per second.
    pub fn nic_bytes_per_s(&self) -> f64 {
        self.network.nic_gbit_per_s * 1e9 / 8.0
    }

    /// One-way latency between GPUs whose lowest common tier is `tier` (index into
    /// `network.tiers`): NIC-to-NIC latency plus every tier's hop latency up to it.
    pub fn path_latency_us(&self, tier: usize) -> f64 {
        self.network.latency_us
            + self
                .network
                .tiers
                .iter()
                .take(tier + 1)
                .map(|t| t.hop_latency_us)
                .sum::<f64>()
    }

    /// Oversubscription seen by traffic that crosses `tier` from every GPU at once: the product
    /// of the ratios of the tiers up to it.
    pub fn cumulative_oversubscription(&self, tier: usize) -> f64 {
        self.network
            .tiers
            .iter()
            .take(tier + 1)
            .map(|t| t.oversubscription)
            .product::<f64>()
            .max(1.0)
    }

    /// The workload's all-reduce, if the scenario has one.
    pub fn workload_point(&self) -> Option<WorkloadPoint> {
        self.workload.as_ref().map(|w| w.point(self.cluster.gpus))
    }
}
