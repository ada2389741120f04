//! The catalogue of all-reduce algorithms: names, schedule builders and cost forms.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cost::CostTerms;
use crate::ring;
use crate::schedule::Schedule;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Ring,
}

/// Knobs that some algorithms take; the others ignore them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// Segment size in bytes for pipelined algorithms.
    pub segment_bytes: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            segment_bytes: 1 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlgorithmError {
    #[error("unknown algorithm '{0}'; expected one of: {accepted} (or 'all')", accepted = Algorithm::names())]
    Unknown(String),
    #[error("{algorithm} cannot run on {nranks} ranks: {reason}")]
    Shape {
        algorithm: Algorithm,
        nranks: usize,
        reason: String,
    },
}

impl Algorithm {
    pub const ALL: [Algorithm; 1] = [Algorithm::Ring];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ring => "ring",
        }
    }

    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Parses a comma-separated list; `all` means every algorithm.
    pub fn parse_list(s: &str) -> Result<Vec<Algorithm>, AlgorithmError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.eq_ignore_ascii_case("all") {
                out.extend(Self::ALL);
            } else {
                out.push(part.parse()?);
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|a| seen.insert(*a));
        Ok(out)
    }

    /// The schedule for `nranks` ranks over `count` elements of `elem_size` bytes.
    pub fn build(
        self,
        nranks: usize,
        count: usize,
        _elem_size: usize,
        _opts: &BuildOptions,
    ) -> Result<Schedule, AlgorithmError> {
        Ok(match self {
            Algorithm::Ring => ring::schedule(nranks, count),
        })
    }

    /// The analytic cost terms for `bytes` bytes per rank.
    pub fn cost(self, nranks: usize, bytes: f64, _opts: &BuildOptions) -> CostTerms {
        match self {
            Algorithm::Ring => ring::cost(nranks, bytes),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = AlgorithmError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| AlgorithmError::Unknown(s.to_string()))
    }
}
