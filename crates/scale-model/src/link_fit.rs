//! A point-to-point link profile from a ping-pong sweep: one-way time = alpha + beta x bytes.
//!
//! The samples come from a run's ping-pong sweep (`collbench run --pingpong`) or, for runs
//! without one, from a proxy (2-rank recursive-doubling exchanges); [`LinkSource`] says which,
//! so every report can say what the profile rests on.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::fit::{residual_variance, Estimate};
use crate::measurement::PingPongSample;
use crate::nnls::nnls;
use crate::params::gbps_of;

/// Where a link profile's samples came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkSource {
    /// A ping-pong sweep: one-way time, half of each round trip.
    PingPong,
    /// 2-rank recursive-doubling all-reduces (both ranks send the whole buffer and reduce what
    /// arrives): an upper bound on a one-way message. The default: profiles saved before
    /// ping-pong sweeps existed were all of this kind.
    #[default]
    RdProxy,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkProfile {
    #[serde(default)]
    pub source: LinkSource,
    /// One-way latency of a message, microseconds.
    pub alpha_us: Estimate,
    /// Microseconds per byte.
    pub beta_us_per_byte: Estimate,
    /// 1 / beta in GB/s (1e9 bytes).
    pub bandwidth_gbps: f64,
    pub points: usize,
    pub rms_rel_error: f64,
    /// (bytes, measured one-way us, fitted us, relative error).
    pub residuals: Vec<(u64, f64, f64, f64)>,
}

impl LinkProfile {
    /// "ping-pong sweep, 9 points" or "proxy from 2-rank rd exchanges, 9 points".
    pub fn describe_source(&self) -> String {
        let what = match self.source {
            LinkSource::PingPong => "ping-pong sweep",
            LinkSource::RdProxy => "proxy from 2-rank rd exchanges",
        };
        format!("{what}, {} points", self.points)
    }
}

/// Fits alpha and beta by non-negative least squares on relative residuals; `source` says where
/// the samples came from.
pub fn fit_link(samples: &[PingPongSample], source: LinkSource) -> Result<LinkProfile, ModelError> {
    let usable: Vec<&PingPongSample> = samples
        .iter()
        .filter(|s| s.one_way_us.is_finite() && s.one_way_us > 0.0)
        .collect();
    if usable.len() < 2 {
        return Err(ModelError::TooFewPoints {
            what: "ping-pong link profile".to_string(),
            have: usable.len(),
            need: 2,
        });
    }
    let x: Vec<Vec<f64>> = usable
        .iter()
        .map(|s| vec![1.0 / s.one_way_us, s.bytes as f64 / s.one_way_us])
        .collect();
    let y = vec![1.0; usable.len()];
    let sol = nnls(&x, &y).ok_or_else(|| ModelError::FitFailed {
        what: "ping-pong link profile".to_string(),
        reason: "non-finite samples".to_string(),
    })?;
    let n = usable.len();
    let sigma2 = residual_variance(&sol, n);
    let est = |j: usize| Estimate::of(&sol, j, sigma2);
    let alpha = est(0);
    let beta = est(1);
    let residuals: Vec<(u64, f64, f64, f64)> = usable
        .iter()
        .map(|s| {
            let fitted = alpha.value + beta.value * s.bytes as f64;
            (
                s.bytes,
                s.one_way_us,
                fitted,
                (fitted - s.one_way_us) / s.one_way_us,
            )
        })
        .collect();
    let rms_rel_error = (residuals.iter().map(|r| r.3 * r.3).sum::<f64>() / n as f64).sqrt();
    Ok(LinkProfile {
        source,
        bandwidth_gbps: gbps_of(beta.value),
        alpha_us: alpha,
        beta_us_per_byte: beta,
        points: n,
        rms_rel_error,
        residuals,
    })
}
