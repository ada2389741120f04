//! The model per collective: each collective's algorithms fitted from their own rows, validated
//! per collective, and predicted flat with all-to-all paying an oversubscribed tier's bisection.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use proptest::prelude::*;
use scale_model::fit::ParamStatus;
use scale_model::predict::LabReference;
use scale_model::row::PredictionRow;
use scale_model::{
    fit_all, predict, validate, CostParams, FitOptions, Mode, PredictInput, PredictOptions,
    RegimeChoice, Scenario, ValidateOptions,
};
use topologies::{Algorithm, BuildOptions, Case, Collective};

fn case(collective: Collective, algorithm: Algorithm) -> Case {
    Case {
        collective,
        algorithm,
    }
}

fn single() -> FitOptions {
    FitOptions {
        regimes: RegimeChoice::Single,
        ..FitOptions::default()
    }
}

fn params(alpha_us: f64, beta_us_per_byte: f64) -> CostParams {
    CostParams {
        alpha_us,
        beta_us_per_byte,
        gamma_us_per_byte: 0.0,
    }
}

proptest! {
    /// Every collective's every algorithm, timed exactly by a known alpha and beta (as a loop of
    /// back-to-back calls), is fitted back to them from its own rows, and the fit names the
    /// collective.
    #[test]
    fn every_case_recovers_its_parameters(
        alpha in 1.0f64..200.0,
        beta in 1e-4f64..1e-1,
    ) {
        let truth = params(alpha, beta);
        for collective in Collective::ALL.into_iter().filter(|c| *c != Collective::AllReduce) {
            for &algorithm in collective.algorithms() {
                let k = case(collective, algorithm);
                let ms = common::synthetic_case(k, &[2, 4, 8], truth);
                let report = fit_all(&ms, &single());
                let f = report.get_case(k).unwrap();
                prop_assert_eq!(f.collective, collective);
                prop_assert!(f.label().starts_with(collective.name()), "{}", f.label());
                if collective.rooted() {
                    // A loop of broadcasts or reduces hides the per-message latency: no alpha
                    // to fit, and the fit says so.
                    prop_assert_eq!(f.alpha_us.status, ParamStatus::NotIdentifiable);
                } else {
                    prop_assert!(common::rel(f.alpha_us.value, alpha) < 1e-6, "{k}: {f:?}");
                }
                prop_assert!(common::rel(f.beta_us_per_byte.value, beta) < 1e-6, "{k}: {f:?}");
                prop_assert!(report.get(algorithm).is_none(), "no all-reduce fit from {k}");
                // A collective that reduces nothing has no gamma to fit.
                prop_assert_eq!(
                    f.gamma_us_per_byte.status == ParamStatus::NotApplicable,
                    !collective.reduces()
                );
            }
        }
    }
}

/// Rows of other collectives leave an all-reduce's fit exactly as it was.
#[test]
fn other_collectives_do_not_move_the_all_reduce_fit() {
    let lab = common::lab_params();
    let ring = common::synthetic(Algorithm::Ring, &[2, 4, 8], lab, 0.02, 7);
    let alone = fit_all(&ring, &FitOptions::default());
    let mut mixed = ring.clone();
    mixed.extend(common::synthetic_case(
        case(Collective::AllGather, Algorithm::Ring),
        &[2, 4, 8],
        params(3.0, 0.5),
    ));
    let both = fit_all(&mixed, &FitOptions::default());
    assert_eq!(alone.get(Algorithm::Ring), both.get(Algorithm::Ring));
    let ag = both
        .get_case(case(Collective::AllGather, Algorithm::Ring))
        .unwrap();
    assert!(common::rel(ag.alpha_us.value, 3.0) < 1e-6, "{ag:?}");
}

/// Validation predicts each collective's held-out runs from its own fit and summarises the
/// errors per collective and per collective and algorithm.
#[test]
fn validation_reports_per_collective() {
    let ring = common::synthetic(Algorithm::Ring, &[2, 4, 8], common::lab_params(), 0.0, 1);
    let mut ms = ring;
    let ag = case(Collective::AllGather, Algorithm::Rhd);
    ms.extend(common::synthetic_case(ag, &[2, 4, 8], params(5.0, 0.01)));
    let opts = ValidateOptions {
        stragglers: false,
        fit: single(),
        ..ValidateOptions::new(4)
    };
    let report = validate(&ms, &opts).unwrap();
    assert!(report
        .rows
        .iter()
        .any(|r| r.collective == Collective::AllGather && r.ranks == 8));
    for r in &report.rows {
        assert!(r.error.abs() < 1e-6, "{r:?}");
    }
    let per = |c: Collective, a: &str| {
        report
            .summary
            .iter()
            .find(|s| s.collective == Some(c) && s.algorithm == a)
    };
    assert!(per(Collective::AllGather, "all").is_some());
    assert!(per(Collective::AllGather, "rhd").is_some());
    assert!(per(Collective::AllReduce, "ring").is_some());
    assert_eq!(report.summary[0].collective, None);
    // A validation row's busbw carries its collective's bus factor: (p-1)/p for all-gather.
    let r = report
        .rows
        .iter()
        .find(|r| r.collective == Collective::AllGather)
        .unwrap();
    let alg = r.size as f64 / (r.measured_us * 1e-6) / 1e9;
    let p = r.ranks as f64;
    assert!(common::rel(r.measured_bus_bw, alg * (p - 1.0) / p) < 1e-9);
}

/// Two nodes of `gpus_per_node` under one tier of `oversubscription`.
fn two_level(gpus_per_node: usize, nodes: usize, oversubscription: f64) -> Scenario {
    let gpus = gpus_per_node * nodes;
    let text = format!(
        "name = \"toy\"\n[cluster]\ngpus = {gpus}\ngpus_per_node = {gpus_per_node}\n\
         [intra_node]\nbandwidth_gb_per_s = 100\nlatency_us = 1\n\
         [network]\nnic_gbit_per_s = 8\nlatency_us = 5\n\
         [[network.tiers]]\nname = \"top\"\ngpus = {gpus}\noversubscription = {oversubscription}\nhop_latency_us = 0\n"
    );
    Scenario::parse(&text, "toy.toml").expect("toy scenario parses")
}

fn hardware(
    scenario: &Scenario,
    collectives: Vec<Collective>,
    p: usize,
    n: u64,
) -> Vec<PredictionRow> {
    with_stack(scenario, collectives, p, n, scale_model::StackProfile::None).rows
}

/// Hardware mode prices every algorithm of each collective asked for, and nothing else.
#[test]
fn predict_prices_each_collective_asked_for() {
    let s = two_level(4, 4, 1.0);
    let rows = hardware(
        &s,
        vec![Collective::AllGather, Collective::AllToAll],
        16,
        1 << 20,
    );
    let names = |c: Collective| -> Vec<String> {
        rows.iter()
            .filter(|r| r.collective == c)
            .map(|r| r.algorithm.clone())
            .collect()
    };
    assert_eq!(names(Collective::AllGather), ["ring", "rhd", "hier"]);
    assert_eq!(names(Collective::AllToAll), ["pairwise", "linear", "bruck"]);
    assert!(names(Collective::AllReduce).is_empty());
    // The flat ring all-gather: (p-1) steps at the top level's latency, (p-1)/p n at the
    // slowest level's rate (1 GB/s NICs).
    let n = (1u64 << 20) as f64;
    let ag = rows
        .iter()
        .find(|r| r.collective == Collective::AllGather && r.algorithm == "ring")
        .unwrap();
    let c = Collective::AllGather
        .try_cost(Algorithm::Ring, 16, n, &BuildOptions::default())
        .unwrap();
    let expect = c.latency_steps * 5.0 + c.bytes / 1e9 * 1e6;
    assert!(
        common::rel(ag.time_us, expect) < 1e-9,
        "{} vs {expect}",
        ag.time_us
    );
    assert!(common::rel(ag.bus_bw, ag.alg_bw * 15.0 / 16.0) < 1e-9);
}

/// An all-to-all across a tier oversubscribed o:1 pays the tier's bisection: the 12 of 16
/// shares that leave a node at a quarter of the NIC rate; the ring all-gather is not slowed.
#[test]
fn alltoall_pays_the_bisection_and_the_ring_does_not() {
    let n = 1u64 << 24;
    let at = |o: f64| {
        hardware(
            &two_level(4, 4, o),
            vec![Collective::AllGather, Collective::AllToAll],
            16,
            n,
        )
    };
    let time = |rows: &[PredictionRow], c: Collective, a: &str| {
        rows.iter()
            .find(|r| r.collective == c && r.algorithm == a)
            .unwrap()
            .time_us
    };
    let (full, over) = (at(1.0), at(4.0));
    assert_eq!(
        time(&full, Collective::AllGather, "ring"),
        time(&over, Collective::AllGather, "ring")
    );
    let a2a = over
        .iter()
        .find(|r| r.collective == Collective::AllToAll && r.algorithm == "pairwise")
        .unwrap();
    // 12/16 of n leave the node at 1 GB/s / 4.
    let tier_us = 12.0 / 16.0 * n as f64 * 4.0 / 1e9 * 1e6;
    let bw = a2a.terms.bandwidth_us + a2a.terms.oversubscription_us;
    assert!(common::rel(bw, tier_us) < 1e-9, "{bw} vs {tier_us}");
    assert!(
        time(&over, Collective::AllToAll, "pairwise")
            > time(&full, Collective::AllToAll, "pairwise")
    );
}

/// Lab mode prices a collective only from a fit of it: without one its rows are missing and
/// the assumptions say why.
#[test]
fn lab_mode_needs_the_collectives_fit() {
    let ms = common::synthetic(Algorithm::Ring, &[2, 4], common::lab_params(), 0.0, 3);
    let fits = fit_all(&ms, &FitOptions::default());
    let s = Scenario::lab(8, 500e6, 0.0);
    let input = PredictInput {
        fits: &fits,
        scenario: &s,
        lab: LabReference::default(),
        stragglers: None,
    };
    let opts = PredictOptions {
        mode: Mode::Lab,
        collectives: vec![Collective::AllReduce, Collective::Broadcast],
        ..PredictOptions::default()
    };
    let p = predict(&input, &[8], &[1 << 20], &opts).unwrap();
    assert!(p.rows.iter().all(|r| r.collective == Collective::AllReduce));
    assert!(p
        .assumptions
        .iter()
        .any(|a| a.contains("broadcast chain: no fit")));
}

/// Fits of other collectives, and asking for other collectives, leave the all-reduce's rows
/// exactly as they were.
#[test]
fn other_collectives_do_not_move_all_reduce_predictions() {
    let ring = common::synthetic(Algorithm::Ring, &[2, 4, 8], common::lab_params(), 0.0, 5);
    let mut mixed = ring.clone();
    mixed.extend(common::synthetic_case(
        case(Collective::AllToAll, Algorithm::Pairwise),
        &[2, 4, 8],
        params(9.0, 0.2),
    ));
    let s = two_level(4, 4, 2.0);
    let price = |ms: &[scale_model::Measurement], collectives: Vec<Collective>| {
        let fits = fit_all(ms, &FitOptions::default());
        let input = PredictInput {
            fits: &fits,
            scenario: &s,
            lab: LabReference::default(),
            stragglers: None,
        };
        let opts = PredictOptions {
            collectives,
            ..PredictOptions::default()
        };
        let p = predict(&input, &[16, 1024], &[1 << 10, 1 << 26], &opts).unwrap();
        p.rows
            .into_iter()
            .filter(|r| r.collective == Collective::AllReduce)
            .collect::<Vec<PredictionRow>>()
    };
    let before = price(&ring, vec![Collective::AllReduce]);
    assert!(!before.is_empty());
    assert_eq!(before, price(&mixed, vec![Collective::AllReduce]));
    assert_eq!(
        before,
        price(&mixed, vec![Collective::AllReduce, Collective::AllToAll])
    );
}

/// Prices of `collectives` at `p` ranks and `n` bytes with `stack`, on `scenario`, from the
/// hardware alone, with the assumptions.
fn with_stack(
    scenario: &Scenario,
    collectives: Vec<Collective>,
    p: usize,
    n: u64,
    stack: scale_model::StackProfile,
) -> scale_model::Prediction {
    let opts = PredictOptions {
        collectives,
        stack: Some(stack),
        ..PredictOptions::default()
    };
    common::predict_hardware(scenario, &[p], &[n], &opts)
}

fn find<'a>(p: &'a scale_model::Prediction, c: Collective, alg: &str) -> &'a PredictionRow {
    p.rows
        .iter()
        .find(|r| r.collective == c && r.algorithm == alg)
        .unwrap_or_else(|| panic!("no {c} {alg}: {:?}", p.assumptions))
}

/// PAT, with one rank per node: ceil(lg p) steps and the ring's bytes; under NCCL's stack its
/// base, a 1/3.5 share of its network step per step, 2.8 us per rank and 0.75 of the link.
#[test]
fn pat_by_hand_with_one_rank_per_node() {
    let s = two_level(1, 8, 2.0);
    let n = 8_000_000u64;
    let c = Collective::ReduceScatter
        .try_cost(Algorithm::Ring, 8, n as f64, &BuildOptions::default())
        .unwrap();
    let none = with_stack(
        &s,
        vec![Collective::ReduceScatter],
        8,
        n,
        scale_model::StackProfile::None,
    );
    let pat = find(&none, Collective::ReduceScatter, "pat");
    // 3 steps at 5 us; the bytes at 1 GB/s, twice over for the 1:2 tier every step crosses.
    let expect = 3.0 * 5.0 + 2.0 * c.bytes * 1e-3;
    assert!(common::rel(pat.time_us, expect) < 1e-9, "{}", pat.time_us);
    let nccl = with_stack(
        &s,
        vec![Collective::ReduceScatter],
        8,
        n,
        scale_model::StackProfile::Nccl,
    );
    let pat = find(&nccl, Collective::ReduceScatter, "pat");
    assert_eq!(pat.protocol.as_deref(), Some("Simple"));
    let expect = 8.0 + 3.0 * (14.0 + 5.0) / 3.5 + 2.8 * 8.0 + 2.0 * c.bytes * 1e-3 / 0.75;
    assert!(common::rel(pat.time_us, expect) < 1e-9, "{}", pat.time_us);
}

/// NCCL runs PAT with one GPU per node only: with several, it is left out once, saying why.
#[test]
fn no_pat_with_several_ranks_per_node() {
    let s = two_level(4, 4, 1.0);
    let p = with_stack(
        &s,
        vec![Collective::AllGather],
        16,
        1 << 20,
        scale_model::StackProfile::Nccl,
    );
    assert!(p.rows.iter().all(|r| r.algorithm != "pat"));
    assert!(
        p.assumptions
            .iter()
            .any(|a| a.starts_with("all_gather pat: NCCL runs PAT only where every node")),
        "{:?}",
        p.assumptions
    );
}

/// NCCL's stack prices the collectives it tunes (all-gather by ring: Simple at a large size,
/// its base and per-step latencies) and leaves all-to-all on the links as they are.
#[test]
fn the_nccl_stack_prices_the_collectives_it_tunes() {
    let s = two_level(1, 8, 1.0);
    let n = 64_000_000u64;
    let p = with_stack(
        &s,
        vec![Collective::AllGather, Collective::AllToAll],
        8,
        n,
        scale_model::StackProfile::Nccl,
    );
    let ring = find(&p, Collective::AllGather, "ring");
    assert_eq!(ring.protocol.as_deref(), Some("Simple"));
    let c = Collective::AllGather
        .try_cost(Algorithm::Ring, 8, n as f64, &BuildOptions::default())
        .unwrap();
    let expect = 8.4 + c.latency_steps * (14.0 + 5.0) + c.bytes * 1e-3;
    assert!(common::rel(ring.time_us, expect) < 1e-9, "{}", ring.time_us);
    let a2a = find(&p, Collective::AllToAll, "linear");
    assert_eq!(a2a.protocol, None);
}

/// A loop of broadcasts hides their per-message cost, so the fit has no alpha; one call at scale
/// takes the lab's all-reduce ring's (else another fit's) instead of none, and says so.
#[test]
fn a_broadcast_takes_the_per_message_cost_its_loop_hides() {
    let chain = case(Collective::Broadcast, Algorithm::Chain);
    let sendrecv = case(Collective::SendRecv, Algorithm::Ring);
    let beta = 0.01;
    let lab = |with: &[(Case, f64)]| {
        let mut ms = common::synthetic_case(chain, &[2, 4, 8], params(25.0, beta));
        for &(c, alpha) in with {
            ms.extend(common::synthetic_case(c, &[2, 4, 8], params(alpha, beta)));
        }
        fit_all(&ms, &single())
    };
    let s = Scenario::lab(16, 500e6, 0.0);
    let price = |fits: &scale_model::FitReport| {
        let input = PredictInput {
            fits,
            scenario: &s,
            lab: LabReference::default(),
            stragglers: None,
        };
        let opts = PredictOptions {
            mode: Mode::Lab,
            collectives: vec![Collective::Broadcast],
            ..PredictOptions::default()
        };
        let p = predict(&input, &[16], &[1 << 12], &opts).unwrap();
        let row = p
            .rows
            .iter()
            .find(|r| r.algorithm == "chain")
            .unwrap()
            .clone();
        (row.terms.latency_us, p.assumptions)
    };
    // One call's latency steps, each at the borrowed alpha.
    let steps = Collective::Broadcast
        .try_cost(Algorithm::Chain, 16, 4096.0, &BuildOptions::default())
        .unwrap()
        .latency_steps;
    assert!(steps > 0.0);
    let ring = case(Collective::AllReduce, Algorithm::Ring);
    let fits = lab(&[(sendrecv, 40.0), (ring, 80.0)]);
    assert_eq!(
        fits.get_case(chain).unwrap().alpha_us.status,
        ParamStatus::NotIdentifiable
    );
    let (latency, notes) = price(&fits);
    assert!(
        common::rel(latency, 80.0 * steps) < 1e-6,
        "{latency} {notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("takes ring's")),
        "{notes:?}"
    );
    let (latency, _) = price(&lab(&[(sendrecv, 40.0)]));
    assert!(common::rel(latency, 40.0 * steps) < 1e-6, "{latency}");
    let (latency, notes) = price(&lab(&[]));
    assert_eq!(latency, 0.0);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("one call is priced with none")),
        "{notes:?}"
    );
}
