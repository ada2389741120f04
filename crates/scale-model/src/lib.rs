//! collbench's scale model: fit each collective's cost forms to measurements, describe target clusters,
//! project the synchronisation cost to 100k+ GPUs with the straggler term, validate the
//! projection on runs it was not fitted on, and export the numbers for planning tools.
//!
//! Pure: no I/O beyond parsing strings handed in, no clocks, no async. The CLI reads files and
//! writes outputs.
//!
//! | step | entry point |
//! |---|---|
//! | fit | [`fit::fit_all`], [`link_fit::fit_link`] |
//! | scenario | [`scenario::Scenario::parse`] |
//! | stragglers | [`straggler::StragglerModel::from_measurements`] |
//! | predict | [`predict::predict`] |
//! | validate | [`validate::validate`] |
//! | export | [`export::astra`], [`export::simai`], [`export::profile`] |
//! | plots | [`plot::scaling_svg`], [`plot::scatter_svg`] |

pub mod error;
pub mod export;
pub mod fit;
pub mod link_fit;
pub mod measurement;
pub mod nnls;
pub mod noise;
pub mod noise_fit;
pub mod noise_form;
pub mod outliers;
pub mod params;
pub mod plot;
pub mod predict;
pub mod regime;
pub mod rng;
pub mod row;
pub mod scenario;
pub mod shape;
pub mod stack;
pub mod straggler;
pub mod tail;
pub mod units;
pub mod validate;

pub use error::ModelError;
pub use fit::{
    fit_algorithm, fit_all, fit_case, fit_case_ranges, fit_ranges, AlgorithmFit, FitOptions,
    FitReport,
};
pub use link_fit::{fit_link, LinkProfile, LinkSource};
pub use measurement::{Measurement, PingPongSample};
pub use params::CostParams;
pub use predict::{
    predict, Mode, NoiseSetting, PredictInput, PredictOptions, Prediction, Strategy,
};
pub use regime::{fit_case_regimes, fit_regimes, RegimeChoice, SizeRange};
pub use row::{PredictionRow, Term, TermBreakdown, ValidationRow};
pub use scenario::{Scenario, ScenarioError};
pub use shape::Shape;
pub use stack::StackProfile;
pub use straggler::{StragglerEstimate, StragglerModel, StragglerOptions};
pub use validate::{validate, ValidateOptions, ValidationReport};
