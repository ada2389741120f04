//! A per-message cost for the fits whose runs could not show one.
//!
//! A lab times back-to-back calls, and in a loop of broadcasts or reduces the root starts the
//! next call while this one still travels: the loop's time holds no per-message latency, so the
//! fit finds no alpha ([`ParamStatus::NotIdentifiable`]) and would price one call at scale as
//! its bytes alone. Its messages go through the same stack as the lab's other collectives, so
//! it takes the per-message cost the lab did show: all-reduce's ring (2(p - 1) dependent
//! messages per call, each after the one before, so a loop cannot hide them), else the first fit
//! with an alpha. The notes say which.

use topologies::{Algorithm, Case};

use super::carry::{overhead_us, Carried, LabReference};
use crate::fit::{AlgorithmFit, FitReport, ParamStatus};

/// The fit whose alpha the hidden ones take, if the lab has one.
pub fn donor(fits: &FitReport) -> Option<&AlgorithmFit> {
    let shows_alpha = |f: &&AlgorithmFit| f.alpha_us.status == ParamStatus::Fitted;
    let ring = Case::all_reduce(Algorithm::Ring);
    fits.fits
        .iter()
        .filter(shows_alpha)
        .find(|f| f.case() == ring)
        .or_else(|| fits.fits.iter().find(shows_alpha))
}

/// `carried`, priced from `fit`, with `donor`'s per-message cost where `fit` has none: lab mode's
/// alpha and target mode's overhead (unless the user gave one), with a note.
pub fn lend(
    mut carried: Carried,
    fit: &AlgorithmFit,
    donor: Option<&AlgorithmFit>,
    lab: &LabReference,
    overhead_override: Option<f64>,
    notes: &mut Vec<String>,
) -> Carried {
    if fit.alpha_us.status != ParamStatus::NotIdentifiable {
        return carried;
    }
    let Some(donor) = donor else {
        notes.push(format!(
            "{}: its runs (back-to-back calls) show no per-message cost and no other fit of the \
             lab does; one call is priced with none",
            fit.label()
        ));
        return carried;
    };
    let alpha = donor.params().alpha_us;
    carried.fitted.alpha_us = alpha;
    carried.overhead_us = overhead_us(alpha, lab, overhead_override);
    notes.push(format!(
        "{}: its runs (back-to-back calls) show no per-message cost; it takes {}'s, {alpha:.2} us \
         per message",
        fit.label(),
        donor.label()
    ));
    carried
}
