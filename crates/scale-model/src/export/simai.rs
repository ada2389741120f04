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
use crate::row::BestRow;
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

/// The collectives of each section, in the file's order.
const SECTION: [Collective; 4] = [
    Collective::AllReduce,
    Collective::AllGather,
    Collective::ReduceScatter,
    Collective::AllToAll,
];

/// Fills the table from predictions: each section's (TP, DP and, where the groups give one, EP:
/// a workload with experts) all-reduce by the fastest strategy at its group (inside a node with
/// NVLink SHARP, NVLS) and its all-gather, reduce-scatter and all-to-all each by its fastest
/// algorithm, flat over the group, with the group's spacing (their nccl-tests bus factor); one
/// with no price (lab mode without a fit of it) is null, and so is EP without experts. PP is
/// the inter-node link at ring's efficiency.
pub fn simai_busbw(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
    groups: &SimaiGroups,
) -> Result<SimaiBusbw, ModelError> {
    let section = |ranks: usize, stride: usize, bytes: u64| {
        let o = PredictOptions {
            collectives: SECTION.to_vec(),
            rank_stride: stride,
            ..opts.clone()
        };
        predict(input, &[ranks], &[bytes], &o)
    };
    let tp = section(groups.tp_ranks, 1, groups.tp_bytes)?;
    let dp = section(groups.dp_ranks, groups.dp_stride, groups.dp_bytes)?;
    let ep = match groups.ep {
        Some((ranks, stride, bytes)) => {
            Some((section(ranks, stride, bytes)?, ranks, stride, bytes))
        }
        None => None,
    };
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
            best_of(&tp, Collective::AllReduce).map_or("-", |b| b.algorithm.as_str()),
            groups.tp_ranks,
            groups.tp_bytes
        ),
    ];
    if let Some(b) = best_of(&dp, Collective::AllReduce) {
        comments.push(format!(
            "DP: {} over {} ranks {} GPUs apart at {} bytes (the fastest strategy)",
            b.algorithm, groups.dp_ranks, groups.dp_stride, groups.dp_bytes
        ));
    }
    for (group, p) in [("TP", &tp), ("DP", &dp)] {
        let found: Vec<String> = SECTION[1..]
            .iter()
            .map(|&c| match best_of(p, c) {
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
    comments.push(match &ep {
        Some((_, ranks, stride, bytes)) => format!(
            "EP: {ranks} ranks {stride} GPUs apart at {bytes} bytes (the workload's \
             all-to-all), each collective by its fastest algorithm"
        ),
        None => "EP: no experts in the workload (null)".to_string(),
    });
    let values = |p: &Prediction| SECTION.map(|c| best_of(p, c).map(|b| gib(b.bus_bw)));
    Ok(SimaiBusbw {
        name: input.scenario.name.clone(),
        tp: values(&tp),
        dp: values(&dp),
        ep: ep.map_or([None; 4], |(p, ..)| values(&p)),
        pp,
        comments,
    })
}

/// The collective's fastest row in `p`.
fn best_of(p: &Prediction, collective: Collective) -> Option<&BestRow> {
    p.best.iter().find(|b| b.collective == collective)
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
