//! A plain JSON profile of everything fitted: per-algorithm parameters with their errors, the
//! point-to-point link, the straggler tail, and what was carried to a scenario.

use serde::{Deserialize, Serialize};

use crate::fit::FitReport;
use crate::link_fit::LinkProfile;
use crate::predict::Carried;
use crate::scenario::Scenario;
use crate::straggler::StragglerModel;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub tool: String,
    pub fits: FitReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stragglers: Option<StragglerModel>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub carried: Vec<Carried>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Scenario>,
}

impl Profile {
    pub fn new(fits: FitReport) -> Self {
        Profile {
            tool: format!("collbench scale-model {}", env!("CARGO_PKG_VERSION")),
            fits,
            link: None,
            stragglers: None,
            carried: Vec::new(),
            scenario: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"could not write the profile: {e}\"}}"))
    }
}
