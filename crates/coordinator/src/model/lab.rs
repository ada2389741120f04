//! The lab as the model sees it: fitted parameters, the measurements behind them, the straggler
//! tail and the point-to-point link profile, from results files or from a saved fit report.
//!
//! The link profile is fitted on the runs' ping-pong sweeps (`collbench run --pingpong`) when
//! they have one; otherwise on a proxy, the 2-rank `rd` all-reduces (each rank sends its whole
//! buffer to the other and reduces what arrives: a one-way message plus a reduction).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use scale_model::{
    fit_all, fit_link, FitReport, LinkProfile, LinkSource, Measurement, PingPongSample,
    StragglerModel, StragglerOptions,
};
use serde::{Deserialize, Serialize};
use topologies::{Algorithm, BuildOptions};

use super::args::{FittingArgs, InputArgs};
use super::load::load;
use super::straggler_samples;
use crate::usage::UsageError;

/// What `collbench model fit --json` writes and `--fit FILE` reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitDocument {
    /// Always [`FIT_KIND`].
    pub kind: String,
    pub tool: String,
    /// The results files fitted.
    pub sources: Vec<String>,
    /// The cost forms' options (segment size) the fit used.
    pub build: BuildOptions,
    pub fits: FitReport,
    /// The straggler tail, for people and other tools; `--fit` rebuilds it from `measurements`.
    #[serde(default, skip_deserializing)]
    pub stragglers: Option<StragglerModel>,
    #[serde(default)]
    pub stragglers_description: Option<String>,
    /// The point-to-point link profile; its `source` says whether it was fitted on a ping-pong
    /// sweep or on the 2-rank `rd` proxy.
    #[serde(default)]
    pub link: Option<LinkProfile>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// The measured points, with their latency samples (capped).
    pub measurements: Vec<Measurement>,
}

pub const FIT_KIND: &str = "collbench-model-fit";

#[derive(Debug, Clone)]
pub struct Lab {
    pub fits: FitReport,
    pub build: BuildOptions,
    pub measurements: Vec<Measurement>,
    pub stragglers: Option<StragglerModel>,
    pub link: Option<LinkProfile>,
    /// The runs' ping-pong samples (none when read from a fit report, which holds the profile).
    pub pingpong: Vec<PingPongSample>,
    pub sources: Vec<String>,
    /// Notes on the input and on what could not be estimated.
    pub notes: Vec<String>,
}

impl Lab {
    /// No lab: nothing measured, nothing fitted (a prediction from the hardware alone).
    pub fn none() -> Lab {
        Lab {
            fits: FitReport::default(),
            build: BuildOptions::default(),
            measurements: Vec::new(),
            stragglers: None,
            link: None,
            pingpong: Vec::new(),
            sources: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Whether there are lab measurements (or a fit of them) at all.
    pub fn is_none(&self) -> bool {
        self.fits.fits.is_empty() && self.measurements.is_empty()
    }

    /// From `--results PATHS` or `--fit FILE`, or [`Lab::none`] when neither is given.
    pub fn optional(input: &InputArgs) -> Result<Lab> {
        if input.fit.is_none() && input.results.is_empty() {
            return Ok(Lab::none());
        }
        Lab::from_input(input)
    }

    /// From `--results PATHS` or `--fit FILE`.
    pub fn from_input(input: &InputArgs) -> Result<Lab> {
        match (&input.fit, input.results.is_empty()) {
            (Some(file), _) => Lab::from_fit_file(file, !input.no_stragglers),
            (None, false) => Lab::from_results(
                &input.results,
                straggler_samples(input.no_stragglers, input.straggler_max_size),
                &input.fitting,
            ),
            (None, true) => Err(UsageError(
                "no lab measurements: give --results PATHS (results.json files or directories) \
                 or --fit FILE (from `collbench model fit --json`)"
                    .into(),
            )
            .into()),
        }
    }

    /// `samples`: the largest size whose latency histograms feed the straggler tail (`None`: no
    /// straggler term).
    pub fn from_results(
        paths: &[PathBuf],
        samples: Option<u64>,
        fitting: &FittingArgs,
    ) -> Result<Lab> {
        let loaded = load(paths, samples)?;
        let (opts, noise_note) = fitting.options(loaded.build, &loaded.measurements)?;
        let fits = fit_all(&loaded.measurements, &opts);
        if fits.fits.is_empty() {
            bail!(
                "no algorithm could be fitted from {} ({})",
                list_paths(&loaded.sources),
                if fits.skipped.is_empty() {
                    "no usable points".to_string()
                } else {
                    fits.skipped.join("; ")
                }
            );
        }
        let mut lab = Lab {
            fits,
            build: loaded.build,
            measurements: loaded.measurements,
            stragglers: None,
            link: None,
            pingpong: loaded.pingpong,
            sources: loaded
                .sources
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            notes: loaded.notes,
        };
        if loaded.pingpong_files > 1 {
            lab.notes.push(format!(
                "the link profile pools the ping-pong sweeps of {} results files",
                loaded.pingpong_files
            ));
        }
        lab.notes.extend(fitting.notes());
        lab.notes.extend(noise_note);
        if let Some(max) = samples.filter(|m| *m < u64::MAX) {
            lab.notes.push(format!(
                "straggler tail from the rows of at most {} (--straggler-max-size)",
                crate::sizes::format_size(max)
            ));
        }
        lab.finish(samples.is_some());
        Ok(lab)
    }

    pub fn from_fit_file(file: &Path, stragglers: bool) -> Result<Lab> {
        let name = file.display();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        let doc: FitDocument = serde_json::from_str(&text).with_context(|| {
            format!("{name}: not a fit report written by `collbench model fit --json`")
        })?;
        if doc.kind != FIT_KIND {
            bail!("{name}: kind '{}' is not '{FIT_KIND}'", doc.kind);
        }
        if doc.fits.fits.is_empty() {
            bail!("{name}: the fit report has no fitted algorithm");
        }
        let mut lab = Lab {
            fits: doc.fits,
            build: doc.build,
            measurements: doc.measurements,
            stragglers: None,
            link: doc.link,
            pingpong: Vec::new(),
            sources: doc.sources,
            notes: doc.notes,
        };
        lab.notes
            .push(format!("fitted parameters read from {name}"));
        lab.finish(stragglers);
        Ok(lab)
    }

    /// Fits what follows from the measurements: the straggler tail and the link profile.
    fn finish(&mut self, stragglers: bool) {
        if stragglers {
            match StragglerModel::from_measurements(
                &self.measurements,
                &StragglerOptions::default(),
            ) {
                Ok(m) => self.stragglers = Some(m),
                Err(e) => self.notes.push(format!("no straggler term: {e}")),
            }
        }
        if self.link.is_none() {
            self.link = self.link_profile();
        }
    }

    /// The link profile from the ping-pong sweeps, or else from the 2-rank `rd` proxy.
    fn link_profile(&mut self) -> Option<LinkProfile> {
        let usable = |l: &LinkProfile| l.bandwidth_gbps.is_finite();
        if !self.pingpong.is_empty() {
            match fit_link(&self.pingpong, LinkSource::PingPong) {
                Ok(l) if usable(&l) => return Some(l),
                Ok(_) => self.notes.push(
                    "the ping-pong sweep gives no bandwidth (time does not grow with size); \
                     the link profile falls back to the 2-rank rd proxy"
                        .to_string(),
                ),
                Err(e) => self.notes.push(format!(
                    "no link profile from the ping-pong sweep ({e}); it falls back to the \
                     2-rank rd proxy"
                )),
            }
        }
        let proxy: Vec<PingPongSample> = self
            .measurements
            .iter()
            .filter(|m| m.algorithm == Algorithm::Rd && m.nranks == 2)
            .map(|m| PingPongSample {
                bytes: m.bytes,
                one_way_us: m.time_us,
            })
            .collect();
        if proxy.len() < 2 {
            return None;
        }
        fit_link(&proxy, LinkSource::RdProxy).ok().filter(usable)
    }

    /// What the link profile is and what it rests on, for every command's report: "point-to-point
    /// link from the ping-pong sweep, 9 points: 45.2 us + bytes / 0.82 GB/s, rms error 3.1%".
    pub fn link_summary(&self) -> Option<String> {
        let l = self.link.as_ref()?;
        let why = match l.source {
            LinkSource::PingPong => String::new(),
            LinkSource::RdProxy => {
                " (the runs record no ping-pong sweep; `collbench run --pingpong` measures one)"
                    .to_string()
            }
        };
        Some(format!(
            "point-to-point link: {}{why}: {} + bytes / {} GB/s, rms error {}",
            l.describe_source(),
            super::table::time(l.alpha_us.value),
            super::table::sig(l.bandwidth_gbps),
            super::table::pct(l.rms_rel_error).trim_start_matches('+')
        ))
    }

    pub fn document(&self) -> FitDocument {
        FitDocument {
            kind: FIT_KIND.to_string(),
            tool: format!("collbench {}", env!("CARGO_PKG_VERSION")),
            sources: self.sources.clone(),
            build: self.build,
            fits: self.fits.clone(),
            stragglers_description: self.stragglers.as_ref().map(|s| s.describe()),
            stragglers: self.stragglers.clone(),
            link: self.link.clone(),
            notes: self.notes.clone(),
            measurements: self.measurements.clone(),
        }
    }

    /// The largest rank count measured.
    pub fn max_ranks(&self) -> usize {
        self.measurements
            .iter()
            .map(|m| m.nranks)
            .max()
            .unwrap_or(0)
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
