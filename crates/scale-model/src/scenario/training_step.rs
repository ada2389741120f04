//! What a training step communicates: every collective a scenario's workload runs per step,
//! with its buffer, its group and how many times.
//!
//! - Data parallelism, DDP: the gradients of a rank's model shard (params / (tp pp)) are
//!   all-reduced once over the dp ranks that hold the same shard (tp pp GPUs apart).
//! - ZeRO-3 / FSDP: the same buffer is reduce-scattered once (gradients) and all-gathered twice
//!   (parameters, before the forward and before the backward pass).
//! - Pipeline parallelism: adjacent stages (tp GPUs apart) send a micro-batch's activations
//!   forward and their gradients back: two sends per micro-batch, priced as send/recv between
//!   two ranks.
//! - Mixture of experts: every MoE layer sends each token to its top-k experts and back
//!   (dispatch and combine), in the forward and the backward pass: four all-to-alls per layer,
//!   each of tokens x hidden x top-k elements per rank, over the expert-parallel group.
//!
//! The times are what the communication costs on its own; how much of it a framework hides
//! behind computation is not modelled.

use topologies::Collective;

use super::workload::{Sharding, Workload};

/// One collective of a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Communication {
    pub collective: Collective,
    /// Bytes per rank, as nccl-tests sizes the collective (the whole buffer).
    pub bytes: u64,
    pub ranks: usize,
    /// GPUs between consecutive members of the group.
    pub rank_stride: usize,
    /// Times per step.
    pub calls: u64,
    /// What it carries, in words.
    pub what: &'static str,
}

/// Every collective a step of `w` runs on a cluster of `gpus` GPUs.
pub fn step_communication(w: &Workload, gpus: usize) -> Vec<Communication> {
    let mut out = Vec::new();
    if let Some(m) = &w.model {
        let (bytes, ranks, rank_stride) = (m.bytes_per_rank(), m.dp, m.tp * m.pp);
        match m.sharding {
            Sharding::Ddp => out.push(Communication {
                collective: Collective::AllReduce,
                bytes,
                ranks,
                rank_stride,
                calls: 1,
                what: "gradients (data parallel)",
            }),
            Sharding::Zero3 => {
                out.push(Communication {
                    collective: Collective::ReduceScatter,
                    bytes,
                    ranks,
                    rank_stride,
                    calls: 1,
                    what: "gradients (ZeRO-3)",
                });
                out.push(Communication {
                    collective: Collective::AllGather,
                    bytes,
                    ranks,
                    rank_stride,
                    calls: 2,
                    what: "parameters, forward and backward (ZeRO-3)",
                });
            }
        }
        if let (Some(p), true) = (&m.pipeline, m.pp > 1) {
            out.push(Communication {
                collective: Collective::SendRecv,
                bytes: p.micro_batch_tokens * p.hidden * m.dtype.bytes(),
                ranks: 2,
                rank_stride: m.tp,
                calls: 2 * p.micro_batches as u64,
                what: "activations and their gradients between pipeline stages",
            });
        }
    } else if let Some(bytes) = w.bytes {
        out.push(Communication {
            collective: Collective::AllReduce,
            bytes,
            ranks: w.ranks.unwrap_or(gpus),
            rank_stride: 1,
            calls: 1,
            what: "the workload's all-reduce",
        });
    }
    if let Some(e) = &w.moe {
        out.push(Communication {
            collective: Collective::AllToAll,
            bytes: e.tokens_per_gpu * e.hidden * e.top_k * e.dtype.bytes(),
            ranks: e.ep,
            rank_stride: w.model.as_ref().map_or(1, |m| m.tp),
            calls: 4 * e.layers as u64,
            what: "tokens to experts and back, forward and backward (MoE)",
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::workload::{DType, ModelWorkload, MoeWorkload, Pipeline};
    use super::*;
    use proptest::prelude::*;

    fn model(sharding: Sharding, pipeline: Option<Pipeline>) -> ModelWorkload {
        ModelWorkload {
            params: 405e9,
            dtype: DType::Bf16,
            tp: 8,
            pp: 16,
            dp: 1024,
            sharding,
            pipeline,
        }
    }

    proptest! {
        /// ZeRO-3 moves three times the gradient buffer per step where DDP's all-reduce moves
        /// it twice (the ring forms' bytes: 2(p-1)/p n against 3 (p-1)/p n).
        #[test]
        fn zero3_moves_one_and_a_half_times_ddp(params in 1e6f64..1e12, dp in 2usize..4096) {
            let mut m = model(Sharding::Ddp, None);
            m.params = params;
            m.dp = dp;
            let moved = |w: &Workload| -> f64 {
                step_communication(w, 1 << 20)
                    .iter()
                    .map(|c| {
                        let p = c.ranks as f64;
                        let per_call = match c.collective {
                            Collective::AllReduce => 2.0 * (p - 1.0) / p,
                            _ => (p - 1.0) / p,
                        };
                        per_call * c.bytes as f64 * c.calls as f64
                    })
                    .sum()
            };
            let ddp = Workload { bytes: None, ranks: None, model: Some(m.clone()), moe: None };
            m.sharding = Sharding::Zero3;
            let zero = Workload { bytes: None, ranks: None, model: Some(m), moe: None };
            prop_assert!((moved(&zero) / moved(&ddp) - 1.5).abs() < 1e-9);
        }
    }

    #[test]
    fn a_step_lists_every_collective_with_its_buffer_and_group() {
        let w = Workload {
            bytes: None,
            ranks: None,
            model: Some(model(
                Sharding::Zero3,
                Some(Pipeline {
                    micro_batches: 16,
                    micro_batch_tokens: 8192,
                    hidden: 16384,
                }),
            )),
            moe: Some(MoeWorkload {
                ep: 64,
                layers: 24,
                tokens_per_gpu: 8192,
                hidden: 5120,
                top_k: 1,
                dtype: DType::Bf16,
            }),
        };
        let s = step_communication(&w, 131_072);
        let shard = (405e9 / 128.0 * 2.0_f64).round() as u64;
        let got: Vec<(Collective, u64, usize, usize, u64)> = s
            .iter()
            .map(|c| (c.collective, c.bytes, c.ranks, c.rank_stride, c.calls))
            .collect();
        assert_eq!(
            got,
            [
                (Collective::ReduceScatter, shard, 1024, 128, 1),
                (Collective::AllGather, shard, 1024, 128, 2),
                (Collective::SendRecv, 8192 * 16384 * 2, 2, 8, 32),
                (Collective::AllToAll, 8192 * 5120 * 2, 64, 8, 96),
            ]
        );
    }
}
