//! Predictions against values worked by hand for small p, and a full sweep to 131,072 ranks.

mod common;

use proptest::prelude::*;
use scale_model::predict::{predict_workload, CarrySource, LabReference};
use scale_model::row::Term;
use scale_model::{
    predict, AlgorithmFit, CostParams, FitReport, Mode, PredictInput, PredictOptions, Scenario,
    StackProfile, StragglerModel, StragglerOptions, Strategy,
};
use topologies::Algorithm;

const MIB: u64 = 1 << 20;

fn fits(params: CostParams, link_rate_bps: Option<f64>) -> FitReport {
    FitReport {
        fits: Algorithm::ALL
            .iter()
            .map(|a| AlgorithmFit::from_params(*a, params, link_rate_bps))
            .collect(),
        skipped: Vec::new(),
    }
}

/// What `fits` (none: hardware mode) predict for `scenario`, with no lab reference or
/// straggler samples.
fn measured_by<'a>(fits: &'a FitReport, scenario: &'a Scenario) -> PredictInput<'a> {
    PredictInput {
        fits,
        scenario,
        lab: LabReference::default(),
        stragglers: None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn row<'a>(
    p: &'a scale_model::Prediction,
    alg: &str,
    ranks: usize,
    size: u64,
) -> &'a scale_model::PredictionRow {
    p.rows
        .iter()
        .find(|r| r.algorithm == alg && r.ranks == ranks && r.size == size)
        .unwrap_or_else(|| panic!("no row {alg} {ranks} {size}"))
}

/// Lab mode: the textbook forms with alpha = 10 us, beta = 0.01 us/B, gamma = 0.001 us/B.
#[test]
fn lab_mode_matches_textbook_forms_by_hand() {
    let params = CostParams {
        alpha_us: 10.0,
        beta_us_per_byte: 0.01,
        gamma_us_per_byte: 0.001,
    };
    let f = fits(params, Some(1e9));
    let lab = Scenario::lab(8, 1e9, 0.0);
    let input = measured_by(&f, &lab);
    let opts = PredictOptions {
        mode: Mode::Lab,
        strategies: [Algorithm::Ring, Algorithm::Rhd, Algorithm::Rd]
            .map(Strategy::Flat)
            .to_vec(),
        ..PredictOptions::default()
    };
    let p = predict(&input, &[4, 8], &[1024, MIB], &opts).unwrap();
    let n = MIB as f64;

    // Ring, p = 4: 2(p-1) = 6 messages, 2 (3/4) n bytes moved, (3/4) n reduced.
    let r = row(&p, "ring", 4, MIB);
    assert!(close(r.terms.latency_us, 60.0));
    assert!(close(r.terms.bandwidth_us, 0.01 * 1.5 * n));
    assert!(close(r.terms.reduction_us, 0.001 * 0.75 * n));
    assert!(close(r.time_us, 16_575.072), "{}", r.time_us);
    assert_eq!(r.terms.oversubscription_us, 0.0);
    assert_eq!(r.dominant, Term::Bandwidth);
    // nccl-tests definitions: algbw = S / t (GB = 1e9), busbw = algbw x 2(p-1)/p.
    assert!(close(r.alg_bw, n / 16_575.072e-6 / 1e9));
    assert!(close(r.bus_bw, r.alg_bw * 1.5));
    // Ring, p = 4, 1 KiB: 60 + 15.36 + 0.768, latency-bound.
    let r = row(&p, "ring", 4, 1024);
    assert!(close(r.time_us, 76.128), "{}", r.time_us);
    assert_eq!(r.dominant, Term::Latency);
    // Ring, p = 8: 14 alpha + 1.75 n beta + 0.875 n gamma.
    assert!(close(
        row(&p, "ring", 8, MIB).time_us,
        140.0 + 0.01 * 1.75 * n + 0.001 * 0.875 * n
    ));
    // Halving-doubling, p = 4: 2 lg p alpha + 2(3/4) n beta + (3/4) n gamma.
    assert!(close(
        row(&p, "rhd", 4, MIB).time_us,
        40.0 + 0.01 * 1.5 * n + 0.001 * 0.75 * n
    ));
    // Recursive doubling, p = 4 and 8: lg p (alpha + n beta + n gamma).
    assert!(close(
        row(&p, "rd", 4, MIB).time_us,
        2.0 * (10.0 + 0.011 * n)
    ));
    assert!(close(
        row(&p, "rd", 8, MIB).time_us,
        3.0 * (10.0 + 0.011 * n)
    ));
    // Best per size: at 1 MiB and 4 ranks halving-doubling beats ring by 20 us.
    let best = p
        .best
        .iter()
        .find(|b| b.ranks == 4 && b.size == MIB)
        .unwrap();
    assert_eq!(best.algorithm, "rhd");
    assert!(p.assumptions.iter().any(|a| a.contains("lab mode")));
}

/// Two nodes of two GPUs. The lab ring runs at 100 MB/s on a 1 Gbit/s link (efficiency 0.8)
/// with 10 us per message; the target has 100 GB/s inside a node (1 us) and 1 GB/s NICs (5 us).
fn toy(oversubscription: f64) -> Scenario {
    let text = format!(
        "name = \"toy\"\n[cluster]\ngpus = 4\ngpus_per_node = 2\n\
         [intra_node]\nbandwidth_gb_per_s = 100\nlatency_us = 1\n\
         [network]\nnic_gbit_per_s = 8\nlatency_us = 5\n\
         [[network.tiers]]\nname = \"top\"\ngpus = 4\noversubscription = {oversubscription}\nhop_latency_us = 0\n"
    );
    Scenario::parse(&text, "toy.toml").expect("toy scenario parses")
}

#[test]
fn target_mode_by_hand_on_two_levels() {
    let params = CostParams {
        alpha_us: 10.0,
        beta_us_per_byte: 0.01,
        gamma_us_per_byte: 0.0,
    };
    let f = fits(params, Some(1e9));
    let target = toy(1.0);
    let input = measured_by(&f, &target);
    let opts = PredictOptions {
        strategies: vec![
            Strategy::Flat(Algorithm::Ring),
            Strategy::HierNode(Algorithm::Ring),
            Strategy::HierTier(Algorithm::Ring),
        ],
        ..PredictOptions::default()
    };
    let p = predict(&input, &[4], &[1_000_000], &opts).unwrap();
    let ring = p
        .carried
        .iter()
        .find(|c| c.algorithm == Algorithm::Ring)
        .unwrap();
    assert!(close(ring.efficiency, 0.8));
    assert!(close(ring.overhead_us, 10.0));
    // Flat ring: 6 messages at 10 + 5 us; 1.5e6 bytes at 0.8 x 1 GB/s (the NIC is the slowest).
    assert!(close(row(&p, "ring", 4, 1_000_000).time_us, 90.0 + 1875.0));
    // Inside nodes: ring of 2 on 1e6 bytes: 2 x 11 us + 1e6 / (0.8 x 100 GB/s) = 22 + 12.5.
    // Across nodes: ring of 2 on 5e5 bytes: 2 x 15 us + 5e5 / 0.8 GB/s = 30 + 625.
    assert!(close(
        row(&p, "hier-node:ring", 4, 1_000_000).time_us,
        34.5 + 655.0
    ));
    assert!(close(
        row(&p, "hier-tier:ring", 4, 1_000_000).time_us,
        34.5 + 655.0
    ));
}

#[test]
fn oversubscription_slows_all_to_all_steps_but_not_a_flat_ring() {
    let params = CostParams {
        alpha_us: 10.0,
        beta_us_per_byte: 0.01,
        gamma_us_per_byte: 0.0,
    };
    let f = fits(params, Some(1e9));
    let target = toy(4.0);
    let input = measured_by(&f, &target);
    let opts = PredictOptions {
        strategies: vec![
            Strategy::Flat(Algorithm::Ring),
            Strategy::Flat(Algorithm::Rhd),
            Strategy::HierNode(Algorithm::Ring),
        ],
        ..PredictOptions::default()
    };
    let p = predict(&input, &[4], &[1_000_000], &opts).unwrap();
    let ring = row(&p, "ring", 4, 1_000_000);
    assert!(close(ring.time_us, 1965.0));
    assert_eq!(ring.terms.oversubscription_us, 0.0);
    // Halving-doubling: 4 messages at 15 us, 1.5e6 bytes at 0.8 GB/s, and 3x more for 1:4.
    let rhd = row(&p, "rhd", 4, 1_000_000);
    assert!(close(rhd.terms.latency_us, 60.0));
    assert!(close(rhd.terms.bandwidth_us, 1875.0));
    assert!(close(rhd.terms.oversubscription_us, 3.0 * 1875.0));
    assert_eq!(rhd.dominant, Term::Oversubscription);
    // The composition's cross-node ring has every GPU crossing the tier at once.
    assert!(close(
        row(&p, "hier-node:ring", 4, 1_000_000).time_us,
        34.5 + 30.0 + 4.0 * 625.0
    ));
}

#[test]
fn every_strategy_at_131072_ranks_and_30_sizes() {
    let params = common::lab_params();
    let f = fits(params, Some(500e6));
    let text = include_str!("../../../scenarios/h100-100k.toml");
    let mut target = Scenario::parse(text, "h100-100k.toml").unwrap();
    // SHARP too, so that every in-switch reduction has a price.
    target.network.in_switch_reduction = true;
    let lab = Scenario::parse(include_str!("../../../scenarios/lab.toml"), "lab.toml").unwrap();
    let mut rng = scale_model::rng::SplitMix64::new(9);
    let deviations: Vec<f64> = (0..20_000).map(|_| rng.exponential(30.0)).collect();
    let stragglers =
        StragglerModel::from_deviations(&deviations, 8, &StragglerOptions::default()).unwrap();
    let input = PredictInput {
        fits: &f,
        scenario: &target,
        lab: LabReference::from_scenario(&lab),
        stragglers: Some(&stragglers),
    };
    let sizes: Vec<u64> = (0..30).map(|k| 1u64 << k).collect();
    let ranks: Vec<usize> = (3..=17).map(|k| 1usize << k).collect();
    for mode in [Mode::Lab, Mode::Target] {
        let opts = PredictOptions {
            mode,
            ..PredictOptions::default()
        };
        let p = predict(&input, &ranks, &sizes, &opts).unwrap();
        let at_max: Vec<_> = p.rows.iter().filter(|r| r.ranks == 131_072).collect();
        // Every flat algorithm and both compositions with every outer algorithm, at every size,
        // and in target mode the in-switch reductions (no lab runs them).
        let priced = Strategy::all()
            .iter()
            .filter(|s| mode == Mode::Target || !s.in_switch())
            .count();
        assert_eq!(at_max.len(), priced * 30, "{:?}", p.assumptions);
        for r in &p.rows {
            assert!(r.time_us.is_finite() && r.time_us > 0.0, "{r:?}");
            assert!(close(r.time_us, r.terms.total()));
            assert!(close(
                r.bus_bw,
                r.alg_bw * 2.0 * (r.ranks as f64 - 1.0) / r.ranks as f64
            ));
            // The fit holds the straggler delay of the 8 lab ranks; more ranks add to it (in lab
            // mode: target mode leaves the lab host's noise in the lab).
            assert_eq!(
                r.terms.straggler_us > 0.0,
                r.ranks > 8 && mode == Mode::Lab,
                "{r:?}"
            );
            assert!(r.straggler_fraction >= 0.0 && r.straggler_fraction < 1.0);
        }
        assert_eq!(p.best.len(), ranks.len() * 30);
        for b in &p.best {
            let min = p
                .rows
                .iter()
                .filter(|r| r.ranks == b.ranks && r.size == b.size)
                .map(|r| r.time_us)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(b.time_us, min);
        }
        // Tiny messages at full scale are latency- or straggler-bound, never bandwidth-bound.
        let ring_small = p
            .rows
            .iter()
            .find(|r| r.algorithm == "ring" && r.ranks == 131_072 && r.size == 1)
            .unwrap();
        assert!(matches!(
            ring_small.dominant,
            Term::Latency | Term::Stragglers
        ));
        let carried = if mode == Mode::Lab { ranks.len() } else { 0 };
        assert_eq!(p.stragglers.len(), carried);
        assert!(!p.assumptions.is_empty());
    }
}

#[test]
fn workload_of_the_llama3_scenario() {
    let f = fits(common::lab_params(), Some(500e6));
    let target = Scenario::parse(
        include_str!("../../../scenarios/llama3-24k.toml"),
        "l3.toml",
    )
    .unwrap();
    let input = measured_by(&f, &target);
    let p = predict_workload(&input, &PredictOptions::default()).unwrap();
    assert_eq!(p.rank_stride, 128);
    assert!(p
        .rows
        .iter()
        .all(|r| r.ranks == 128 && r.size == 6_328_125_000));
    // One member per node: no node level, so hier-node compositions do not apply.
    assert!(p.rows.iter().all(|r| !r.algorithm.starts_with("hier-node")));
    assert!(p.rows.iter().any(|r| r.algorithm == "hier-tier:ring"));
    assert!(p.assumptions[0].starts_with("workload: gradients of a 405B"));
    let levels = &p.hierarchy[0].levels;
    assert_eq!(levels[0].name, "pod");
    assert_eq!(levels[0].size, 24);
}

#[test]
fn bad_requests_are_refused() {
    let f = fits(common::lab_params(), None);
    let lab = Scenario::lab(8, 500e6, 0.0);
    let input = measured_by(&f, &lab);
    let o = PredictOptions::default();
    assert!(predict(&input, &[0], &[1], &o).is_err());
    assert!(predict(&input, &[], &[1], &o).is_err());
    assert!(predict(&input, &[8], &[], &o).is_err());
    // Lab mode prices fits; without any it has nothing to price.
    let empty = FitReport::default();
    let input = measured_by(&empty, &lab);
    let lab_mode = PredictOptions {
        mode: Mode::Lab,
        ..PredictOptions::default()
    };
    assert!(predict(&input, &[8], &[1], &lab_mode).is_err());
}

/// Hardware mode: no lab at all. Every strategy is priced on the scenario's links at their full
/// rate and latency, with no per-message overhead and, without a reduction rate, no reduction.
#[test]
fn hardware_mode_by_hand_on_two_levels() {
    let empty = FitReport::default();
    let target = toy(1.0);
    let input = measured_by(&empty, &target);
    let p = predict(&input, &[4], &[1_000_000], &PredictOptions::default()).unwrap();
    // Every strategy but the in-switch reductions, whose switches the toy does not have.
    assert_eq!(
        p.rows.len(),
        Strategy::all().iter().filter(|s| !s.in_switch()).count(),
        "every strategy is priced"
    );
    assert!(
        p.assumptions
            .iter()
            .any(|a| a.starts_with("nvls: the scenario's nodes do not reduce in their switch")),
        "{:?}",
        p.assumptions
    );
    assert!(p.carried.iter().all(|c| c.source == CarrySource::Hardware));
    assert_eq!(p.carried.len(), Algorithm::ALL.len());
    assert!(
        p.assumptions[0].starts_with("hardware mode"),
        "{:?}",
        p.assumptions
    );
    assert!(p.stragglers.is_empty());
    // Flat ring: 6 messages at the NIC's 5 us; 1.5e6 bytes at 1 GB/s.
    assert!(close(row(&p, "ring", 4, 1_000_000).time_us, 30.0 + 1500.0));
    // Inside nodes a ring of 2 on 1e6 bytes: 2 x 1 us + 1e6 B / 100 GB/s; across nodes a ring
    // of 2 on 5e5 bytes: 2 x 5 us + 5e5 B / 1 GB/s.
    assert!(close(
        row(&p, "hier-node:ring", 4, 1_000_000).time_us,
        12.0 + 510.0
    ));
    // The same with a per-message overhead given: 6 x 7 us for the flat ring.
    let given = PredictOptions {
        overhead_us: Some(2.0),
        ..PredictOptions::default()
    };
    let p = predict(&input, &[4], &[1_000_000], &given).unwrap();
    assert!(close(row(&p, "ring", 4, 1_000_000).time_us, 42.0 + 1500.0));
}

/// Rail rings and rail trees (NCCL's ring and tree on multi-GPU nodes), hardware mode, two nodes
/// of two GPUs: each GPU's NIC carries one of the two channels, its NVLink the other.
#[test]
fn rail_rings_and_trees_by_hand() {
    let empty = FitReport::default();
    for oversubscription in [1.0, 4.0] {
        let target = toy(oversubscription);
        let input = measured_by(&empty, &target);
        let opts = PredictOptions {
            strategies: vec![Strategy::RailRings, Strategy::RailTrees],
            ..PredictOptions::default()
        };
        let p = predict(&input, &[4], &[1_000_000], &opts).unwrap();
        // Rings: a chunk crosses 3 hops per phase, 2 over NVLink (1 us) and 1 across (5 us);
        // 1.5e6 bytes leave each rank, half of them on its 1 GB/s NIC (the NVLink half at
        // 100 GB/s takes 7.5 us, under the NIC's 750). Rings ignore oversubscription.
        let rings = row(&p, "rail-rings", 4, 1_000_000);
        assert!(close(rings.terms.latency_us, 2.0 * (2.0 + 5.0)));
        assert!(close(rings.terms.bandwidth_us, 750.0));
        assert_eq!(rings.terms.oversubscription_us, 0.0);
        // Trees: 2 x (1 NVLink step + 1 network step); 2n/g = 1e6 bytes on each NIC (the
        // chain's 1e6 bytes over NVLink take 10 us); like rings, not oversubscribed.
        let trees = row(&p, "rail-trees", 4, 1_000_000);
        assert!(close(trees.terms.latency_us, 2.0 * (1.0 + 5.0)));
        assert!(close(trees.terms.bandwidth_us, 1000.0));
        assert_eq!(trees.terms.oversubscription_us, 0.0);
        assert_eq!(trees.protocol, None);
    }
    // One node: nothing crosses the network, so neither applies (the flat ones cover it).
    let one_node = toy(1.0);
    let input = measured_by(&empty, &one_node);
    let opts = PredictOptions {
        strategies: vec![Strategy::RailRings, Strategy::Flat(Algorithm::Ring)],
        ..PredictOptions::default()
    };
    let p = predict(&input, &[2], &[1_000_000], &opts).unwrap();
    assert!(p.rows.iter().all(|r| r.algorithm == "ring"));
}

/// With a lab that measured some algorithms, target mode prices those from the lab and the
/// others from the hardware alone, and says which is which.
#[test]
fn unmeasured_algorithms_are_priced_from_the_hardware_and_marked() {
    let ring_only = FitReport {
        fits: vec![AlgorithmFit::from_params(
            Algorithm::Ring,
            CostParams {
                alpha_us: 10.0,
                beta_us_per_byte: 0.01,
                gamma_us_per_byte: 0.0,
            },
            Some(1e9),
        )],
        skipped: Vec::new(),
    };
    let target = toy(1.0);
    let input = measured_by(&ring_only, &target);
    let opts = PredictOptions {
        strategies: vec![
            Strategy::Flat(Algorithm::Ring),
            Strategy::Flat(Algorithm::Rd),
        ],
        ..PredictOptions::default()
    };
    let p = predict(&input, &[4], &[1_000_000], &opts).unwrap();
    let source = |a: Algorithm| p.carried.iter().find(|c| c.algorithm == a).unwrap().source;
    assert_eq!(source(Algorithm::Ring), CarrySource::Lab);
    assert_eq!(source(Algorithm::Rd), CarrySource::Hardware);
    // The lab's ring keeps its efficiency and overhead (the two-level test's numbers).
    assert!(close(row(&p, "ring", 4, 1_000_000).time_us, 90.0 + 1875.0));
    assert!(p
        .assumptions
        .iter()
        .any(|a| a.contains("from the hardware alone")
            && a.contains("rd")
            && !a.contains("ring,")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Target mode on the lab's own hardware gives back lab mode: the efficiency and overhead
    /// carried out and back in cancel, for any p, size and fitted parameters.
    #[test]
    fn target_mode_on_the_lab_is_lab_mode(
        p in 2usize..200_000,
        size in 1u64..(1 << 31),
        alpha in 1.0f64..200.0,
        efficiency in 0.3f64..1.0,
        gamma in 0.0f64..1e-3,
    ) {
        let rate = 500e6;
        let params = CostParams {
            alpha_us: alpha,
            beta_us_per_byte: 1e6 / (efficiency * rate / 8.0),
            gamma_us_per_byte: gamma,
        };
        let f = fits(params, Some(rate));
        let lab = Scenario::lab(8, rate, 0.0);
        let input = PredictInput { fits: &f, scenario: &lab, lab: LabReference::from_scenario(&lab), stragglers: None };
        let strategies: Vec<Strategy> = Algorithm::ALL.iter().map(|a| Strategy::Flat(*a)).collect();
        let lab_mode = predict(&input, &[p], &[size], &PredictOptions { mode: Mode::Lab, strategies: strategies.clone(), ..PredictOptions::default() }).unwrap();
        let target = predict(&input, &[p], &[size], &PredictOptions { mode: Mode::Target, strategies, ..PredictOptions::default() }).unwrap();
        prop_assert_eq!(lab_mode.rows.len(), target.rows.len());
        for (a, b) in lab_mode.rows.iter().zip(&target.rows) {
            prop_assert_eq!(&a.algorithm, &b.algorithm);
            prop_assert!((a.time_us - b.time_us).abs() <= 1e-9 * a.time_us, "{a:?} vs {b:?}");
            // And lab mode is the fitted form itself.
            let alg: Algorithm = a.algorithm.parse().unwrap();
            let want = params.time_us(&alg.cost(p, size as f64, &topologies::BuildOptions::default()));
            prop_assert!((a.time_us - want).abs() <= 1e-9 * want);
        }
    }
}

/// The NCCL stack on the two-node toy, by hand (no lab, no reduction rate): each protocol's
/// base latency once, its step latencies (NVLink inside a node, the network plus the
/// scenario's 5 us across), its share of the link rate; the fastest protocol wins.
#[test]
fn the_nccl_stack_by_hand_on_two_levels() {
    let empty = FitReport::default();
    let target = toy(1.0);
    let input = measured_by(&empty, &target);
    let opts = PredictOptions {
        strategies: vec![
            Strategy::Flat(Algorithm::Ring),
            Strategy::HierNode(Algorithm::Ring),
        ],
        stack: Some(StackProfile::Nccl),
        ..PredictOptions::default()
    };
    let p = predict(&input, &[4], &[1000, 1_000_000], &opts).unwrap();
    assert_eq!(p.stack, Some(StackProfile::Nccl));
    let at = |alg: &str, size: u64| {
        let r = row(&p, alg, 4, size);
        (r.time_us, r.protocol.clone().unwrap_or_default())
    };
    // Flat ring, 6 steps across the network, 1.5 n bytes at the NIC's 1 GB/s.
    // 1 MB: LL 6.6 + 6 x 7.7 + 3000; LL128 14 + 6 x 9 + 1500 / 0.92; Simple 8.4 + 6 x 19 + 1500.
    let (t, proto) = at("ring", 1_000_000);
    assert!(close(t, 8.4 + 114.0 + 1500.0), "{t}");
    assert_eq!(proto, "Simple");
    // 1 KB: LL 6.6 + 46.2 + 3 wins.
    let (t, proto) = at("ring", 1000);
    assert!(close(t, 6.6 + 46.2 + 3.0), "{t}");
    assert_eq!(proto, "LL");
    // hier-node:ring at 1 MB, Simple: inside nodes a ring of 2 at max(3.4, 3.0) us a step and
    // 1e6 B at NCCL's 20.6 of every 25 GB/s of NVLink; across, a ring of 2 on 5e5 B at 19 us a
    // step and 1 GB/s.
    let (t, proto) = at("hier-node:ring", 1_000_000);
    assert!(close(t, 8.4 + (6.8 + 10.0 / 0.824) + (38.0 + 500.0)), "{t}");
    assert_eq!(proto, "Simple");
    assert!(p.assumptions.iter().any(|a| a.starts_with("stack nccl")));
}

/// With a lab, the NCCL stack replaces the lab's per-message overhead (its efficiency stays);
/// `--stack lab` gives back the lab's overhead, as a scenario without a stack does.
#[test]
fn the_lab_stack_carries_the_lab_overhead_and_nccl_does_not() {
    let f = fits(
        CostParams {
            alpha_us: 10.0,
            beta_us_per_byte: 0.01,
            gamma_us_per_byte: 0.0,
        },
        Some(1e9),
    );
    let plain = toy(1.0);
    let mut with_nccl = plain.clone();
    with_nccl.stack = Some(StackProfile::Nccl);
    let run = |scenario: &Scenario, stack: Option<StackProfile>| {
        let input = PredictInput {
            fits: &f,
            scenario,
            lab: LabReference::default(),
            stragglers: None,
        };
        let opts = PredictOptions {
            strategies: vec![Strategy::Flat(Algorithm::Ring)],
            stack,
            ..PredictOptions::default()
        };
        predict(&input, &[4], &[1_000_000], &opts).unwrap()
    };
    let lab = run(&plain, None);
    assert_eq!(lab.stack, Some(StackProfile::Lab));
    // The two-level test's number: 10 us carried on every message, efficiency 0.8.
    assert!(close(
        row(&lab, "ring", 4, 1_000_000).time_us,
        90.0 + 1875.0
    ));
    let back = run(&with_nccl, Some(StackProfile::Lab));
    assert_eq!(back.rows, lab.rows);
    let nccl = run(&with_nccl, None);
    let ring = nccl
        .carried
        .iter()
        .find(|c| c.algorithm == Algorithm::Ring)
        .unwrap();
    assert_eq!(ring.overhead_us, 0.0, "the lab's overhead stays in the lab");
    assert!(close(ring.efficiency, 0.8), "its efficiency travels");
    // Simple: 8.4 + 6 x 19 + 1.5e6 B at 0.8 GB/s.
    assert!(close(
        row(&nccl, "ring", 4, 1_000_000).time_us,
        8.4 + 114.0 + 1875.0
    ));
    // The lab's stack without a lab is refused.
    let none = FitReport::default();
    let input = measured_by(&none, &plain);
    let opts = PredictOptions {
        stack: Some(StackProfile::Lab),
        ..PredictOptions::default()
    };
    assert!(predict(&input, &[4], &[1], &opts).is_err());
}

/// Host noise at the target: the scenario's `[noise]`, or `--noise`, prices each schedule's
/// expected wait in the stragglers column, the same at every size; `Off` drops it.
#[test]
fn noise_is_priced_per_schedule_and_can_be_turned_off() {
    use scale_model::noise_form::Noise;
    use scale_model::NoiseSetting;
    use topologies::noise::Delay;
    let empty = FitReport::default();
    let mut target = toy(1.0);
    target.noise = Some(Noise::Fixed(Delay::Exp { mean_us: 100.0 }));
    let input = measured_by(&empty, &target);
    let opts = PredictOptions {
        strategies: vec![
            Strategy::Flat(Algorithm::Ring),
            Strategy::Flat(Algorithm::Rd),
        ],
        ..PredictOptions::default()
    };
    let p = predict(&input, &[4], &[1024, 1_000_000], &opts).unwrap();
    let ring = row(&p, "ring", 4, 1024).terms.straggler_us;
    assert_eq!(ring, row(&p, "ring", 4, 1_000_000).terms.straggler_us);
    // Six steps, each waiting on the slower of its own draw and its neighbour's at least.
    assert!(ring > 6.0 * 150.0 && ring < 6.0 * 250.0, "{ring}");
    // Recursive doubling has two steps: far less than the ring's six.
    assert!(row(&p, "rd", 4, 1024).terms.straggler_us < ring / 2.0);
    assert!(p.assumptions.iter().any(|a| a.starts_with("noise: ")));
    let off = PredictOptions {
        noise: NoiseSetting::Off,
        ..opts.clone()
    };
    let p = predict(&input, &[4], &[1024], &off).unwrap();
    assert_eq!(row(&p, "ring", 4, 1024).terms.straggler_us, 0.0);
    assert!(p.assumptions.iter().any(|a| a.starts_with("no host noise")));

    // A share of each step's time: the same share of every size's time, so it grows with
    // the size, and at a size it is the fixed delay of that share of the mean step.
    let share = PredictOptions {
        noise: NoiseSetting::Given("exp:10%".parse().unwrap()),
        ..opts.clone()
    };
    let p = predict(&input, &[4], &[1024, 1_000_000], &share).unwrap();
    let (small, large) = (row(&p, "ring", 4, 1024), row(&p, "ring", 4, 1_000_000));
    let part =
        |r: &scale_model::PredictionRow| r.terms.straggler_us / (r.time_us - r.terms.straggler_us);
    assert!(
        (part(small) / part(large) - 1.0).abs() < 1e-9,
        "{small:?} {large:?}"
    );
    let step = (large.time_us - large.terms.straggler_us) / 6.0;
    target.noise = Some(Noise::Fixed(Delay::Exp {
        mean_us: 0.1 * step,
    }));
    let fixed = predict(&measured_by(&empty, &target), &[4], &[1_000_000], &opts).unwrap();
    let want = row(&fixed, "ring", 4, 1_000_000).terms.straggler_us;
    assert!(
        (large.terms.straggler_us / want - 1.0).abs() < 1e-9,
        "{} against {want}",
        large.terms.straggler_us
    );
    assert!(p
        .assumptions
        .iter()
        .any(|a| a.contains("% of the step's own time")
            || a.contains("percent of the step's own time")));
}

/// Target mode leaves the lab host's straggler tail in the lab unless asked to carry it.
#[test]
fn the_labs_straggler_tail_stays_in_the_lab_unless_carried() {
    let f = fits(common::lab_params(), Some(500e6));
    let target =
        Scenario::parse(include_str!("../../../scenarios/h100-100k.toml"), "t.toml").unwrap();
    let mut rng = scale_model::rng::SplitMix64::new(5);
    let deviations: Vec<f64> = (0..5_000).map(|_| rng.exponential(30.0)).collect();
    let tail =
        StragglerModel::from_deviations(&deviations, 8, &StragglerOptions::default()).unwrap();
    let input = PredictInput {
        fits: &f,
        scenario: &target,
        lab: LabReference::default(),
        stragglers: Some(&tail),
    };
    let strategies = vec![Strategy::Flat(Algorithm::Ring)];
    let left = PredictOptions {
        strategies: strategies.clone(),
        ..PredictOptions::default()
    };
    let p = predict(&input, &[2048], &[1 << 20], &left).unwrap();
    assert_eq!(p.rows[0].terms.straggler_us, 0.0);
    assert!(p
        .assumptions
        .iter()
        .any(|a| a.starts_with("the lab's straggler tail is not carried")));
    let carried = PredictOptions {
        strategies,
        lab_stragglers_at_target: true,
        ..PredictOptions::default()
    };
    let p = predict(&input, &[2048], &[1 << 20], &carried).unwrap();
    assert!(p.rows[0].terms.straggler_us > 0.0);
}

/// NCCL's kernels reduce as they copy: under its stack a flat ring's reduction costs only what
/// the transfers do not hide; under none it adds in full.
#[test]
fn the_nccl_stack_fuses_reductions_into_transfers() {
    let text = "name = \"one node\"\n[cluster]\ngpus = 8\ngpus_per_node = 8\n\
         [intra_node]\nbandwidth_gb_per_s = 100\nlatency_us = 1\n\
         [network]\nnic_gbit_per_s = 8\nlatency_us = 5\n\
         [compute]\nreduce_gb_per_s = 10\n";
    let target = Scenario::parse(text, "one.toml").unwrap();
    let empty = FitReport::default();
    let input = measured_by(&empty, &target);
    let at = |stack| {
        let opts = PredictOptions {
            strategies: vec![Strategy::Flat(Algorithm::Ring)],
            stack: Some(stack),
            ..PredictOptions::default()
        };
        let p = predict(&input, &[8], &[8_000_000], &opts).unwrap();
        row(&p, "ring", 8, 8_000_000).terms
    };
    // 7e6 bytes reduced at 10 GB/s: 700 us; 1.4e7 bytes moved at 100 GB/s (NCCL: x 0.824).
    let none = at(StackProfile::None);
    assert!(close(none.reduction_us, 700.0), "{none:?}");
    assert!(close(none.bandwidth_us, 140.0), "{none:?}");
    // Under NCCL's stack, whichever protocol wins, the transfers and the reduction together
    // take the longer of the two: the 700 us of reducing.
    let nccl = at(StackProfile::Nccl);
    assert!(nccl.bandwidth_us >= 140.0 / 0.824 - 1e-9, "{nccl:?}");
    assert!(
        close(nccl.bandwidth_us + nccl.reduction_us, 700.0),
        "{nccl:?}"
    );
}
