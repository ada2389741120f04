//! Prediction: the time, algbw and busbw of each algorithm and composition at any rank count and
//! size, with the term that dominates, the best choice per size, and the assumptions made.
//!
//! Two modes. [`Mode::Lab`]: the fitted alpha, beta and gamma of each algorithm priced at the
//! target rank count ("a cluster built of the lab's links"). [`Mode::Target`]: the scenario's
//! hardware, with the lab's measured link efficiency and per-message overhead carried over (see
//! [`carry`]). Everything is closed form, so 131,072 ranks cost what 8 do.

pub mod carry;
pub mod hidden_alpha;
pub mod in_switch;
pub mod levels;
pub mod ops;
pub mod pat;
pub mod rails;
pub mod step;
pub mod strategy;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use topologies::{Algorithm, BuildOptions, Case, Collective};

pub use carry::{Carried, CarrySource, LabReference, LevelLink};
pub use levels::{levels, Level};
pub use strategy::Strategy;

use crate::noise::{NoiseCost, CALIBRATION_RANKS};
use crate::noise_form::Noise;
use crate::stack::StackProfile;

use crate::error::ModelError;
use crate::fit::FitReport;
use crate::row::{best_per_size, BestRow, PredictionRow};
use crate::scenario::Scenario;
use crate::straggler::{StragglerEstimate, StragglerModel};
use in_switch::Switches;
use strategy::{Pricing, Skip};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The lab's fitted parameters, scaled out.
    Lab,
    /// The scenario's hardware with the lab's efficiencies and overheads.
    Target,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PredictOptions {
    pub mode: Mode,
    /// Options for the cost forms (segment size, hier group size, torus grid).
    pub build: BuildOptions,
    /// What to price; default [`Strategy::all`].
    pub strategies: Vec<Strategy>,
    /// The collectives to price (default all-reduce): all-reduce by `strategies`, the others by
    /// each of their algorithms, flat ([`ops`]).
    pub collectives: Vec<Collective>,
    /// GPUs between consecutive members of the group (1: contiguous).
    pub rank_stride: usize,
    /// Replaces the per-message overhead carried from the lab (Target mode), microseconds.
    pub overhead_us: Option<f64>,
    /// Add the straggler term where a model is given (lab mode).
    pub stragglers: bool,
    /// Carry the lab's straggler tail to the target too (target mode; off by default: the lab
    /// host's noise is not the target's, whose noise is the scenario's `[noise]`).
    pub lab_stragglers_at_target: bool,
    /// The target's software stack in target mode, instead of the scenario's (`--stack`).
    pub stack: Option<StackProfile>,
    /// The target's host noise: the scenario's `[noise]`, none, or one given (`--noise`).
    pub noise: NoiseSetting,
}

/// Where the target's host noise comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum NoiseSetting {
    /// The scenario's `[noise]`, none where it has none.
    #[default]
    Scenario,
    /// None, whatever the scenario says.
    Off,
    /// This distribution.
    Given(Noise),
}

impl NoiseSetting {
    /// The distribution this setting prices on `scenario`, if any.
    pub fn resolve(self, scenario: &Scenario) -> Option<Noise> {
        match self {
            NoiseSetting::Scenario => scenario.noise,
            NoiseSetting::Off => None,
            NoiseSetting::Given(d) => Some(d),
        }
    }
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            mode: Mode::Target,
            build: BuildOptions::default(),
            strategies: Strategy::all(),
            collectives: vec![Collective::AllReduce],
            rank_stride: 1,
            overhead_us: None,
            stragglers: true,
            lab_stragglers_at_target: false,
            stack: None,
            noise: NoiseSetting::Scenario,
        }
    }
}

pub struct PredictInput<'a> {
    pub fits: &'a FitReport,
    /// The hardware predicted on: the target, or in Lab mode the lab (whose top tier is
    /// extended to any rank count).
    pub scenario: &'a Scenario,
    /// The lab as measured, for the carry-over.
    pub lab: LabReference,
    pub stragglers: Option<&'a StragglerModel>,
}

/// The levels a rank count crosses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelsAt {
    pub ranks: usize,
    pub levels: Vec<Level>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub mode: Mode,
    /// The target's software stack the messages were priced with (target mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackProfile>,
    pub scenario: String,
    pub rank_stride: usize,
    pub rows: Vec<PredictionRow>,
    /// The fastest row per (ranks, size).
    pub best: Vec<BestRow>,
    pub stragglers: Vec<StragglerEstimate>,
    /// Per algorithm: fitted parameters, efficiency and overhead as carried.
    pub carried: Vec<Carried>,
    pub hierarchy: Vec<LevelsAt>,
    /// Everything assumed, in words.
    pub assumptions: Vec<String>,
}

/// Predicts every strategy of `opts` at every rank count and size.
pub fn predict(
    input: &PredictInput<'_>,
    ranks: &[usize],
    sizes: &[u64],
    opts: &PredictOptions,
) -> Result<Prediction, ModelError> {
    if let Some(&bad) = ranks.iter().find(|&&r| r == 0) {
        return Err(ModelError::BadRanks {
            ranks: bad,
            reason: "a group needs at least one rank".to_string(),
        });
    }
    if ranks.is_empty() || sizes.is_empty() {
        return Err(ModelError::BadOption {
            option: if ranks.is_empty() { "ranks" } else { "sizes" },
            reason: "give at least one value".to_string(),
        });
    }
    if input.fits.fits.is_empty() && opts.mode == Mode::Lab {
        return Err(ModelError::NoMeasurements {
            what: "a lab-mode prediction (lab mode prices the lab's fits; none was given)"
                .to_string(),
        });
    }
    let scenario = input.scenario;
    let stack = effective_stack(input, opts)?;
    let mut notes: Vec<String> = Vec::new();
    let carried = carry_all(input, opts, stack, &mut notes);
    let carried_of = |a: Algorithm| {
        carried
            .iter()
            .find(|c| c.algorithm == a && c.is_all_reduce())
    };
    let all_reduce = opts.collectives.contains(&Collective::AllReduce);
    let stride = opts.rank_stride.max(1);

    let mut assumptions = base_assumptions(input, opts, &carried);
    if opts.mode == Mode::Target {
        assumptions.insert(1.min(assumptions.len()), stack_assumption(stack));
    }
    let mut noise = opts
        .noise
        .resolve(scenario)
        .map(|d| NoiseCost::new(d, opts.build));
    if let Some(n) = &noise {
        assumptions.push(format!(
            "noise: every rank waits a draw from {}{} before each step's sends; the stragglers \
             column is its expected cost on each schedule's dependency paths (Monte Carlo on the \
             schedule up to {CALIBRATION_RANKS} ranks, its cost per dependency step carried \
             beyond), in place of a lab's straggler tail",
            n.noise(),
            if n.noise().is_scaled() {
                " (in percent of the step's own time: the predicted time over its steps)"
            } else {
                ""
            }
        ));
    }
    let switches = Switches {
        node: scenario
            .intra_node
            .as_ref()
            .is_some_and(|i| i.in_switch_reduction),
        network: scenario.network.in_switch_reduction,
    };
    // No lab runs an in-switch reduction: they are priced from the hardware alone, with the
    // user's per-message overhead where one is given.
    let unmeasured_links = (opts.mode == Mode::Target).then(|| Carried {
        overhead_us: opts.overhead_us.unwrap_or(0.0),
        ..Carried::hardware(
            Algorithm::Ring,
            scenario.compute.as_ref().map(|c| c.reduce_gb_per_s),
        )
    });
    let mut rows = Vec::with_capacity(ranks.len() * sizes.len() * opts.strategies.len());
    let mut hierarchy = Vec::new();
    let mut stragglers = Vec::new();
    let mut skipped: BTreeSet<String> = BTreeSet::new();
    for &p in ranks {
        let lv = levels(scenario, p, stride);
        if lv.iter().any(|l| l.extended) {
            skipped.insert(format!(
                "{p} ranks {} GPUs apart exceed the scenario's {} GPUs: its top tier is extended",
                stride, scenario.cluster.gpus
            ));
        }
        if lv.last().is_some_and(|l| l.span != p) {
            skipped.insert(format!(
                "{p} ranks do not fill whole groups of the levels ({}); compositions round each \
                 fan-out up",
                lv.iter()
                    .map(|l| format!("{} x{}", l.name, l.size))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let straggler = match (input.stragglers, carries_stragglers(opts), &noise) {
            (Some(m), true, None) => Some(m.estimate(p)),
            _ => None,
        };
        if let Some(s) = straggler {
            stragglers.push(s);
        }
        let pricing = Pricing {
            levels: &lv,
            mode: opts.mode,
            build: &opts.build,
            carried: &carried,
            protocols: stack.protocols(),
            protocol: None,
            switches,
            unmeasured_links: unmeasured_links.as_ref(),
        };
        for strategy in opts.strategies.iter().filter(|_| all_reduce) {
            if !strategy.in_switch() && carried_of(strategy.outer()).is_none() {
                skipped.insert(format!("{strategy}: no fit for {}", strategy.outer()));
                continue;
            }
            let noise_of = noise.as_mut().map(|n| n.strategy(*strategy, p, &lv));
            for &size in sizes {
                match pricing.terms(*strategy, p, size as f64) {
                    Ok((mut terms, protocol)) => {
                        if let Some(s) = straggler {
                            terms.straggler_us = s.delay_us;
                        }
                        if let Some(n) = noise_of {
                            terms.straggler_us = n.added_us(terms.total());
                        }
                        let mut row = PredictionRow::new(strategy.name(), p, size, terms);
                        row.straggler_interval_us = straggler.map(|s| [s.low_us, s.high_us]);
                        row.protocol = protocol.map(str::to_string);
                        rows.push(row);
                    }
                    Err(skip) => {
                        note_skip(&mut skipped, &strategy.name(), p, skip);
                        break;
                    }
                }
            }
        }
        for case in op_cases(opts) {
            if ops::case_carried(&carried, case, 0.0).is_none() {
                skipped.insert(format!("{case}: no fit"));
                continue;
            }
            let noise_of = noise.as_mut().map(|n| n.case(case, p));
            for &size in sizes {
                match ops::terms(&pricing, case, p, size as f64) {
                    Ok((mut terms, protocol)) => {
                        if let Some(s) = straggler {
                            terms.straggler_us = s.delay_us;
                        }
                        if let Some(n) = noise_of {
                            terms.straggler_us = n.added_us(terms.total());
                        }
                        let name = case.algorithm.name().to_string();
                        let mut row = PredictionRow::of(case.collective, name, p, size, terms);
                        row.straggler_interval_us = straggler.map(|s| [s.low_us, s.high_us]);
                        row.protocol = protocol.map(str::to_string);
                        rows.push(row);
                    }
                    Err(why) => {
                        skipped.insert(format!("{case} at {p} ranks: {why}"));
                        break;
                    }
                }
            }
        }
        let pat_collectives = opts.collectives.iter().filter(|c| pat::runs(**c));
        for &collective in pat_collectives.filter(|_| opts.mode == Mode::Target) {
            // PAT's steps pair ranks 2^i apart, as halving-doubling's do.
            let like = Case {
                collective,
                algorithm: Algorithm::Rhd,
            };
            let noise_of = noise.as_mut().map(|n| n.case(like, p));
            for &size in sizes {
                match pricing.pat(collective, p, size as f64) {
                    Ok((mut terms, protocol)) => {
                        if let Some(n) = noise_of {
                            terms.straggler_us = n.added_us(terms.total());
                        }
                        let mut row = PredictionRow::of(collective, "pat".into(), p, size, terms);
                        row.protocol = protocol.map(str::to_string);
                        rows.push(row);
                    }
                    Err(skip) => {
                        note_skip(&mut skipped, &format!("{collective} pat"), p, skip);
                        break;
                    }
                }
            }
        }
        hierarchy.push(LevelsAt {
            ranks: p,
            levels: lv,
        });
    }
    assumptions.extend(notes);
    assumptions.extend(skipped);
    Ok(Prediction {
        mode: opts.mode,
        stack: (opts.mode == Mode::Target).then_some(stack),
        scenario: scenario.name.clone(),
        rank_stride: stride,
        best: best_per_size(&rows),
        rows,
        stragglers,
        carried,
        hierarchy,
        assumptions,
    })
}

/// Records in `skipped` why `what` has no price at `p` ranks: once per rank count where the
/// shape is the cause, once in all where the scenario is, nothing where it does not apply.
fn note_skip(skipped: &mut BTreeSet<String>, what: &str, p: usize, skip: Skip) {
    match skip {
        Skip::NotApplicable => {}
        Skip::Cannot(why) => {
            skipped.insert(format!("{what} at {p} ranks: {why}"));
        }
        Skip::Unsupported(why) => {
            skipped.insert(why);
        }
    }
}

/// The cases of the collectives other than all-reduce that `opts` asks for, each collective's
/// algorithms in its order.
fn op_cases(opts: &PredictOptions) -> impl Iterator<Item = Case> + '_ {
    opts.collectives
        .iter()
        .filter(|c| **c != Collective::AllReduce)
        .flat_map(|&collective| {
            collective.algorithms().iter().map(move |&algorithm| Case {
                collective,
                algorithm,
            })
        })
}

/// Every fitted case of the collectives asked for as carried and, in target mode, every
/// algorithm of those collectives no lab measured, from the scenario's hardware alone.
fn carry_all(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
    stack: StackProfile,
    notes: &mut Vec<String>,
) -> Vec<Carried> {
    let reduce = input.scenario.compute.as_ref().map(|c| c.reduce_gb_per_s);
    // Only the collectives asked for: another collective's fit says nothing of these prices,
    // except the per-message cost that a loop of calls hides ([`hidden_alpha`]).
    let donor = hidden_alpha::donor(input.fits);
    let mut carried: Vec<Carried> = input
        .fits
        .fits
        .iter()
        .filter(|f| opts.collectives.contains(&f.collective))
        .map(|f| {
            let c = Carried::new(f, &input.lab, opts.overhead_us, reduce, notes);
            hidden_alpha::lend(c, f, donor, &input.lab, opts.overhead_us, notes)
        })
        .collect();
    if opts.mode == Mode::Target {
        let all_reduce = opts.collectives.contains(&Collective::AllReduce);
        let unmeasured: Vec<Case> = Algorithm::ALL
            .iter()
            .filter(|_| all_reduce)
            .map(|&a| Case::all_reduce(a))
            .chain(op_cases(opts))
            .filter(|c| input.fits.get_case(*c).is_none())
            .collect();
        carried.extend(
            unmeasured
                .iter()
                .map(|&c| Carried::hardware_case(c, reduce)),
        );
        if !unmeasured.is_empty() {
            let names: Vec<String> = unmeasured.iter().map(|c| c.to_string()).collect();
            notes.push(format!(
                "from the hardware alone (no lab measured them): {}; their links run at the \
                 scenario's full rate and latency, with {}, and {}",
                names.join(", "),
                match opts.overhead_us {
                    Some(o) => format!("the user's per-message overhead of {o} us"),
                    None => "no per-message software overhead".to_string(),
                },
                match reduce {
                    Some(r) => format!("reductions at the scenario's {r} GB/s per GPU"),
                    None => "no reduction cost (the scenario gives no compute.reduce_gb_per_s)"
                        .to_string(),
                }
            ));
        }
    }
    if let Some(o) = opts.overhead_us {
        for c in carried
            .iter_mut()
            .filter(|c| c.source == CarrySource::Hardware)
        {
            c.overhead_us = o;
        }
    }
    // Another stack than the lab's: the lab's per-message cost stays in the lab, for every
    // collective the stack prices; all-to-all and send/receive keep the lab's links.
    if opts.mode == Mode::Target && stack != StackProfile::Lab {
        for c in carried
            .iter_mut()
            .filter(|c| c.source == CarrySource::Lab && ops::stack_prices(c.collective))
        {
            c.overhead_us = opts.overhead_us.unwrap_or(0.0);
        }
    }
    carried
}

/// Whether the lab's straggler tail is added: in lab mode unless left out, in target mode only
/// when asked for.
fn carries_stragglers(opts: &PredictOptions) -> bool {
    opts.stragglers && (opts.mode == Mode::Lab || opts.lab_stragglers_at_target)
}

/// What every algorithm is priced with, as [`predict`] carries it, and the target's stack: for
/// tools that price outside a prediction (the exports). Notes on what was assumed go to `notes`.
pub fn carried_for(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
    notes: &mut Vec<String>,
) -> Result<(Vec<Carried>, StackProfile), ModelError> {
    let stack = effective_stack(input, opts)?;
    Ok((carry_all(input, opts, stack, notes), stack))
}

/// The target's stack: `--stack`, else the scenario's, else the lab's where a lab is given and
/// none without. The lab's stack needs a lab.
pub fn effective_stack(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
) -> Result<StackProfile, ModelError> {
    let lab = !input.fits.fits.is_empty();
    let stack = opts.stack.or(input.scenario.stack).unwrap_or(if lab {
        StackProfile::Lab
    } else {
        StackProfile::None
    });
    if stack == StackProfile::Lab && !lab && opts.mode == Mode::Target {
        return Err(ModelError::BadOption {
            option: "stack",
            reason: "the lab's stack needs a lab (results or a fit); use nccl or none".to_string(),
        });
    }
    Ok(stack)
}

/// Predicts the scenario's workload (its bytes over its group, with the group's stride).
pub fn predict_workload(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
) -> Result<Prediction, ModelError> {
    let point = input
        .scenario
        .workload_point()
        .ok_or(ModelError::BadOption {
            option: "scenario",
            reason: format!("scenario '{}' has no [workload]", input.scenario.name),
        })?;
    let opts = PredictOptions {
        rank_stride: point.rank_stride,
        ..opts.clone()
    };
    let mut p = predict(input, &[point.ranks], &[point.bytes], &opts)?;
    p.assumptions
        .insert(0, format!("workload: {}", point.description));
    Ok(p)
}

fn stack_assumption(stack: StackProfile) -> String {
    match stack {
        StackProfile::Nccl => "stack nccl: every message priced with NCCL 2.30.7's tuning model \
             (src/graph/tuning.cc): per call its base latency, per step its NVLink latency inside \
             a node and its network latency (plus the scenario's) across, each protocol's share \
             of the link rate; the fastest of LL, LL128 and Simple per size; the lab's \
             per-message overhead is not carried"
            .to_string(),
        StackProfile::Lab => "stack lab: the lab's per-message overhead (collbench over QUIC on \
             the lab's hosts) is added to every message on the target"
            .to_string(),
        StackProfile::None => {
            "stack none: the wire alone, no per-message software cost".to_string()
        }
    }
}

fn base_assumptions(
    input: &PredictInput<'_>,
    opts: &PredictOptions,
    carried: &[Carried],
) -> Vec<String> {
    let s = input.scenario;
    let mut a = Vec::new();
    match opts.mode {
        Mode::Lab => a.push(format!(
            "lab mode: every level uses each algorithm's fitted alpha, beta and gamma (a cluster \
             built of the lab's links), arranged as scenario '{}'",
            s.name
        )),
        Mode::Target if input.fits.fits.is_empty() => a.push(format!(
            "hardware mode (no lab measurements): scenario '{}' hardware ({} GPUs, {} per node, \
             {} Gbit/s NIC per GPU), every algorithm priced by its cost form on the levels' link \
             rates and latencies",
            s.name, s.cluster.gpus, s.cluster.gpus_per_node, s.network.nic_gbit_per_s
        )),
        Mode::Target => {
            a.push(format!(
                "target mode: scenario '{}' hardware ({} GPUs, {} per node, {} Gbit/s NIC per \
                 GPU); each algorithm's lab link efficiency (fitted bandwidth / lab link rate) \
                 scales every level's link rate, and its lab per-message overhead (fitted alpha \
                 less the lab's wire latency of {:.2} us) is added to every level's latency",
                s.name,
                s.cluster.gpus,
                s.cluster.gpus_per_node,
                s.network.nic_gbit_per_s,
                input.lab.latency_us
            ));
            for c in carried.iter().filter(|c| c.source == CarrySource::Lab) {
                a.push(format!(
                    "{}: efficiency {:.3}, per-message overhead {:.2} us, reduction {:.3e} us/byte",
                    c.label(),
                    c.efficiency,
                    c.overhead_us,
                    c.gamma_us_per_byte
                ));
            }
            match &s.compute {
                Some(c) => a.push(format!(
                    "reduction at the scenario's {} GB/s per GPU",
                    c.reduce_gb_per_s
                )),
                None => a.push(
                    "reduction cost: the lab's fitted gamma carried over (the scenario gives no \
                     compute.reduce_gb_per_s)"
                        .to_string(),
                ),
            }
            if opts.overhead_us.is_some() {
                a.push(
                    "per-message overhead given by the user, not carried from the lab".to_string(),
                );
            }
        }
    }
    a.push(
        "one NIC per GPU, rail-aligned: every GPU sends across the network on its own NIC"
            .to_string(),
    );
    if opts.collectives.contains(&Collective::AllReduce) {
        all_reduce_assumptions(opts, &mut a);
    }
    if opts.collectives.iter().any(|c| *c != Collective::AllReduce) {
        a.push(
            "collectives other than all-reduce: each algorithm priced flat over all ranks by its \
             own cost form with its own fit (target mode: its lab efficiency and overhead, or \
             the hardware alone where no lab measured it); ring, chain and tree are not slowed \
             by oversubscription, rhd pays the top tier's; alltoall pays each tier's bisection: \
             at a level made of groups of g ranks, the (p - g)/p share of a rank's bytes bound \
             outside its group crosses at the level's per-rank rate over its \
             oversubscription, and the time is the larger of the busiest level's and the flat \
             bandwidth term; a stack's protocols price all-gather, reduce-scatter, broadcast \
             and reduce too (NCCL tunes these; all-to-all and send/recv are point-to-point); \
             the hierarchical and rail compositions price all-reduce only; all-gather and \
             reduce-scatter also by pat (NCCL's PAT: ceil(lg p) steps, the ring's bytes, the top \
             tier's oversubscription; one rank per node; from the hardware alone)"
                .to_string(),
        );
        let rooted = opts.collectives.iter().any(|c| c.rooted());
        if rooted && opts.build.segment_bytes != usize::MAX {
            a.push(format!(
                "broadcast and reduce by chain: pipelined in segments of {} bytes",
                opts.build.segment_bytes
            ));
        }
    }
    if opts.rank_stride > 1 {
        a.push(format!(
            "group members are {} GPUs apart (tensor and pipeline parallel ranks in between)",
            opts.rank_stride
        ));
    }
    if opts.noise.resolve(input.scenario).is_some() {
        return a;
    }
    if opts.mode == Mode::Target {
        a.push("no host noise: the scenario has no [noise] (--noise DIST adds one)".to_string());
    }
    if !opts.stragglers {
        a.push("straggler term left out on request".to_string());
        return a;
    }
    match input.stragglers {
        None => a.push("no straggler term: no per-rank latency samples were given".to_string()),
        Some(m) if carries_stragglers(opts) => {
            a.push(m.describe());
            if opts.mode == Mode::Target {
                a.push(
                    "the lab's per-rank noise (microseconds above the median) is carried to the \
                     target unchanged (--lab-stragglers)"
                        .to_string(),
                );
            }
        }
        Some(_) => a.push(
            "the lab's straggler tail is not carried to the target: its host's noise is not the \
             target's (--lab-stragglers carries it)"
                .to_string(),
        ),
    }
    a
}

/// What the all-reduce strategies' prices rest on: the flat algorithms' and the compositions'
/// treatment of the levels, the trees' segments and the rails.
fn all_reduce_assumptions(opts: &PredictOptions, a: &mut Vec<String>) {
    a.push(
        "flat algorithms: messages pay the top level's latency and bytes the slowest level's \
         rate; ring, tree and dbtree are not slowed by oversubscription (they cross a tier on a \
         few edges per group: the ring at group boundaries, the trees at their top levels' \
         edges), the other flat algorithms pay the top tier's (they have steps in which every \
         rank sends across it)"
            .to_string(),
    );
    a.push(
        "compositions (hier-node:*, hier-tier:*): ring reduce-scatter and all-gather at the lower \
         levels and the named algorithm across the top; all members cross a level at once, so \
         each level's oversubscription applies"
            .to_string(),
    );
    let trees = [Algorithm::Tree, Algorithm::DbTree];
    if opts.strategies.iter().any(|s| {
        !matches!(s, Strategy::RailRings | Strategy::RailTrees) && trees.contains(&s.outer())
    }) {
        a.push(if opts.build.segment_bytes == usize::MAX {
            "tree, dbtree: unsegmented (one segment per tree)".to_string()
        } else {
            format!(
                "tree, dbtree: pipelined in segments of {} bytes",
                opts.build.segment_bytes
            )
        });
    }
    if opts.strategies.iter().any(Strategy::in_switch) && opts.mode == Mode::Target {
        a.push(
            "nvls, nvls-tree, collnet-direct, collnet-chain: switches reduce (NVLink SHARP in a \
             node, SHARP in the network), where the scenario says its switches do; priced from \
             the hardware alone (no lab runs them), pipelined, not slowed by oversubscription; \
             NVLS moves n (1 + 1/g) each way per GPU, SHARP n/g each way per NIC"
                .to_string(),
        );
    }
    if opts
        .strategies
        .iter()
        .any(|s| matches!(s, Strategy::RailRings | Strategy::RailTrees))
    {
        a.push(
            "rail-rings, rail-trees: NCCL's ring and tree on multi-GPU nodes, one channel per NIC \
             rail, pipelined (transfers, NVLink and reductions overlap; NCCL's per-call latency, \
             no per-chunk latency, no pipeline fill); neither is slowed by oversubscription \
             (each crosses a tier's groups on a few edges)"
                .to_string(),
        );
    }
}
