//! SimAI's busbw table (the analytical mode's `busbw.yaml`).
//!
//! The file's first line is a name; then one section per parallel group (`TP`, `DP`, `EP`, and
//! `PP` with a single `busbw`), each collective as `name,: value` and `null` where unknown.
//! SimAI divides bytes by 2^30 before dividing by these numbers, so they are written in GiB/s
//! (2^30 bytes per second), converted from nccl-tests' GB/s.
//!
//! Written by hand, on purpose: despite its name the file is not YAML (`name,: value` lines, a
//! first line that is skipped) but SimAI's own format, which no YAML library writes.

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, Collective};

use super::astra::fmt_num;
use crate::error::ModelError;
use crate::predict::{predict, PredictInput, PredictOptions, Prediction};
use crate::units::{bytes_per_s, GB, GIB};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimaiBusbw {
    pub name: String,
    /// GiB/s per collective of the tensor-parallel group: allreduce, allgather, reducescatter,
    /// alltoall.
    pub tp: [Option<f64>; 4],
    pub dp: [Option<f64>; 4],
    pub ep: [Option<f64>; 4],
    /// Point-to-point busbw between pipeline stages, GiB/s.
    pub pp: Option<f64>,
    /// What each number is.
    pub comments: Vec<String>,
}

/// The group sizes and sizes to tabulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimaiGroups {
    /// Tensor-parallel ranks (contiguous, normally inside a node) and the bytes to price them at.
    pub tp_ranks: usize,
    pub tp_bytes: u64,
    /// Data-parallel ranks, their spacing in GPUs, and the gradient bytes per rank.
    pub dp_ranks: usize,
    pub dp_stride: usize,
    pub dp_bytes: u64,
    /// The expert-parallel group (ranks, spacing in GPUs, bytes per rank of one all-to-all),
    /// where the workload has experts.
    pub ep: Option<(usize, usize, u64)>,
}

/// The collectives after all-reduce in each section, in the file's order.
const OPS: [Collective; 3] = [
    Collective::AllGather,
    Collective::ReduceScatter,
    Collective::AllToAll,
];

/// Fills the table from predictions: TP's and DP's all-reduce with the fastest strategy at
/// their group (inside a node with NVLink SHARP, NVLS), PP with the inter-node link at ring's efficiency.
/// All-gather, reduce-scatter and all-to-all come from their own predictions (each collective's
/// fastest algorithm, flat over the group, with the group's spacing; its nccl-tests bus
/// factor); one with no price (lab mode without a fit of it) is null. EP's, where the groups
/// give one (a workload with experts), as DP's at the expert-parallel group and its all-to-all's
/// bytes; null without.
pub fn simai_busbw(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
    groups: &SimaiGroups,
) -> Result<SimaiBusbw, ModelError> {
    let tp_opts = PredictOptions {
        collectives: vec![Collective::AllReduce],
        rank_stride: 1,
        ..opts.clone()
    };
    let tp = predict(input, &[groups.tp_ranks], &[groups.tp_bytes], &tp_opts)?;
    let tp_best = tp.best.first();
    let tp_bw = tp_best.map(|b| gib(b.bus_bw));
    let dp_opts = PredictOptions {
        collectives: vec![Collective::AllReduce],
        rank_stride: groups.dp_stride,
        ..opts.clone()
    };
    let dp = predict(input, &[groups.dp_ranks], &[groups.dp_bytes], &dp_opts)?;
    let dp_best = dp.best.first();
    let dp_bw = dp_best.map(|b| gib(b.bus_bw));
    let pp = tp
        .carried
        .iter()
        // The largest sizes' fit where ring has regimes: a pipeline stage sends activations.
        .rfind(|c| c.algorithm == Algorithm::Ring && c.is_all_reduce())
        .map(|c| match opts.mode {
            crate::predict::Mode::Lab => bytes_per_s(c.fitted.beta_us_per_byte) / GIB,
            crate::predict::Mode::Target => c.efficiency * input.scenario.nic_bytes_per_s() / GIB,
        });
    let mut comments = vec![
        format!(
            "SimAI busbw table written by collbench from scenario '{}' ({:?} mode); GiB/s \
             (2^30 bytes/s), as SimAI reads them",
            input.scenario.name, opts.mode
        ),
        format!(
            "TP: {} over {} contiguous ranks at {} bytes (the fastest strategy)",
            tp_best.map_or("-", |b| b.algorithm.as_str()),
            groups.tp_ranks,
            groups.tp_bytes
        ),
    ];
    if let Some(b) = dp_best {
        comments.push(format!(
            "DP: {} over {} ranks {} GPUs apart at {} bytes (the fastest strategy)",
            b.algorithm, groups.dp_ranks, groups.dp_stride, groups.dp_bytes
        ));
    }
    let ops_of = |base: &PredictOptions, ranks: usize, bytes: u64| {
        let o = PredictOptions {
            collectives: OPS.to_vec(),
            ..base.clone()
        };
        predict(input, &[ranks], &[bytes], &o)
    };
    let tp_ops = ops_of(&tp_opts, groups.tp_ranks, groups.tp_bytes)?;
    let dp_ops = ops_of(&dp_opts, groups.dp_ranks, groups.dp_bytes)?;
    let [tp_ag, tp_rs, tp_a2a] = OPS.map(|c| fastest(&tp_ops, c));
    let [dp_ag, dp_rs, dp_a2a] = OPS.map(|c| fastest(&dp_ops, c));
    for (group, p) in [("TP", &tp_ops), ("DP", &dp_ops)] {
        let found: Vec<String> = OPS
            .iter()
            .map(|&c| match p.best.iter().find(|b| b.collective == c) {
                Some(b) => format!("{c} by {}", b.algorithm),
                None => format!("{c}: no price (null)"),
            })
            .collect();
        comments.push(format!(
            "{group} allgather, reducescatter, alltoall: each collective's own prediction, its \
             fastest algorithm flat over the group ({})",
            found.join(", ")
        ));
    }
    let ep = match groups.ep {
        Some((ranks, stride, bytes)) => {
            let ep_opts = PredictOptions {
                rank_stride: stride,
                ..dp_opts.clone()
            };
            let ar = predict(input, &[ranks], &[bytes], &ep_opts)?;
            let ops = ops_of(&ep_opts, ranks, bytes)?;
            let [ag, rs, a2a] = OPS.map(|c| fastest(&ops, c));
            comments.push(format!(
                "EP: {ranks} ranks {stride} GPUs apart at {bytes} bytes (the workload's \
                 all-to-all), each collective by its fastest algorithm"
            ));
            [ar.best.first().map(|b| gib(b.bus_bw)), ag, rs, a2a]
        }
        None => {
            comments.push("EP: no experts in the workload (null)".to_string());
            [None; 4]
        }
    };
    Ok(SimaiBusbw {
        name: input.scenario.name.clone(),
        tp: [tp_bw, tp_ag, tp_rs, tp_a2a],
        dp: [dp_bw, dp_ag, dp_rs, dp_a2a],
        ep,
        pp,
        comments,
    })
}

/// The busbw of the collective's fastest algorithm in `p`, GiB/s.
fn fastest(p: &Prediction, collective: Collective) -> Option<f64> {
    p.best
        .iter()
        .find(|b| b.collective == collective)
        .map(|b| gib(b.bus_bw))
}

fn gib(gbps: f64) -> f64 {
    (gbps * GB / GIB * 1000.0).round() / 1000.0
}

impl SimaiBusbw {
    pub fn to_yaml(&self) -> String {
        // SimAI skips the first line, then reads `section:` lines and `key,: value` lines; a line
        // starting with '#' is skipped.
        let mut s = format!("{}\n", self.name.replace(['\n', '\r'], " "));
        for c in &self.comments {
            s.push_str(&format!("# {c}\n"));
        }
        let value = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "null".to_string());
        for (section, vals) in [("TP", &self.tp), ("DP", &self.dp), ("EP", &self.ep)] {
            s.push_str(&format!("{section}:\n"));
            for (name, v) in ["allreduce", "allgather", "reducescatter", "alltoall"]
                .iter()
                .zip(vals.iter())
            {
                s.push_str(&format!("{name},: {}\n", value(*v)));
            }
        }
        s.push_str(&format!("PP:\nbusbw: {}\n", value(self.pp)));
        s
    }
}
