//! What the model is fitted on: one measured all-reduce per algorithm, rank count and size, and
//! ping-pong samples for a point-to-point link profile. The CLI builds these from results files.

use serde::{Deserialize, Serialize};
use topologies::Algorithm;

/// One measured (algorithm, ranks, size) point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub algorithm: Algorithm,
    pub nranks: usize,
    /// Bytes per rank.
    pub bytes: u64,
    /// Mean over iterations of the slowest rank's time, in microseconds.
    pub time_us: f64,
    /// The configured link rate in bits per second, where the run knew it.
    pub link_rate_bps: Option<f64>,
    /// Per-rank, per-iteration times in microseconds (for example decoded from the run's HDR
    /// histogram); empty where the run kept none. Used by the straggler estimator.
    #[serde(default)]
    pub samples_us: Vec<f64>,
}

impl Measurement {
    /// A point without latency samples.
    pub fn new(algorithm: Algorithm, nranks: usize, bytes: u64, time_us: f64) -> Self {
        Measurement {
            algorithm,
            nranks,
            bytes,
            time_us,
            link_rate_bps: None,
            samples_us: Vec::new(),
        }
    }
}

/// One ping-pong point: a message of `bytes` bytes and its one-way time (half the round trip).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PingPongSample {
    pub bytes: u64,
    pub one_way_us: f64,
}
