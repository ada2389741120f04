//! What is all-reduced: a byte count over a group of ranks, or a model's gradients over its
//! data-parallel group.

use serde::{Deserialize, Serialize};

/// Element types of gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    Fp32,
    Fp16,
    Bf16,
    Fp8,
}

impl DType {
    pub const ALL: [DType; 4] = [DType::Fp32, DType::Fp16, DType::Bf16, DType::Fp8];

    pub fn bytes(self) -> u64 {
        match self {
            DType::Fp32 => 4,
            DType::Fp16 | DType::Bf16 => 2,
            DType::Fp8 => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::Fp32 => "fp32",
            DType::Fp16 => "fp16",
            DType::Bf16 => "bf16",
            DType::Fp8 => "fp8",
        }
    }

    pub fn parse(s: &str) -> Option<DType> {
        Self::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
    }
}

/// How the data-parallel group keeps its copy of the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sharding {
    /// Every data-parallel rank holds the whole shard: its gradients are all-reduced once a
    /// step (PyTorch DDP, Megatron's default).
    #[default]
    Ddp,
    /// ZeRO stage 3 / FSDP: parameters, gradients and optimizer state are split over the group;
    /// each step all-gathers the parameters twice (forward and backward) and reduce-scatters
    /// the gradients once (Rajbhandari et al., "ZeRO", SC 2020, section 7.2.2: 3x the data of
    /// an all-reduce's 2x).
    Zero3,
}

impl Sharding {
    pub fn parse(s: &str) -> Option<Sharding> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ddp" | "none" => Some(Sharding::Ddp),
            "zero3" | "zero-3" | "fsdp" => Some(Sharding::Zero3),
            _ => None,
        }
    }
}

/// A pipeline's activations: what adjacent stages send each other per micro-batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Micro-batches per step.
    pub micro_batches: usize,
    /// Tokens per micro-batch.
    pub micro_batch_tokens: u64,
    /// Hidden size (the activation's width).
    pub hidden: u64,
}

/// A model trained with tensor, pipeline and data parallelism. Each data-parallel rank holds
/// 1/(tp x pp) of the parameters and all-reduces their gradients with the `dp` ranks that hold
/// the same shard. Ranks are numbered tensor-parallel fastest, then pipeline, then data parallel
/// (as Llama 3 orders them), so the members of a data-parallel group are tp x pp GPUs apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelWorkload {
    /// Parameter count.
    pub params: f64,
    pub dtype: DType,
    pub tp: usize,
    pub pp: usize,
    pub dp: usize,
    #[serde(default)]
    pub sharding: Sharding,
    /// The pipeline's activations, where given (needs pp > 1); written inline, as the file has
    /// them.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
}

/// A mixture-of-experts model's token exchange: each MoE layer sends every token to its top-k
/// experts and back (dispatch and combine: two all-to-alls), in the forward and the backward
/// pass, over the expert-parallel group.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoeWorkload {
    /// Expert-parallel group size.
    pub ep: usize,
    /// MoE layers.
    pub layers: usize,
    /// Tokens each GPU routes per step.
    pub tokens_per_gpu: u64,
    pub hidden: u64,
    pub top_k: u64,
    pub dtype: DType,
}

impl ModelWorkload {
    /// Gradient bytes per data-parallel rank.
    pub fn bytes_per_rank(&self) -> u64 {
        let shard = self.params / (self.tp * self.pp) as f64;
        (shard * self.dtype.bytes() as f64).round() as u64
    }
}

/// Exactly one of `bytes` and `model` is set (checked when the file is read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Bytes per rank of one all-reduce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Ranks in the all-reduce with `bytes`; all GPUs when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranks: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelWorkload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe: Option<MoeWorkload>,
}

/// The all-reduce a workload asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadPoint {
    pub bytes: u64,
    pub ranks: usize,
    /// GPUs between consecutive members of the group (1: contiguous).
    pub rank_stride: usize,
    pub description: String,
}

impl Workload {
    /// The all-reduce on a cluster of `gpus` GPUs.
    pub fn point(&self, gpus: usize) -> WorkloadPoint {
        if let Some(m) = &self.model {
            return WorkloadPoint {
                bytes: m.bytes_per_rank(),
                ranks: m.dp,
                rank_stride: m.tp * m.pp,
                description: format!(
                    "gradients of a {:.0}B-parameter model in {} over its data-parallel group \
                     (tp {}, pp {}, dp {}): {} bytes per rank over {} ranks, {} GPUs apart{}",
                    m.params / 1e9,
                    m.dtype.name(),
                    m.tp,
                    m.pp,
                    m.dp,
                    m.bytes_per_rank(),
                    m.dp,
                    m.tp * m.pp,
                    match m.sharding {
                        Sharding::Ddp => "",
                        Sharding::Zero3 => {
                            " (priced as one all-reduce; sharded with ZeRO-3, the step \
                             reduce-scatters and all-gathers them instead: see its step)"
                        }
                    }
                ),
            };
        }
        let bytes = self.bytes.unwrap_or(0);
        let ranks = self.ranks.unwrap_or(gpus);
        WorkloadPoint {
            bytes,
            ranks,
            rank_stride: 1,
            description: format!("{bytes} bytes per rank over {ranks} contiguous ranks"),
        }
    }
}
