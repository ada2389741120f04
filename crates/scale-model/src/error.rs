//! Errors of fitting, prediction and validation. Scenario files have their own
//! [`ScenarioError`](crate::scenario::ScenarioError), which names the file, line and field.

use topologies::{Algorithm, AlgorithmError, Case, CollectiveError};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error("no usable measurements for {what}")]
    NoMeasurements { what: String },
    #[error("measurement {index} ({case}, {nranks} ranks, {bytes} bytes): {reason}")]
    BadMeasurement {
        index: usize,
        case: Case,
        nranks: usize,
        bytes: u64,
        reason: String,
    },
    #[error("{what}: {have} usable points, at least {need} needed")]
    TooFewPoints {
        what: String,
        have: usize,
        need: usize,
    },
    #[error("the fit for {what} failed: {reason}")]
    FitFailed { what: String, reason: String },
    #[error("no fitted parameters for {algorithm}; fit measurements of it first")]
    NoFit { algorithm: Algorithm },
    #[error("cannot predict {ranks} ranks: {reason}")]
    BadRanks { ranks: usize, reason: String },
    #[error("invalid option {option}: {reason}")]
    BadOption {
        option: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Algorithm(#[from] AlgorithmError),
    #[error(transparent)]
    Collective(#[from] CollectiveError),
}
