//! The alpha-beta-gamma parameters of a cost form, in microseconds.

use serde::{Deserialize, Serialize};
use topologies::CostTerms;

use crate::units::GB;

/// `time_us = alpha_us x latency_steps + beta_us_per_byte x bytes + gamma_us_per_byte x
/// reduced_bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostParams {
    /// Per-message latency, microseconds.
    pub alpha_us: f64,
    /// Per-byte time on a link, microseconds per byte.
    pub beta_us_per_byte: f64,
    /// Per-byte reduction time, microseconds per byte.
    pub gamma_us_per_byte: f64,
}

impl CostParams {
    pub fn time_us(&self, c: &CostTerms) -> f64 {
        self.alpha_us * c.latency_steps
            + self.beta_us_per_byte * c.bytes
            + self.gamma_us_per_byte * c.reduced_bytes
    }

    /// The link bandwidth that beta stands for, GB/s (infinite for beta = 0).
    pub fn link_gbps(&self) -> f64 {
        gbps_of(self.beta_us_per_byte)
    }

    pub fn as_array(&self) -> [f64; 3] {
        [self.alpha_us, self.beta_us_per_byte, self.gamma_us_per_byte]
    }

    pub fn from_array(a: [f64; 3]) -> Self {
        CostParams {
            alpha_us: a[0],
            beta_us_per_byte: a[1],
            gamma_us_per_byte: a[2],
        }
    }
}

/// GB/s of a per-byte time in microseconds.
pub fn gbps_of(us_per_byte: f64) -> f64 {
    if us_per_byte <= 0.0 {
        return f64::INFINITY;
    }
    1e6 / us_per_byte / GB
}

/// The coefficients of a cost form as an array, in the order of [`CostParams::as_array`].
pub fn terms_array(c: &CostTerms) -> [f64; 3] {
    [c.latency_steps, c.bytes, c.reduced_bytes]
}
