//! The scenario file as written, every value with its position in the file, so that the checks
//! in [`check`](super::check) can name the line of a bad value. Unknown fields are rejected here.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub cluster: Spanned<RawCluster>,
    #[serde(default)]
    pub intra_node: Option<Spanned<RawIntraNode>>,
    pub network: Spanned<RawNetwork>,
    #[serde(default)]
    pub compute: Option<RawCompute>,
    #[serde(default)]
    pub workload: Option<Spanned<RawWorkload>>,
    #[serde(default)]
    pub stack: Option<RawStack>,
    #[serde(default)]
    pub noise: Option<RawNoise>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNoise {
    pub delay: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    pub profile: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub gpus: Spanned<i64>,
    pub gpus_per_node: Spanned<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntraNode {
    pub bandwidth_gb_per_s: Spanned<f64>,
    pub latency_us: Spanned<f64>,
    #[serde(default)]
    pub in_switch_reduction: bool,
    #[serde(default)]
    pub topology: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub nic_gbit_per_s: Spanned<f64>,
    pub latency_us: Spanned<f64>,
    #[serde(default)]
    pub in_switch_reduction: bool,
    #[serde(default)]
    pub tiers: Vec<Spanned<RawTier>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    pub name: Spanned<String>,
    pub gpus: Spanned<i64>,
    pub oversubscription: Spanned<f64>,
    pub hop_latency_us: Spanned<f64>,
    #[serde(default)]
    pub topology: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCompute {
    pub reduce_gb_per_s: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    #[serde(default)]
    pub bytes: Option<Spanned<RawBytes>>,
    #[serde(default)]
    pub ranks: Option<Spanned<i64>>,
    #[serde(default)]
    pub model: Option<Spanned<RawModel>>,
    #[serde(default)]
    pub moe: Option<Spanned<RawMoe>>,
}

/// `[workload.moe]`: a mixture-of-experts model's token exchange.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMoe {
    pub ep: Spanned<i64>,
    pub layers: Spanned<i64>,
    pub tokens_per_gpu: Spanned<i64>,
    pub hidden: Spanned<i64>,
    pub top_k: Spanned<i64>,
    pub dtype: Spanned<String>,
}

/// A byte count: an integer, or a string with a K/M/G/T suffix.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawBytes {
    Int(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub params: Spanned<f64>,
    pub dtype: Spanned<String>,
    pub tp: Spanned<i64>,
    pub pp: Spanned<i64>,
    pub dp: Spanned<i64>,
    #[serde(default)]
    pub sharding: Option<Spanned<String>>,
    #[serde(default)]
    pub micro_batches: Option<Spanned<i64>>,
    #[serde(default)]
    pub micro_batch_tokens: Option<Spanned<i64>>,
    #[serde(default)]
    pub hidden: Option<Spanned<i64>>,
}
