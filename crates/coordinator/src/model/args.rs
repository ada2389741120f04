//! `collbench model ...`: command-line definitions of the scale model's subcommands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use scale_model::noise_fit::fit_noise;
use scale_model::noise_form::Noise;
use scale_model::scenario::vary::Vary;
use scale_model::{FitOptions, Measurement, NoiseSetting, RegimeChoice, StackProfile};
use topologies::BuildOptions;

use super::lists::{parse_max_size, parse_segment, RankList, SizeList};
use crate::sizes::parse_size;

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "The scale model: fit each collective's algorithms' alpha-beta-gamma cost forms \
to collbench results, project their time (all-reduce's by default; --collective) to a target cluster described by a scenario file \
(up to 131,072 ranks and beyond), check the projection on runs it was not fitted on, and export \
the numbers for ASTRA-sim and SimAI.\n\n\
From a lab run to a 100k-GPU estimate:\n  \
collbench run --np 2 --out lab/n2 ...    (and --np 3, --np 4, ...)\n  \
collbench model validate lab --fit-max-ranks 3\n  \
collbench model predict --results lab --scenario scenarios/h100-100k.toml --sizes 1G --workload\n\n\
RESULTS arguments are results.json files or directories searched recursively for them. Scenario \
files are described in scenarios/README.md. Each algorithm is fitted with one per-message cost \
and, where the evidence is very strong (BIC), a per-byte cost of its own below and above a \
buffer size (--regimes)."
)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ModelCommand {
    /// Fit each collective's algorithms' cost forms (alpha, beta, gamma) to results files.
    Fit(FitArgs),
    /// Predict collective time and busbw (all-reduce's by default) on a scenario's cluster at any
    /// rank count and size.
    Predict(PredictArgs),
    /// Fit on runs with at most K ranks and predict the runs with more; report the errors.
    Validate(ValidateArgs),
    /// Write ASTRA-sim's network config, SimAI's busbw table and a JSON profile.
    Export(ExportArgs),
    /// What-if: the best all-reduce (or --collective) time for every combination of scenario
    /// fields varied.
    Sweep(SweepArgs),
    /// Fit the lab's host noise (a per-step delay, as `[noise]` and `--lab-noise` take it) from
    /// the spread of its runs' per-iteration times.
    Noise(NoiseArgs),
}

#[derive(Args, Debug, Clone)]
pub struct NoiseArgs {
    /// Results files (results.json) or directories searched recursively for them.
    #[arg(value_name = "RESULTS", required = true)]
    pub results: Vec<PathBuf>,
    /// Only rows of at most this size (K, M, G suffixes, or 'all'): at latency-bound sizes the
    /// spread of the times is the hosts' and the links' noise; at large ones mostly bandwidth
    /// variance, which grows with the bytes.
    #[arg(
        long = "max-size",
        value_name = "SIZE",
        default_value = "64K",
        value_parser = parse_max_size
    )]
    pub max_size: u64,
    /// Write the fit (the distribution and every point's evidence) as JSON; `-` is stdout.
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Where the measurements come from, and how they are read.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Results files (results.json) or directories searched recursively for them.
    #[arg(long = "results", value_name = "PATH", num_args = 1.., conflicts_with = "fit")]
    pub results: Vec<PathBuf>,
    /// A fit report written by `collbench model fit --json` (instead of --results).
    #[arg(long = "fit", value_name = "FILE")]
    pub fit: Option<PathBuf>,
    /// Leave out the straggler term (and do not read the runs' latency histograms).
    #[arg(long = "no-stragglers")]
    pub no_stragglers: bool,
    /// With --results, how the fit weighs its points and splits its sizes.
    #[command(flatten)]
    pub fitting: FittingArgs,
    /// Only rows of at most this size (K, M, G suffixes, or 'all') feed the straggler tail:
    /// at latency-bound sizes a rank's deviation from the median is jitter; at large sizes it is
    /// mostly bandwidth variance, which grows with the bytes.
    #[arg(
        long = "straggler-max-size",
        value_name = "SIZE",
        default_value = "64K",
        value_parser = parse_max_size
    )]
    pub straggler_max_size: u64,
}

#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// Results files (results.json) or directories searched recursively for them.
    #[arg(value_name = "RESULTS", required = true)]
    pub results: Vec<PathBuf>,
    /// Print every measured point against the fitted form.
    #[arg(long)]
    pub residuals: bool,
    /// Write the fit report (parameters, errors, residuals, the measurements) as JSON; `predict
    /// --fit` and `export --fit` read it back.
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Do not read the runs' latency histograms (no straggler model).
    #[arg(long = "no-stragglers")]
    pub no_stragglers: bool,
    #[command(flatten)]
    pub fitting: FittingArgs,
    /// Only rows of at most this size (K, M, G suffixes, or 'all') feed the straggler tail:
    /// at latency-bound sizes a rank's deviation from the median is jitter; at large sizes it is
    /// mostly bandwidth variance, which grows with the bytes.
    #[arg(
        long = "straggler-max-size",
        value_name = "SIZE",
        default_value = "64K",
        value_parser = parse_max_size
    )]
    pub straggler_max_size: u64,
}

/// How the fit weighs its points and splits its sizes.
#[derive(Args, Debug, Clone)]
pub struct FittingArgs {
    /// How the fit weighs its points: relative or absolute residuals.
    #[arg(long = "weights", value_enum, default_value = "relative")]
    pub weights: Weights,
    /// Size regimes: 'auto' gives an algorithm a per-byte cost of its own below and above a
    /// buffer size (one per-message cost for both) where that lowers the Bayesian information
    /// criterion by 10 or more (protocol switches, a shaper's burst); 'single' fits one form over
    /// every size; a size (K, M, G suffixes) splits every algorithm after that size.
    #[arg(long = "regimes", value_name = "auto|single|SIZE", default_value = "auto",
          value_parser = parse_regimes)]
    pub regimes: RegimeChoice,
    /// The noise the lab's runs carried: exp:MEAN or pareto:SCALE:SHAPE (what `collbench run
    /// --fault jitter:DIST` injects; MEAN and SCALE in ns/us/ms/s, or in % of each step's
    /// time), or 'fit' to fit it from the spread of the runs' per-iteration times at sizes up
    /// to 64K, as a fixed delay or a share of the step, whichever the runs agree on
    /// (`collbench model noise`; validate fits it on the runs it fits on). Its expected cost
    /// on each schedule is taken off the measured times before the fit (and validate adds it
    /// to its predictions instead of the straggler term).
    #[arg(long = "lab-noise", value_name = "DIST|fit", value_parser = parse_lab_noise)]
    pub lab_noise: Option<LabNoise>,
    /// Fit the points whose runs said a rank's CPU or its host's scheduler, not the link, set
    /// them (results' cpu_bound_ranks, sched_bound_ranks) too. By default they are left out of
    /// the fits, so that the forms hold what the network does; an algorithm with no other
    /// point is fitted on them, and the output says so.
    #[arg(long = "keep-host-bound")]
    pub keep_host_bound: bool,
}

/// `--lab-noise`: a distribution, or one fitted from the runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LabNoise {
    Given(Noise),
    Fit,
}

/// The largest size whose per-iteration spread `--lab-noise fit` reads.
const LAB_NOISE_FIT_MAX: u64 = 64 * 1024;

/// A noise distribution; its error names the share-of-the-step form too.
fn parse_noise_dist(text: &str) -> Result<Noise, String> {
    text.parse().map_err(|e: topologies::noise::DelaySyntax| {
        format!("{e}, or a share of each step's time: exp:10%")
    })
}

fn parse_lab_noise(text: &str) -> Result<LabNoise, String> {
    if text == "fit" {
        return Ok(LabNoise::Fit);
    }
    parse_noise_dist(text)
        .map(LabNoise::Given)
        .map_err(|e| format!("{e}, or 'fit'"))
}

fn parse_regimes(text: &str) -> Result<RegimeChoice, String> {
    match text {
        "auto" => Ok(RegimeChoice::Auto),
        "single" => Ok(RegimeChoice::Single),
        _ => crate::sizes::parse_size(text)
            .map(RegimeChoice::SplitAt)
            .map_err(|e| format!("expected auto, single or a size: {e}")),
    }
}

impl FittingArgs {
    /// The fit's options for `measurements`, runs built with `build`; with `--lab-noise fit`,
    /// the noise fitted on them (and a note saying so).
    pub fn options<'m>(
        &self,
        build: BuildOptions,
        measurements: impl IntoIterator<Item = &'m Measurement>,
    ) -> anyhow::Result<(FitOptions, Option<String>)> {
        let (lab_noise, note) = match self.lab_noise {
            None => (None, None),
            Some(LabNoise::Given(d)) => (Some(d), None),
            Some(LabNoise::Fit) => {
                let fit = fit_noise(measurements, &build, LAB_NOISE_FIT_MAX).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--lab-noise fit: no run of at most {} has per-iteration samples that \
                         spread (they come from the runs' histograms, which --no-stragglers \
                         leaves unread)",
                        crate::sizes::format_size(LAB_NOISE_FIT_MAX)
                    )
                })?;
                let note = format!(
                    "lab noise fitted from the spread of {} points' per-iteration times: {} \
                     ({}; collbench model noise shows them)",
                    fit.points.len(),
                    fit.noise,
                    if fit.noise.is_scaled() {
                        "a share of each step's time: its points agree on it more than on a \
                         fixed delay"
                    } else {
                        "a fixed delay: its points agree on it more than on a share of the step"
                    }
                );
                (Some(fit.noise), Some(note))
            }
        };
        Ok((
            FitOptions {
                build,
                relative: self.weights.relative(),
                regimes: self.regimes,
                lab_noise,
                keep_host_bound: self.keep_host_bound,
            },
            note,
        ))
    }

    /// What the output says about these choices where they are not the defaults.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.weights.relative() {
            notes.push(
                "fitted on absolute residuals (--weights absolute): the large sizes decide beta"
                    .to_string(),
            );
        }
        match self.regimes {
            RegimeChoice::Auto => {}
            RegimeChoice::Single => {
                notes.push("one form over every size (--regimes single)".to_string())
            }
            RegimeChoice::SplitAt(at) => notes.push(format!(
                "every algorithm's per-byte cost fitted apart up to {} and above (--regimes)",
                crate::sizes::format_size(at)
            )),
        }
        notes
    }
}

/// How the fit weighs its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Weights {
    /// Each point's residual relative to its measured time: a 1 KiB point counts as much as a
    /// 64 MiB one (the default).
    Relative,
    /// Absolute residuals: the large sizes decide beta, the small ones hardly count. Better where
    /// small messages do not follow alpha + beta x bytes (a token-bucket shaper's burst).
    Absolute,
}

impl Weights {
    pub fn relative(self) -> bool {
        self == Weights::Relative
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// The lab's fitted alpha, beta and gamma on every level ("this cluster built of the lab's
    /// links").
    Lab,
    /// The scenario's hardware with the lab's link efficiency and per-message overhead.
    Target,
}

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// The target cluster (TOML; see scenarios/README.md).
    #[arg(long = "scenario", value_name = "FILE")]
    pub scenario: PathBuf,
    /// Rank counts: a comma-separated list of numbers and ranges; A..B doubles from A up to B,
    /// A..B:F multiplies by F. Default: the scenario's GPU count.
    #[arg(long = "ranks", value_name = "LIST", value_parser = RankList::parse)]
    pub ranks: Option<RankList>,
    /// Sizes per rank (bytes; K, M, G, T suffixes), comma-separated, with A..B ranges as for
    /// --ranks. Needed unless --workload is given.
    #[arg(long = "sizes", value_name = "LIST", value_parser = SizeList::parse)]
    pub sizes: Option<SizeList>,
    /// Also predict the scenario's [workload]: its bytes over its group (for a model, the
    /// gradients over the data-parallel group), and where the model shards with ZeRO-3, has a
    /// pipeline or experts, every collective of its training step with the step's total.
    #[arg(long)]
    pub workload: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the prediction as JSON (rows with algorithm, ranks, size, time_us, bus_bw, terms).
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write time against ranks (log-log, 8 .. 131,072 or the largest --ranks) with the
    /// breakdown by term; with several sizes, one file per size (FILE-<size>.svg).
    #[arg(long = "svg", value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ValidateArgs {
    /// Results files (results.json) or directories searched recursively for them.
    #[arg(value_name = "RESULTS", required = true)]
    pub results: Vec<PathBuf>,
    /// Fit on the runs with at most this many ranks; predict the runs with more.
    #[arg(long = "fit-max-ranks", value_name = "K")]
    pub fit_max_ranks: usize,
    /// Leave out the straggler term.
    #[arg(long = "no-stragglers")]
    pub no_stragglers: bool,
    #[command(flatten)]
    pub fitting: FittingArgs,
    /// Only rows of at most this size (K, M, G suffixes, or 'all') feed the straggler tail:
    /// at latency-bound sizes a rank's deviation from the median is jitter; at large sizes it is
    /// mostly bandwidth variance, which grows with the bytes.
    #[arg(
        long = "straggler-max-size",
        value_name = "SIZE",
        default_value = "64K",
        value_parser = parse_max_size
    )]
    pub straggler_max_size: u64,
    /// Write the rows (predicted time_us, measured_us, error, ...) and the summary as JSON.
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write predicted against measured (log-log) as SVG.
    #[arg(long = "svg", value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Give at least one of --astra, --simai and --profile. The group priced is the \
scenario's workload group (its data-parallel group for a model), else all its GPUs; --ranks and \
--stride override it."
)]
pub struct ExportArgs {
    /// The target cluster (TOML; see scenarios/README.md).
    #[arg(long = "scenario", value_name = "FILE")]
    pub scenario: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long = "mode", value_enum, default_value = "target")]
    pub mode: ModeArg,
    /// The lab as a scenario file (see `predict --lab`).
    #[arg(long = "lab", value_name = "FILE")]
    pub lab: Option<PathBuf>,
    #[command(flatten)]
    pub costs: TargetCosts,
    /// Ranks in the group to price [default: the workload's group, else all GPUs].
    #[arg(long = "ranks", value_name = "N")]
    pub ranks: Option<usize>,
    /// GPUs between members of the group [default: the workload's, else 1].
    #[arg(long = "stride", value_name = "N")]
    pub stride: Option<usize>,
    /// The algorithm whose fit prices the ASTRA-sim network (default ring).
    #[arg(long = "algo", value_name = "NAME", default_value = "ring")]
    pub algo: String,
    /// Bytes the SimAI table's tensor-parallel all-reduce is priced at (K, M, G suffixes).
    #[arg(long = "tp-bytes", value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub tp_bytes: u64,
    /// Write ASTRA-sim's analytical network config (YAML).
    #[arg(long = "astra", value_name = "FILE")]
    pub astra: Option<PathBuf>,
    /// Write SimAI's busbw table (busbw.yaml).
    #[arg(long = "simai", value_name = "FILE")]
    pub simai: Option<PathBuf>,
    /// Write a JSON profile: fits, straggler tail, link proxy, carried parameters, scenario.
    #[arg(long = "profile", value_name = "FILE")]
    pub profile: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Example: the best 1 GiB all-reduce on the 100k-GPU scenario for three NIC \
speeds and four oversubscriptions between pods (12 scenarios):\n  \
collbench model sweep --scenario scenarios/h100-100k.toml --vary nic_gbit_per_s=200,400,800 \
--vary tiers.cluster.oversubscription=1,2,4,7 --sizes 1G\n\n\
A PATH names a field as the scenario file does (network.nic_gbit_per_s, intra_node.latency_us, a \
tier by its name: network.tiers.cluster.oversubscription); the table may be left out where the \
field is unique (nic_gbit_per_s, tiers.cluster.oversubscription). Every varied scenario is \
checked as a scenario file is. Without --results or --fit, every algorithm is priced from the \
hardware alone (see predict)."
)]
pub struct SweepArgs {
    /// The cluster to vary (TOML; see scenarios/README.md).
    #[arg(long = "scenario", value_name = "FILE")]
    pub scenario: PathBuf,
    /// A field of the scenario and the values it takes, PATH=V1,V2,...; repeat for more fields
    /// (every combination is priced).
    #[arg(long = "vary", value_name = "PATH=VALUES", required = true, value_parser = Vary::parse)]
    pub vary: Vec<Vary>,
    /// Rank counts (as for predict). Default: each varied scenario's GPU count.
    #[arg(long = "ranks", value_name = "LIST", value_parser = RankList::parse)]
    pub ranks: Option<RankList>,
    /// Sizes per rank (bytes; K, M, G, T suffixes), comma-separated, with A..B ranges.
    #[arg(long = "sizes", value_name = "LIST", value_parser = SizeList::parse)]
    pub sizes: SizeList,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write every point (the values set, ranks, size, best strategy, time, busbw) as JSON.
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the best time against the first --vary's values (log-log), a line per combination
    /// of the others, rank count and size; the first --vary's values must be numbers.
    #[arg(long = "svg", value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

fn parse_stack(s: &str) -> Result<StackProfile, String> {
    s.parse()
}

/// What `predict` and `sweep` price with: the lab (optional), the mode, the strategies, and the
/// target's per-message costs.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long = "mode", value_enum, default_value = "target")]
    pub mode: ModeArg,
    /// The lab as a scenario file (its link rate and wire latency are what target mode carries
    /// efficiencies and overheads relative to, where the runs did not record a link rate).
    #[arg(long = "lab", value_name = "FILE")]
    pub lab: Option<PathBuf>,
    /// Only these strategies, comma-separated: ring, rhd, ..., hier-node:ring, hier-tier:rd,
    /// rail-rings, rail-trees (NCCL's ring and tree on multi-GPU nodes, a channel per NIC),
    /// nvls, nvls-tree, collnet-direct, collnet-chain (switches reduce: where the scenario's
    /// do). Default: every fitted algorithm, flat, on the rails and in both compositions (every
    /// algorithm without a lab), and in target mode the in-switch reductions.
    #[arg(long = "algo", value_name = "LIST")]
    pub algo: Option<String>,
    /// The collectives to price, comma-separated (all_reduce, all_gather, reduce_scatter,
    /// alltoall, broadcast, reduce, sendrecv) or `all`. All-reduce by the strategies of --algo;
    /// the others by each of their algorithms, flat over all ranks (the compositions are
    /// all-reduce's only), and all-gather and reduce-scatter also by pat where each node holds
    /// one rank.
    #[arg(long = "collective", value_name = "LIST", default_value = "all_reduce")]
    pub collective: String,
    /// Per-message overhead to use on the target instead of the lab's (target mode), microseconds.
    #[arg(long = "overhead-us", value_name = "US")]
    pub overhead_us: Option<f64>,
    #[command(flatten)]
    pub costs: TargetCosts,
    /// Carry the lab's straggler tail (its host's noise, in microseconds, grown to the rank
    /// count) to the target; by default target mode leaves it in the lab and takes the target's
    /// noise from the scenario's [noise] or --noise.
    #[arg(long = "lab-stragglers")]
    pub lab_stragglers: bool,
}

/// What the target's messages cost beyond its links: its library's stack, the tree algorithms'
/// segment and the host's noise (`predict`, `sweep` and `export`).
#[derive(Args, Debug, Clone)]
pub struct TargetCosts {
    /// The target's software stack: nccl (NCCL's tuning model: per-call and per-step latencies
    /// and each protocol's share of the link rate), lab (the lab's measured per-message overhead
    /// carried over), none (the wire alone). Default: the scenario's [stack], else lab with a lab
    /// and none without.
    #[arg(long = "stack", value_name = "nccl|lab|none", value_parser = parse_stack)]
    pub stack: Option<StackProfile>,
    /// The segment the tree algorithms (tree, dbtree) pipeline in at the target, or `none` for
    /// one segment per tree (unsegmented) [default: the lab's runs', else 1M].
    #[arg(long = "segment", value_name = "SIZE|none", value_parser = parse_segment)]
    pub segment: Option<usize>,
    /// The target's host noise: every rank waits a draw from DIST (exp:MEAN or
    /// pareto:SCALE:SHAPE, MEAN and SCALE in ns/us/ms/s, or in % of each step's own time) before
    /// each step's sends; `none` for none [default: the scenario's [noise], else none].
    #[arg(long = "noise", value_name = "DIST|none", value_parser = parse_noise)]
    pub noise: Option<NoiseSetting>,
}

fn parse_noise(text: &str) -> Result<NoiseSetting, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(NoiseSetting::Off);
    }
    parse_noise_dist(text).map(NoiseSetting::Given)
}

impl TargetCosts {
    /// The cost forms' options at the target: the lab's, with `--segment` where given.
    pub fn build(&self, lab: BuildOptions) -> BuildOptions {
        BuildOptions {
            segment_bytes: self.segment.unwrap_or(lab.segment_bytes),
            ..lab
        }
    }

    /// The target's noise: `--noise`, else the scenario's.
    pub fn noise(&self) -> NoiseSetting {
        self.noise.unwrap_or_default()
    }
}
