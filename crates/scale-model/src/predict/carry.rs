//! What carries over from the lab to another cluster, per algorithm.
//!
//! - efficiency: the link rate the fit's beta stands for, over the lab's configured link rate
//!   (how much of a link the implementation gets);
//! - per-message overhead: the fitted alpha less the lab's wire latency (software and protocol
//!   cost of a message);
//! - reduction: the fitted gamma, unless the scenario gives a reduction rate.
//!
//! In [`Mode::Lab`](super::Mode::Lab) every level simply uses the fitted parameters; in
//! [`Mode::Target`](super::Mode::Target) a level's alpha is the overhead plus the level's
//! latency and its beta is 1 / (efficiency x the level's link rate).

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, Case, Collective};

use super::levels::Level;
use super::Mode;
use crate::fit::AlgorithmFit;
use crate::params::CostParams;
use crate::regime::SizeRange;
use crate::scenario::Scenario;
use crate::stack::{Family, Protocol};
use crate::units::us_per_byte;

/// Where an algorithm's parameters came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CarrySource {
    /// Fitted on the lab's measurements.
    #[default]
    Lab,
    /// Not measured: the scenario's hardware alone (links at their full rate, no per-message
    /// software cost, the scenario's reduction rate or none).
    Hardware,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// The collective the parameters price (all-reduce unless a lab fitted another).
    #[serde(default)]
    pub collective: Collective,
    pub algorithm: Algorithm,
    /// Fitted on the lab, or the hardware alone.
    #[serde(default)]
    pub source: CarrySource,
    /// The buffer sizes the fit prices (one side of a regime split, or every size).
    #[serde(default, skip_serializing_if = "SizeRange::is_all")]
    pub sizes: SizeRange,
    /// The fitted parameters.
    pub fitted: CostParams,
    /// Fraction of the lab's link rate the fitted beta stands for.
    pub efficiency: f64,
    /// Per-message cost carried to the target, microseconds.
    pub overhead_us: f64,
    /// Reduction cost used on the target, microseconds per byte.
    pub gamma_us_per_byte: f64,
    /// The lab link rate the efficiency is relative to, bits/s, where known.
    pub lab_link_rate_bps: Option<f64>,
}

/// A level's parameters for one algorithm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelLink {
    pub alpha_us: f64,
    /// Per byte at the level's full (efficiency-scaled) rate, before oversubscription.
    pub beta_us_per_byte: f64,
    pub gamma_us_per_byte: f64,
}

/// What the lab was, for the carry-over.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LabReference {
    /// Configured link rate, bits per second.
    pub link_rate_bps: Option<f64>,
    /// One-way wire latency between two lab nodes without software, microseconds.
    pub latency_us: f64,
}

impl LabReference {
    /// From a lab scenario (its NIC rate and the latency across its top tier).
    pub fn from_scenario(lab: &Scenario) -> Self {
        let top = lab.network.tiers.len().saturating_sub(1);
        LabReference {
            link_rate_bps: Some(lab.network.nic_gbit_per_s * 1e9),
            latency_us: lab.path_latency_us(top),
        }
    }
}

/// The per-message software cost a lab alpha of `alpha_us` carries to a target: the alpha less
/// the lab's wire latency, or the user's `overhead_override`.
pub fn overhead_us(alpha_us: f64, lab: &LabReference, overhead_override: Option<f64>) -> f64 {
    overhead_override.unwrap_or((alpha_us - lab.latency_us).max(0.0))
}

impl Carried {
    /// `overhead_override` replaces the carried per-message overhead; `reduce_gb_per_s` the
    /// fitted gamma. Notes on anything assumed go to `notes`.
    pub fn new(
        fit: &AlgorithmFit,
        lab: &LabReference,
        overhead_override: Option<f64>,
        reduce_gb_per_s: Option<f64>,
        notes: &mut Vec<String>,
    ) -> Carried {
        let fitted = fit.params();
        let lab_rate = fit.link_rate_bps.or(lab.link_rate_bps);
        let efficiency = match lab_rate {
            Some(rate) if fitted.beta_us_per_byte > 0.0 => {
                let lab_beta = us_per_byte(rate / 8.0);
                let measured = lab_beta / fitted.beta_us_per_byte;
                // Faster than the lab's link is not a property of the algorithm that a target
                // can inherit: on an emulated link it is the shaper's bucket letting a burst
                // through at memory speed (a schedule whose links idle half the time rides it
                // every iteration); elsewhere a link rate recorded too low.
                if measured > 1.0 {
                    notes.push(format!(
                        "{}: fitted bandwidth is {measured:.2}x the lab's link rate, which no \
                         link delivers (a shaper's burst, or a wrong --link-rate); efficiency \
                         capped at 1",
                        fit.label()
                    ));
                }
                measured.min(1.0)
            }
            Some(_) => {
                notes.push(format!(
                    "{}: the fit has beta = 0 (no bandwidth cost seen); efficiency taken as 1",
                    fit.label()
                ));
                1.0
            }
            None => {
                notes.push(format!(
                    "{}: the lab's link rate is unknown; the target's links are assumed to run at \
                     their full rate (efficiency 1)",
                    fit.label()
                ));
                1.0
            }
        };
        let overhead_us = overhead_us(fitted.alpha_us, lab, overhead_override);
        let gamma_us_per_byte = reduce_gb_per_s
            .map(|r| us_per_byte(r * 1e9))
            .unwrap_or(fitted.gamma_us_per_byte);
        Carried {
            collective: fit.collective,
            algorithm: fit.algorithm,
            source: CarrySource::Lab,
            sizes: fit.sizes,
            fitted,
            efficiency,
            overhead_us,
            gamma_us_per_byte,
            lab_link_rate_bps: lab_rate,
        }
    }

    /// An algorithm no lab measured, priced from the hardware alone: every level's links at
    /// their full rate and latency, no per-message software overhead, reductions at
    /// `reduce_gb_per_s` (none without it). Only [`Mode::Target`](super::Mode::Target) prices it.
    pub fn hardware(algorithm: Algorithm, reduce_gb_per_s: Option<f64>) -> Carried {
        Carried::hardware_case(Case::all_reduce(algorithm), reduce_gb_per_s)
    }

    /// [`Carried::hardware`] for any collective's algorithm.
    pub fn hardware_case(case: Case, reduce_gb_per_s: Option<f64>) -> Carried {
        Carried {
            collective: case.collective,
            algorithm: case.algorithm,
            source: CarrySource::Hardware,
            sizes: SizeRange::ALL,
            fitted: CostParams::default(),
            efficiency: 1.0,
            overhead_us: 0.0,
            gamma_us_per_byte: reduce_gb_per_s.map_or(0.0, |r| us_per_byte(r * 1e9)),
            lab_link_rate_bps: None,
        }
    }

    /// The case's name, with the sizes it prices where it is one side of a regime split.
    pub fn label(&self) -> String {
        self.sizes.label(self.case())
    }

    /// The collective and algorithm these parameters price.
    pub fn case(&self) -> Case {
        Case {
            collective: self.collective,
            algorithm: self.algorithm,
        }
    }

    /// Whether these are an all-reduce's parameters (what the strategies price).
    pub fn is_all_reduce(&self) -> bool {
        self.collective == Collective::AllReduce
    }

    /// One parameter set for every size from an algorithm's regimes, for tools that take one
    /// (ASTRA-sim's network): the per-message cost of its smallest sizes, where latency is
    /// what they measure, and the per-byte costs of its largest, where bandwidth is. `None`
    /// where `carried` has no all-reduce fit for `algorithm`.
    pub fn across_regimes(carried: &[Carried], algorithm: Algorithm) -> Option<Carried> {
        let mut mine = carried
            .iter()
            .filter(|c| c.algorithm == algorithm && c.is_all_reduce());
        let smallest = mine.next()?;
        let largest = mine.next_back().unwrap_or(smallest);
        Some(Carried {
            sizes: SizeRange::ALL,
            fitted: CostParams {
                alpha_us: smallest.fitted.alpha_us,
                ..largest.fitted
            },
            overhead_us: smallest.overhead_us,
            ..largest.clone()
        })
    }

    /// The link parameters at `level` in `mode`, with a stack's `protocol` applied in target
    /// mode: its step latency for the level's kind of link (NVLink inside a node, the network
    /// across; `multi_node`: the group spans nodes) and its share of the link's rate.
    pub fn link_with(
        &self,
        level: &Level,
        mode: Mode,
        protocol: Option<&Protocol>,
        multi_node: bool,
    ) -> LevelLink {
        self.link_in(
            Family::of(self.algorithm),
            level,
            mode,
            protocol,
            multi_node,
        )
    }

    /// [`Carried::link_with`] with the protocol's numbers of `family` (an in-switch reduction
    /// priced on ring's links, for one).
    pub fn link_in(
        &self,
        family: Family,
        level: &Level,
        mode: Mode,
        protocol: Option<&Protocol>,
        multi_node: bool,
    ) -> LevelLink {
        let mut l = self.link(level, mode);
        if let (Some(p), Mode::Target) = (protocol, mode) {
            let nvlink = level.name == "node";
            l.alpha_us = self.overhead_us + p.step(family, nvlink, multi_node, level.latency_us);
            l.beta_us_per_byte /= p.bandwidth_factor(family, nvlink);
        }
        l
    }

    /// The link parameters at `level` in `mode`.
    pub fn link(&self, level: &Level, mode: Mode) -> LevelLink {
        match mode {
            Mode::Lab => LevelLink {
                alpha_us: self.fitted.alpha_us,
                beta_us_per_byte: self.fitted.beta_us_per_byte,
                gamma_us_per_byte: self.fitted.gamma_us_per_byte,
            },
            Mode::Target => LevelLink {
                alpha_us: self.overhead_us + level.latency_us,
                beta_us_per_byte: us_per_byte(self.efficiency * level.bytes_per_s),
                gamma_us_per_byte: self.gamma_us_per_byte,
            },
        }
    }
}
