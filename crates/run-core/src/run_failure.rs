//! Why a run stopped, with whatever is known of where: what [`crate::failure`]'s blame produces
//! and the run turns into its failure record.

use std::time::Duration;

use topologies::Case;

/// Why a run stopped, with whatever is known of where.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunFailure {
    pub message: String,
    pub rank: Option<usize>,
    /// The collective and algorithm the run was at.
    pub case: Option<Case>,
    pub size: Option<u64>,
    /// The step the run stopped at (the culprit's, or that of the ranks waiting for it).
    pub step: Option<u32>,
    /// Ranks that were waiting for the culprit.
    pub waiting_ranks: Vec<usize>,
    /// The culprit does not respond (stopped, or cut off): kill it at once rather than wait for
    /// it to take the abort.
    pub unresponsive: bool,
}

impl RunFailure {
    pub fn new(message: impl Into<String>) -> Self {
        RunFailure {
            message: message.into(),
            ..Default::default()
        }
    }
}

/// "3.2 s": a duration as failures say it.
pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
