//! Exports for planning tools: ASTRA-sim's network config, SimAI's busbw table, the JSON profile.

mod common;

use scale_model::export::simai::SimaiGroups;
use scale_model::export::{astra_network, simai_busbw, Profile};
use scale_model::predict::{Carried, LabReference};
use scale_model::{
    AlgorithmFit, CostParams, FitReport, Mode, PredictInput, PredictOptions, Scenario, StackProfile,
};
use topologies::Algorithm;

fn llama3() -> Scenario {
    Scenario::parse(
        include_str!("../../../scenarios/llama3-24k.toml"),
        "l3.toml",
    )
    .expect("shipped scenario parses")
}

fn ring_fit() -> AlgorithmFit {
    // 90% of a 500 Mbit/s link, 80 us per message.
    AlgorithmFit::from_params(Algorithm::Ring, common::lab_params(), Some(500e6))
}

/// A lab that measured an algorithm faster than its link (tc's bucket) does not hand the target
/// links faster than theirs: the efficiency is capped at 1 and the notes say why.
#[test]
fn an_efficiency_above_one_is_capped_and_noted() {
    let mut params = common::lab_params();
    params.beta_us_per_byte /= 2.0; // 1.8x the 500 Mbit/s link
    let fit = AlgorithmFit::from_params(Algorithm::Tree, params, Some(500e6));
    let mut notes = Vec::new();
    let carried = Carried::new(&fit, &LabReference::default(), None, None, &mut notes);
    assert_eq!(carried.efficiency, 1.0);
    assert!(notes.iter().all(|n| !n.contains("  ")), "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("1.80x") && n.contains("capped at 1")),
        "{notes:?}"
    );
    let (carried, notes) = ring_carried(None);
    assert!((carried.efficiency - 0.9).abs() < 1e-9);
    assert!(notes.is_empty(), "{notes:?}");
}

/// Ring's fit as carried, with `overhead_us` in place of its own where given, and its notes.
fn ring_carried(overhead_us: Option<f64>) -> (Carried, Vec<String>) {
    let mut notes = Vec::new();
    let carried = Carried::new(
        &ring_fit(),
        &LabReference::default(),
        overhead_us,
        None,
        &mut notes,
    );
    (carried, notes)
}

#[test]
fn astra_sim_config_for_llama3() {
    let s = llama3();
    let (carried, _) = ring_carried(Some(5.0));
    assert!((carried.efficiency - 0.9).abs() < 1e-9);
    let net = astra_network(&s, 24_576, 1, &carried, Mode::Target, StackProfile::Lab);
    assert_eq!(net.topology, vec!["Switch"; 4]);
    assert_eq!(net.npus_count, vec![8, 2, 192, 8]);
    assert_eq!(net.npus_count.iter().product::<usize>(), 24_576);
    // NVLink: 450 GB/s x 0.9 in 2^30 bytes/s.
    let nvlink = 450e9 * 0.9 / (1u64 << 30) as f64;
    assert!(
        (net.bandwidth[0] - nvlink).abs() < 1e-3,
        "{:?}",
        net.bandwidth
    );
    // Across pods: 50 GB/s x 0.9 / 7.
    let top = 50e9 * 0.9 / 7.0 / (1u64 << 30) as f64;
    assert!((net.bandwidth[3] - top).abs() < 1e-3, "{:?}", net.bandwidth);
    // Latency halved for the switch's two hops: (5 us overhead + 0.5 us NVLink) / 2 in ns.
    assert!((net.latency[0] - 2750.0).abs() < 1e-6, "{:?}", net.latency);
    // Across pods: 5 + 2 + 1 + 1 + 1 us, halved.
    assert!((net.latency[3] - 5000.0).abs() < 1e-6, "{:?}", net.latency);
    // Read back by a YAML parser, it is the same network, and its comments say where from.
    let yaml = net.to_yaml();
    assert!(
        yaml.starts_with("# ASTRA-sim analytical network config"),
        "{yaml}"
    );
    let docs = yaml_rust2::YamlLoader::load_from_str(&yaml).expect("valid YAML");
    let doc = &docs[0];
    let strings = |k: &str| -> Vec<String> {
        doc[k]
            .as_vec()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let floats = |k: &str| -> Vec<f64> {
        doc[k]
            .as_vec()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    assert_eq!(strings("topology"), ["Switch"; 4]);
    let counts: Vec<i64> = doc["npus_count"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(counts, [8, 2, 192, 8]);
    assert_eq!(floats("bandwidth"), net.bandwidth);
    assert_eq!(floats("latency"), net.latency);
}

/// Reads the table the way SimAI's analytical mode does: skip the first line, sections end in
/// ':', entries are `key,: value` with `null` left unset.
fn read_like_simai(text: &str) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_suffix(':') {
            section = s.to_string();
            continue;
        }
        let (key, value) = line.split_once(':').expect("key: value");
        let key = key.split(',').next().unwrap_or_default().trim().to_string();
        let value = value.trim();
        if value != "null" {
            out.push((section.clone(), key, value.parse().expect("a number")));
        }
    }
    out
}

#[test]
fn simai_busbw_table() {
    let s = llama3();
    let fits = FitReport {
        fits: vec![ring_fit()],
        skipped: Vec::new(),
    };
    let input = PredictInput {
        fits: &fits,
        scenario: &s,
        lab: LabReference::default(),
        stragglers: None,
    };
    // The lab's stack with a given overhead of 5 us per message (the scenario's NCCL stack
    // is not what this table is checked against).
    let opts = PredictOptions {
        overhead_us: Some(5.0),
        stack: Some(scale_model::StackProfile::Lab),
        ..PredictOptions::default()
    };
    let groups = SimaiGroups {
        tp_ranks: 8,
        tp_bytes: 256 << 20,
        dp_ranks: 128,
        dp_stride: 128,
        dp_bytes: 1 << 30,
        ep: None,
    };
    let table = simai_busbw(&input, &opts, &groups).unwrap();
    let yaml = table.to_yaml();
    assert!(yaml.starts_with("llama3-24k\n"));
    let entries = read_like_simai(&yaml);
    let get = |sec: &str, key: &str| {
        entries
            .iter()
            .find(|e| e.0 == sec && e.1 == key)
            .map(|e| e.2)
    };
    let tp = get("TP", "allreduce").unwrap();
    let dp = get("DP", "allreduce").unwrap();
    let pp = get("PP", "busbw").unwrap();
    // TP inside a node, whose NVSwitch reduces: NVLS moves n (1 + 1/g) each way for a busbw
    // of 2 (g - 1)/g x n, priced at the hardware's 450 GB/s (no lab runs it), so above the
    // link's rate; DP is network-bound, well below.
    let nvls = 450e9 / (1.0 + 1.0 / 8.0) * 2.0 * 7.0 / 8.0 / (1u64 << 30) as f64;
    assert!(tp > 400.0 && tp <= nvls * (1.0 + 1e-9), "{tp} {nvls}");
    assert!(yaml.contains("TP: nvls over 8"), "{yaml}");
    assert!(dp > 1.0 && dp < 50e9 * 0.9 / (1u64 << 30) as f64, "{dp}");
    assert!((pp - 50e9 * 0.9 / (1u64 << 30) as f64).abs() < 1e-6, "{pp}");
    // All-gather, reduce-scatter and all-to-all come from their own predictions (here from the
    // hardware alone: the lab fitted only all-reduce), bounded by the links they run on.
    let node_gib = 450e9 / (1u64 << 30) as f64;
    let nic_gib = 50e9 / (1u64 << 30) as f64;
    for key in ["allgather", "reducescatter", "alltoall"] {
        let tp_op = get("TP", key).unwrap();
        let dp_op = get("DP", key).unwrap();
        assert!(
            tp_op > 0.0 && tp_op <= node_gib * (1.0 + 1e-9),
            "TP {key} {tp_op}"
        );
        assert!(
            dp_op > 0.0 && dp_op <= nic_gib * (1.0 + 1e-9),
            "DP {key} {dp_op}"
        );
    }
    assert!(yaml.contains("alltoall by"), "{yaml}");
    assert_eq!(get("EP", "allgather"), None);
    assert!(
        yaml.contains("EP: no experts in the workload (null)"),
        "{yaml}"
    );
    for section in ["TP:", "DP:", "EP:", "PP:"] {
        assert!(yaml.lines().any(|l| l == section), "{yaml}");
    }
    // With an expert-parallel group of 64 ranks 8 GPUs apart, 20 MiB an all-to-all: every EP
    // entry is priced, and its all-to-all is the fastest algorithm's busbw at that group.
    let with_ep = SimaiGroups {
        ep: Some((64, 8, 20 << 20)),
        ..groups.clone()
    };
    let table = simai_busbw(&input, &opts, &with_ep).unwrap();
    assert!(
        table.ep.iter().all(|v| v.is_some_and(|v| v > 0.0)),
        "{table:?}"
    );
    let direct = scale_model::predict(
        &input,
        &[64],
        &[20 << 20],
        &PredictOptions {
            collectives: vec![topologies::Collective::AllToAll],
            rank_stride: 8,
            ..opts.clone()
        },
    )
    .unwrap();
    let best = direct.best.first().unwrap().bus_bw * 1e9 / (1u64 << 30) as f64;
    assert!(
        (table.ep[3].unwrap() - best).abs() < 1e-3,
        "{table:?} vs {best}"
    );
}

#[test]
fn json_profile_round_trips() {
    let fits = FitReport {
        fits: vec![AlgorithmFit::from_params(
            Algorithm::Ring,
            CostParams {
                alpha_us: 1.0,
                beta_us_per_byte: 0.5,
                gamma_us_per_byte: f64::NAN,
            },
            None,
        )],
        skipped: vec!["tree: no points".to_string()],
    };
    let mut p = Profile::new(fits);
    p.scenario = Some(llama3());
    let json = p.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["fits"]["fits"][0]["algorithm"], "ring");
    assert_eq!(v["fits"]["fits"][0]["alpha_us"]["value"], 1.0);
    // A NaN is written as null rather than breaking the JSON.
    assert!(v["fits"]["fits"][0]["gamma_us_per_byte"]["value"].is_null());
    assert_eq!(v["scenario"]["cluster"]["gpus"], 24_576);
    assert!(v["tool"].as_str().unwrap().starts_with("collbench"));
}

/// Each dimension takes its level's topology, and its latency is the one-way latency over the
/// hops ASTRA-sim counts for that kind: 1 for a Ring (between neighbours) and a FullyConnected
/// dimension, 2 for a Switch. A level that names none stays a Switch.
#[test]
fn astra_sim_dimensions_take_the_scenarios_topologies() {
    let s = Scenario::parse(
        r#"name = "kinds"
[cluster]
gpus = 16
gpus_per_node = 4
[intra_node]
bandwidth_gb_per_s = 100
latency_us = 0.5
topology = "ring"
[network]
nic_gbit_per_s = 400
latency_us = 2
[[network.tiers]]
name = "rack"
gpus = 8
oversubscription = 1
hop_latency_us = 1
topology = "FullyConnected"
[[network.tiers]]
name = "top"
gpus = 16
oversubscription = 1
hop_latency_us = 1
"#,
        "kinds.toml",
    )
    .expect("scenario parses");
    let (carried, _) = ring_carried(Some(5.0));
    let net = astra_network(&s, 16, 1, &carried, Mode::Target, StackProfile::Lab);
    assert_eq!(net.topology, ["Ring", "FullyConnected", "Switch"]);
    assert_eq!(net.npus_count, [4, 2, 2]);
    // Ring, 1 hop: 5 us overhead + 0.5 us inside the node, whole.
    // FullyConnected, 1 hop: 5 + 2 + 1 us, whole.
    // Switch, 2 hops: 5 + 2 + 1 + 1 us, halved.
    assert_eq!(net.latency, [5500.0, 8000.0, 4500.0]);
    let yaml = net.to_yaml();
    assert!(
        yaml.contains("topology:\n  - Ring\n  - FullyConnected\n  - Switch\n"),
        "{yaml}"
    );
    assert!(yaml.contains("# dimension 0: node, Ring ("), "{yaml}");
    assert!(yaml.contains("over 1 hop)"), "{yaml}");
    assert!(yaml.contains("over 2 hops)"), "{yaml}");
}

/// With NCCL's stack, ASTRA-sim's dimensions take its Simple protocol's step latencies (NVLink
/// inside a node, the network plus the scenario's latency across), not the lab's overhead.
#[test]
fn astra_sim_config_with_the_nccl_stack() {
    let s = llama3();
    let mut notes = Vec::new();
    let mut carried = Carried::new(
        &ring_fit(),
        &LabReference::default(),
        None,
        None,
        &mut notes,
    );
    carried.overhead_us = 0.0;
    let net = astra_network(&s, 24_576, 1, &carried, Mode::Target, StackProfile::Nccl);
    // Inside a node: NCCL's Simple ring step, 3.4 us (above its 3 us network floor), halved.
    assert!((net.latency[0] - 1700.0).abs() < 1e-6, "{:?}", net.latency);
    // Across pods: 14 us a step plus the scenario's 5 us, halved.
    assert!((net.latency[3] - 9500.0).abs() < 1e-6, "{:?}", net.latency);
    // Simple reaches the whole (efficiency-scaled) rate, of NVLink NCCL's 20.6 GB/s a link of 25.
    let nvlink = 450e9 * 0.9 * 0.824 / (1u64 << 30) as f64;
    assert!(
        (net.bandwidth[0] - nvlink).abs() < 1e-3,
        "{:?}",
        net.bandwidth
    );
    assert!(net.comments.iter().any(|c| c.starts_with("stack nccl")));
}
