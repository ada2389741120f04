//! A training step's communication priced at the target: every collective of the scenario's
//! workload ([`training_step`](crate::scenario::training_step)) by its fastest algorithm, times
//! the calls per step.

use crate::error::ModelError;
use crate::scenario::training_step::{step_communication, Communication};

use super::{predict, PredictInput, PredictOptions};

/// One collective of the step, priced.
#[derive(Clone, Debug, PartialEq)]
pub struct StepLine {
    pub communication: Communication,
    /// The fastest algorithm (or composition) at this size and group.
    pub algorithm: String,
    /// One call, microseconds.
    pub time_us: f64,
}

impl StepLine {
    /// Every call of the step, microseconds.
    pub fn per_step_us(&self) -> f64 {
        self.time_us * self.communication.calls as f64
    }
}

/// Every collective of the scenario's workload, priced by `opts` (its `collectives` and
/// `rank_stride` are each line's own). Empty when the scenario has no workload.
pub fn predict_step(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
) -> Result<Vec<StepLine>, ModelError> {
    let Some(w) = &input.scenario.workload else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for c in step_communication(w, input.scenario.cluster.gpus) {
        let one = PredictOptions {
            collectives: vec![c.collective],
            rank_stride: c.rank_stride,
            ..opts.clone()
        };
        let p = predict(input, &[c.ranks], &[c.bytes], &one)?;
        let best = p
            .best
            .iter()
            .find(|b| b.collective == c.collective)
            .ok_or_else(|| ModelError::BadOption {
                option: "workload",
                reason: format!(
                    "no algorithm of {} could be priced for {} bytes over {} ranks",
                    c.collective, c.bytes, c.ranks
                ),
            })?;
        out.push(StepLine {
            algorithm: best.algorithm.clone(),
            time_us: best.time_us,
            communication: c,
        });
    }
    Ok(out)
}
