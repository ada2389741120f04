//! Output rows: what `collbench model predict` and `validate` write to JSON and tables.

use serde::{Deserialize, Serialize};

use topologies::Collective;

use crate::units::{alg_bw_gbps, bus_bw_gbps};

/// The parts of a predicted time, microseconds. They add up to the row's `time_us`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TermBreakdown {
    /// alpha x latency steps: per-message costs.
    pub latency_us: f64,
    /// Bytes at the links' full (efficiency-scaled) rate.
    pub bandwidth_us: f64,
    /// gamma x reduced bytes.
    pub reduction_us: f64,
    /// Extra time of bytes that cross oversubscribed tiers.
    pub oversubscription_us: f64,
    /// Expected slowest-of-p delay beyond what the fit holds.
    pub straggler_us: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    Latency,
    Bandwidth,
    Reduction,
    Oversubscription,
    Stragglers,
}

impl Term {
    pub const ALL: [Term; 5] = [
        Term::Latency,
        Term::Bandwidth,
        Term::Reduction,
        Term::Oversubscription,
        Term::Stragglers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Term::Latency => "latency",
            Term::Bandwidth => "bandwidth",
            Term::Reduction => "reduction",
            Term::Oversubscription => "oversubscription",
            Term::Stragglers => "stragglers",
        }
    }
}

impl TermBreakdown {
    pub fn total(&self) -> f64 {
        self.latency_us
            + self.bandwidth_us
            + self.reduction_us
            + self.oversubscription_us
            + self.straggler_us
    }

    pub fn get(&self, t: Term) -> f64 {
        match t {
            Term::Latency => self.latency_us,
            Term::Bandwidth => self.bandwidth_us,
            Term::Reduction => self.reduction_us,
            Term::Oversubscription => self.oversubscription_us,
            Term::Stragglers => self.straggler_us,
        }
    }

    /// The largest term (the first of equals in [`Term::ALL`] order).
    pub fn dominant(&self) -> Term {
        let mut best = Term::Latency;
        for t in Term::ALL {
            if self.get(t) > self.get(best) {
                best = t;
            }
        }
        best
    }

    pub fn plus(self, o: TermBreakdown) -> TermBreakdown {
        TermBreakdown {
            latency_us: self.latency_us + o.latency_us,
            bandwidth_us: self.bandwidth_us + o.bandwidth_us,
            reduction_us: self.reduction_us + o.reduction_us,
            oversubscription_us: self.oversubscription_us + o.oversubscription_us,
            straggler_us: self.straggler_us + o.straggler_us,
        }
    }
}

/// One predicted collective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// The collective priced (all-reduce in predictions saved before there were others).
    #[serde(default)]
    pub collective: Collective,
    /// A flat algorithm's name (`ring`, `rhd`, ...) or a composition (`hier-node:ring`, ...).
    pub algorithm: String,
    pub ranks: usize,
    /// Bytes per rank.
    pub size: u64,
    pub time_us: f64,
    /// GB/s, S / t.
    pub alg_bw: f64,
    /// GB/s, alg_bw x the collective's bus factor (2(p-1)/p for all-reduce).
    pub bus_bw: f64,
    pub terms: TermBreakdown,
    pub dominant: Term,
    /// Share of `time_us` that is the straggler term.
    pub straggler_fraction: f64,
    /// Interval of the straggler term, microseconds, where it was estimated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub straggler_interval_us: Option<[f64; 2]>,
    /// The target stack's protocol this time is for (the fastest), where the stack has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl PredictionRow {
    /// An all-reduce row.
    pub fn new(algorithm: String, ranks: usize, size: u64, terms: TermBreakdown) -> Self {
        let time_us = terms.total();
        PredictionRow {
            collective: Collective::AllReduce,
            algorithm,
            ranks,
            size,
            time_us,
            alg_bw: alg_bw_gbps(size as f64, time_us),
            bus_bw: bus_bw_gbps(size as f64, time_us, ranks),
            dominant: terms.dominant(),
            straggler_fraction: if time_us > 0.0 {
                terms.straggler_us / time_us
            } else {
                0.0
            },
            straggler_interval_us: None,
            protocol: None,
            terms,
        }
    }

    /// A row of `collective`: its bus bandwidth with the collective's own bus factor.
    pub fn of(
        collective: Collective,
        algorithm: String,
        ranks: usize,
        size: u64,
        terms: TermBreakdown,
    ) -> Self {
        let row = PredictionRow::new(algorithm, ranks, size, terms);
        PredictionRow {
            collective,
            bus_bw: row.alg_bw * collective.bus_factor(ranks),
            ..row
        }
    }
}

/// The fastest algorithm of one collective at one (ranks, size).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestRow {
    #[serde(default)]
    pub collective: Collective,
    pub ranks: usize,
    pub size: u64,
    pub algorithm: String,
    pub time_us: f64,
    pub bus_bw: f64,
    pub dominant: Term,
}

/// Picks the fastest row per (collective, ranks, size), in order of first appearance.
pub fn best_per_size(rows: &[PredictionRow]) -> Vec<BestRow> {
    let mut best: Vec<BestRow> = Vec::new();
    for r in rows {
        if !r.time_us.is_finite() {
            continue;
        }
        match best
            .iter_mut()
            .find(|b| b.collective == r.collective && b.ranks == r.ranks && b.size == r.size)
        {
            Some(b) if r.time_us < b.time_us => {
                b.algorithm = r.algorithm.clone();
                b.time_us = r.time_us;
                b.bus_bw = r.bus_bw;
                b.dominant = r.dominant;
            }
            Some(_) => {}
            None => best.push(BestRow {
                collective: r.collective,
                ranks: r.ranks,
                size: r.size,
                algorithm: r.algorithm.clone(),
                time_us: r.time_us,
                bus_bw: r.bus_bw,
                dominant: r.dominant,
            }),
        }
    }
    best
}

/// A validation point: predicted from a fit that did not see it, next to what was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationRow {
    #[serde(default)]
    pub collective: Collective,
    pub algorithm: String,
    pub ranks: usize,
    pub size: u64,
    /// Predicted, microseconds.
    pub time_us: f64,
    pub measured_us: f64,
    /// (predicted - measured) / measured.
    pub error: f64,
    /// Predicted bus bandwidth, GB/s.
    pub bus_bw: f64,
    pub alg_bw: f64,
    pub measured_bus_bw: f64,
    pub terms: TermBreakdown,
    /// The run said a rank's CPU, not the link, set the measured time.
    #[serde(default)]
    pub host_bound: bool,
}
