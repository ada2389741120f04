//! Analytic cost forms in the alpha-beta-gamma model (Thakur, Rabenseifner and Gropp 2005).

use serde::{Deserialize, Serialize};

use crate::timing_model::LinkModel;

/// The coefficients of alpha, beta and gamma in an algorithm's time:
/// `time = latency_steps x alpha + bytes x beta + reduced_bytes x gamma`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostTerms {
    /// Messages on the critical path.
    pub latency_steps: f64,
    /// Bytes that cross a link on the critical path.
    pub bytes: f64,
    /// Bytes reduced on the critical path.
    pub reduced_bytes: f64,
}

impl CostTerms {
    /// The terms of a shape a cost form rejects: NaN, so that any time priced from them is NaN.
    pub const UNDEFINED: CostTerms = CostTerms {
        latency_steps: f64::NAN,
        bytes: f64::NAN,
        reduced_bytes: f64::NAN,
    };

    pub fn time(&self, m: LinkModel) -> f64 {
        self.latency_steps * m.alpha + self.bytes * m.beta + self.reduced_bytes * m.gamma
    }

    pub fn plus(self, o: CostTerms) -> CostTerms {
        CostTerms {
            latency_steps: self.latency_steps + o.latency_steps,
            bytes: self.bytes + o.bytes,
            reduced_bytes: self.reduced_bytes + o.reduced_bytes,
        }
    }
}
