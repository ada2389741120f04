//! collbench's exit statuses, so that a CI job can tell a usage error from a failed run, wrong
//! results from a slow network.

use crate::options::OptionError;
use crate::output::verdict::Verdict;
use crate::regression::Regressed;
use crate::usage::UsageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything ran, results right, above the minimum bandwidth when one was set.
    Ok = 0,
    /// The run failed: a rank died or hung, a file could not be written, Ctrl-C.
    RunFailed = 1,
    /// A usage error: a bad flag or value (the command line's parser's too).
    Usage = 2,
    /// The run finished, and some result was wrong (#wrong > 0).
    WrongResults = 3,
    /// The run finished, right, below `--min-busbw` / `NCCL_TESTS_MIN_BW`.
    BelowMinBandwidth = 4,
    /// `collbench compare`: a row regressed beyond the threshold.
    Regression = 5,
}

impl Status {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The status an error ends the process with.
pub fn status_of(e: &anyhow::Error) -> Status {
    if e.downcast_ref::<OptionError>().is_some() || e.downcast_ref::<UsageError>().is_some() {
        return Status::Usage;
    }
    if e.downcast_ref::<Regressed>().is_some() {
        return Status::Regression;
    }
    match e.downcast_ref::<Verdict>() {
        Some(Verdict::WrongResults(_)) => Status::WrongResults,
        Some(Verdict::BelowMinBandwidth { .. }) => Status::BelowMinBandwidth,
        None => Status::RunFailed,
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context;
    use topologies::Algorithm;

    use super::*;

    #[test]
    fn each_kind_of_error_has_its_status_through_context() {
        let usage = anyhow::Error::from(crate::options::kinds::bad("--np/--nodes", "0"));
        assert_eq!(status_of(&usage), Status::Usage);
        let wrong: anyhow::Result<()> =
            Err(Verdict::WrongResults(vec![(Algorithm::Ring, 8, 1)])).context("results are in x");
        assert_eq!(status_of(&wrong.unwrap_err()), Status::WrongResults);
        let slow = anyhow::Error::from(Verdict::BelowMinBandwidth {
            min: 1.0,
            below: vec![(Algorithm::Ring, 0.1)],
        });
        assert_eq!(status_of(&slow), Status::BelowMinBandwidth);
        assert_eq!(
            status_of(&anyhow::anyhow!("rank 2 died")),
            Status::RunFailed
        );
        assert_eq!(Status::BelowMinBandwidth.code(), 4);
    }
}
