//! The in-switch reductions (nvls, nvls-tree, collnet-direct, collnet-chain): by hand on a toy
//! cluster, with and without NCCL's stack, refused where the switches do not reduce, and
//! never priced from a lab.

mod common;

use proptest::prelude::*;
use scale_model::predict::LabReference;
use scale_model::stack::StackProfile;
use scale_model::{FitReport, Mode, PredictInput, PredictOptions, Prediction, Scenario, Strategy};

const IN_SWITCH: [Strategy; 4] = [
    Strategy::Nvls,
    Strategy::NvlsTree,
    Strategy::CollNetDirect,
    Strategy::CollNetChain,
];

/// Nodes of `per_node` GPUs at 100 GB/s and 1 us, a 1 GB/s NIC at 5 us under one switch tier;
/// `nvls` and `sharp` say which switches reduce.
fn toy(gpus: usize, per_node: usize, nvls: bool, sharp: bool) -> Scenario {
    let text = format!(
        "name = \"toy\"\n[cluster]\ngpus = {gpus}\ngpus_per_node = {per_node}\n\
         [intra_node]\nbandwidth_gb_per_s = 100\nlatency_us = 1\nin_switch_reduction = {nvls}\n\
         [network]\nnic_gbit_per_s = 8\nlatency_us = 5\nin_switch_reduction = {sharp}\n\
         [[network.tiers]]\nname = \"top\"\ngpus = {gpus}\noversubscription = 4\nhop_latency_us = 0\n"
    );
    Scenario::parse(&text, "toy.toml").expect("toy scenario parses")
}

fn run(scenario: &Scenario, ranks: &[usize], sizes: &[u64], opts: PredictOptions) -> Prediction {
    common::predict_hardware(scenario, ranks, sizes, &opts)
}

fn in_switch(stack: StackProfile) -> PredictOptions {
    PredictOptions {
        strategies: IN_SWITCH.to_vec(),
        stack: Some(stack),
        ..PredictOptions::default()
    }
}

fn time(p: &Prediction, name: &str, ranks: usize, size: u64) -> f64 {
    p.rows
        .iter()
        .find(|r| r.algorithm == name && r.ranks == ranks && r.size == size)
        .unwrap_or_else(|| panic!("no row {name} at {ranks}: {:?}", p.assumptions))
        .time_us
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// Two nodes of two GPUs, 1 MB: the wire alone, then NCCL's Simple protocol.
#[test]
fn by_hand_on_two_nodes_of_two() {
    let s = toy(4, 2, true, true);
    let p = run(&s, &[4], &[1_000_000], in_switch(StackProfile::None));
    // nvls: 1.5 MB each way over NVLink (15 us) under the NIC's 0.5 MB shard (500 us), which
    // the oversubscribed tier does not slow; one NVLink and one network latency.
    assert!(close(time(&p, "nvls", 4, 1_000_000), 1.0 + 5.0 + 500.0));
    // nvls-tree on two nodes: the shard is exchanged once; 1 + 2 x 1 x 5 us.
    assert!(close(time(&p, "nvls-tree", 4, 1_000_000), 11.0 + 500.0));
    // collnet-direct: 2 x 0.5 MB over NVLink (10 us) under 500 us; two NVLink latencies.
    assert!(close(time(&p, "collnet-direct", 4, 1_000_000), 7.0 + 500.0));
    // collnet-chain: a chain of two, 2 (g - 1) NVLink latencies.
    assert!(close(time(&p, "collnet-chain", 4, 1_000_000), 7.0 + 500.0));

    let p = run(&s, &[4], &[1_000_000], in_switch(StackProfile::Nccl));
    let nvls = p.rows.iter().find(|r| r.algorithm == "nvls").expect("nvls");
    assert_eq!(nvls.protocol.as_deref(), Some("Simple"));
    // NCCL: NVLS's 25 us NVLink step and 18 us network step plus the level's 5; no base.
    assert!(close(nvls.time_us, 25.0 + 23.0 + 500.0), "{}", nvls.time_us);
    // CollNet direct: 2 x 3.7 + 31 + 5 us; Hopper's 0.85 on the bandwidth.
    assert!(close(
        time(&p, "collnet-direct", 4, 1_000_000),
        7.4 + 36.0 + 500.0 / 0.85
    ));
}

/// Inside one node nvls needs no SHARP: n (1 + 1/g) over NVLink, at NCCL's share of NVLink
/// and its NVLS efficiency under its stack.
#[test]
fn nvls_inside_one_node() {
    let s = toy(8, 8, true, false);
    let p = run(&s, &[8], &[8_000_000], in_switch(StackProfile::None));
    assert!(close(time(&p, "nvls", 8, 8_000_000), 1.0 + 90.0));
    // Nothing of the others runs inside one node.
    assert_eq!(p.rows.len(), 1, "{:?}", p.rows);
    let p = run(&s, &[8], &[8_000_000], in_switch(StackProfile::Nccl));
    assert!(close(
        time(&p, "nvls", 8, 8_000_000),
        25.0 + 90.0 / (0.824 * 0.85)
    ));
}

/// Without the switches that reduce, each is left out once, saying which table to set; across
/// nodes nvls needs SHARP too.
#[test]
fn refused_without_the_switches() {
    let p = run(
        &toy(8, 2, false, false),
        &[4, 8],
        &[1 << 20],
        in_switch(StackProfile::None),
    );
    assert!(p.rows.is_empty(), "{:?}", p.rows);
    for (name, table) in [
        ("nvls", "[intra_node]"),
        ("nvls-tree", "[intra_node]"),
        ("collnet-direct", "[network]"),
        ("collnet-chain", "[network]"),
    ] {
        let said: Vec<_> = p
            .assumptions
            .iter()
            .filter(|a| a.starts_with(&format!("{name}: ")))
            .collect();
        assert_eq!(said.len(), 1, "{name}: {:?}", p.assumptions);
        assert!(said[0].contains(table), "{}", said[0]);
    }
    let p = run(
        &toy(8, 2, true, false),
        &[8],
        &[1 << 20],
        in_switch(StackProfile::None),
    );
    let names: Vec<&str> = p.rows.iter().map(|r| r.algorithm.as_str()).collect();
    assert_eq!(names, ["nvls-tree"]);
    assert!(p
        .assumptions
        .iter()
        .any(|a| a.starts_with("nvls: the scenario's network does not reduce")));
}

/// Lab mode prices a cluster of the lab's links, which run no in-switch reduction.
#[test]
fn not_in_lab_mode() {
    let f = FitReport {
        fits: vec![scale_model::AlgorithmFit::from_params(
            topologies::Algorithm::Ring,
            scale_model::CostParams {
                alpha_us: 10.0,
                beta_us_per_byte: 0.01,
                gamma_us_per_byte: 0.0,
            },
            Some(1e9),
        )],
        skipped: Vec::new(),
    };
    let s = toy(8, 2, true, true);
    let input = PredictInput {
        fits: &f,
        scenario: &s,
        lab: LabReference::default(),
        stragglers: None,
    };
    let opts = PredictOptions {
        mode: Mode::Lab,
        ..in_switch(StackProfile::None)
    };
    let p = scale_model::predict(&input, &[8], &[1 << 20], &opts).expect("predicts");
    assert!(p.rows.is_empty(), "{:?}", p.rows);
    assert!(p
        .assumptions
        .iter()
        .any(|a| a.contains("priced from a target's hardware")));
}

proptest! {
    /// More bytes or more nodes never make an in-switch reduction faster, and every term is
    /// finite and non-negative.
    #[test]
    fn monotone_in_bytes_and_nodes(
        per_node in 2usize..9,
        nodes in 2usize..64,
        bytes in 1u64..1_000_000_000,
        nccl in any::<bool>(),
    ) {
        let gpus = per_node * nodes * 2;
        let s = toy(gpus, per_node, true, true);
        let stack = if nccl { StackProfile::Nccl } else { StackProfile::None };
        let (p, q) = (per_node * nodes, per_node * nodes * 2);
        let pr = run(&s, &[p, q], &[bytes, bytes * 2], in_switch(stack));
        for st in IN_SWITCH {
            let name = st.name();
            let t = |r, b| time(&pr, &name, r, b);
            prop_assert!(t(p, bytes) <= t(p, bytes * 2), "{name}");
            prop_assert!(t(p, bytes) <= t(q, bytes) + 1e-9, "{name}");
        }
        for r in &pr.rows {
            let terms = &r.terms;
            for v in [terms.latency_us, terms.bandwidth_us, terms.reduction_us] {
                prop_assert!(v.is_finite() && v >= 0.0, "{r:?}");
            }
        }
    }
}
