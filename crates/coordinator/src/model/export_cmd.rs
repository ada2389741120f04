//! `collbench model export`: ASTRA-sim's analytical network config, SimAI's busbw table and a
//! JSON profile, from the lab's fit and a scenario.

use anyhow::{anyhow, Context, Result};
use scale_model::export::simai::SimaiGroups;
use scale_model::export::{astra_network, simai_busbw, Profile};
use scale_model::predict::{carried_for, Carried, LabReference};
use scale_model::scenario::training_step::step_communication;
use scale_model::scenario::Scenario;
use scale_model::{PredictInput, PredictOptions};
use topologies::{Algorithm, Collective};

use super::args::ExportArgs;
use super::lab::Lab;
use super::predict_cmd::{lab_for, strategies};
use super::{lab_reference, mode, read_scenario, stdout_output, write_file};
use crate::usage::UsageError;

pub fn run(args: &ExportArgs) -> Result<()> {
    if args.astra.is_none() && args.simai.is_none() && args.profile.is_none() {
        return Err(UsageError(
            "nothing to export: give at least one of --astra FILE, --simai FILE, --profile FILE"
                .into(),
        )
        .into());
    }
    stdout_output(&[
        args.astra.as_deref(),
        args.simai.as_deref(),
        args.profile.as_deref(),
    ])?;
    let scenario = read_scenario(&args.scenario)?;
    let algorithm: Algorithm = args
        .algo
        .parse()
        .map_err(|e| UsageError(format!("--algo: {e}")))?;
    let tp_bytes = args.tp_bytes;
    let mode = mode(args.mode);
    let lab = lab_for(&args.input, mode, None)?;
    let lab_ref = lab_reference(args.lab.as_deref())?;

    let point = scenario.workload_point();
    let ranks = args
        .ranks
        .or(point.as_ref().map(|p| p.ranks))
        .unwrap_or(scenario.cluster.gpus);
    let stride = args
        .stride
        .or(point.as_ref().map(|p| p.rank_stride))
        .unwrap_or(1)
        .max(1);
    if ranks < 1 {
        return Err(UsageError("--ranks: give at least 1".into()).into());
    }
    let mut notes = Vec::new();
    let opts = PredictOptions {
        mode,
        build: args.costs.build(lab.build),
        strategies: strategies(None, &lab, mode)?,
        stragglers: !args.input.no_stragglers,
        stack: args.costs.stack,
        noise: args.costs.noise(),
        ..PredictOptions::default()
    };
    let input = PredictInput {
        fits: &lab.fits,
        scenario: &scenario,
        lab: lab_ref,
        stragglers: lab.stragglers.as_ref(),
    };
    let (carried, stack) = carried_for(&input, &opts, &mut notes).context("pricing the export")?;
    if lab.is_none() {
        notes.push(format!(
            "no lab: every number is the scenario's hardware alone (links at their full rate \
             and latency) with stack {stack}"
        ));
    }

    if let Some(path) = &args.astra {
        let c = Carried::across_regimes(&carried, algorithm)
            .ok_or_else(|| anyhow!("--algo {algorithm}: the lab has no fit for it"))?;
        if carried.iter().filter(|c| c.algorithm == algorithm).count() > 1 {
            notes.push(format!(
                "{algorithm} was fitted in size regimes; ASTRA-sim takes one latency and one \
                 bandwidth per dimension, so its config has the latency of the smallest sizes' \
                 fit and the bandwidth of the largest's"
            ));
        }
        let net = astra_network(&scenario, ranks, stride, &c, mode, stack);
        write_file(path, &net.to_yaml())?;
    }
    if let Some(path) = &args.simai {
        let groups = SimaiGroups {
            tp_ranks: tp_ranks(&scenario),
            tp_bytes,
            dp_ranks: ranks,
            dp_stride: stride,
            dp_bytes: point.as_ref().map(|p| p.bytes).unwrap_or(1 << 30),
            // The expert-parallel group: the step's all-to-all, where the workload has one.
            ep: scenario.workload.as_ref().and_then(|w| {
                step_communication(w, scenario.cluster.gpus)
                    .into_iter()
                    .find(|c| c.collective == Collective::AllToAll)
                    .map(|c| (c.ranks, c.rank_stride, c.bytes))
            }),
        };
        simai_file(path, &lab, lab_ref, &scenario, &opts, &groups)?;
    }
    if let Some(path) = &args.profile {
        notes.extend(
            lab.link_summary()
                .map(|l| format!("{l} (in {})", path.display())),
        );
        profile_file(path, &lab, carried, &scenario)?;
    }
    for n in notes {
        eprintln!("collbench: note: {n}");
    }
    Ok(())
}

/// `--profile FILE`: the fits, the link, the straggler samples, what was carried to the
/// scenario and the scenario, as JSON.
fn profile_file(
    path: &std::path::Path,
    lab: &Lab,
    carried: Vec<Carried>,
    scenario: &Scenario,
) -> Result<()> {
    let mut profile = Profile::new(lab.fits.clone());
    profile.link = lab.link.clone();
    profile.stragglers = lab.stragglers.clone();
    profile.carried = carried;
    profile.scenario = Some(scenario.clone());
    write_file(path, &(profile.to_json() + "\n"))
}

/// The tensor-parallel group: the workload's model's, else a node's GPUs.
fn tp_ranks(scenario: &Scenario) -> usize {
    scenario
        .workload
        .as_ref()
        .and_then(|w| w.model.as_ref())
        .map(|m| m.tp)
        .unwrap_or(scenario.cluster.gpus_per_node)
        .max(1)
}

/// `--simai FILE`: SimAI's busbw table for these groups, priced by the model.
fn simai_file(
    path: &std::path::Path,
    lab: &Lab,
    lab_ref: LabReference,
    scenario: &Scenario,
    opts: &PredictOptions,
    groups: &SimaiGroups,
) -> Result<()> {
    let input = PredictInput {
        fits: &lab.fits,
        scenario,
        lab: lab_ref,
        stragglers: lab.stragglers.as_ref(),
    };
    let table = simai_busbw(&input, opts, groups).context("pricing SimAI's busbw table")?;
    write_file(path, &table.to_yaml())
}
