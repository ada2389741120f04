//! Scenario files: the shipped ones parse; malformed or inconsistent ones are rejected with the
//! file, the line and the field.

use proptest::prelude::*;
use scale_model::scenario::{DType, Scenario, ScenarioError, Topology};

const LAB: &str = include_str!("../../../scenarios/lab.toml");
const LLAMA3: &str = include_str!("../../../scenarios/llama3-24k.toml");
const H100_100K: &str = include_str!("../../../scenarios/h100-100k.toml");
const H200_2K: &str = include_str!("../../../scenarios/h200-2k.toml");
const H100_16K: &str = include_str!("../../../scenarios/h100-16k.toml");

const GOOD: &str = r#"name = "t"

[cluster]
gpus = 32
gpus_per_node = 8

[intra_node]
bandwidth_gb_per_s = 450
latency_us = 0.5

[network]
nic_gbit_per_s = 400
latency_us = 2

[[network.tiers]]
name = "rack"
gpus = 16
oversubscription = 1
hop_latency_us = 1

[[network.tiers]]
name = "top"
gpus = 32
oversubscription = 2
hop_latency_us = 1
"#;

fn replaced(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

/// The line on which `needle` (which may span lines) starts.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in text"));
    text[..at].matches('\n').count() + 1
}

/// Parses `text` as `file`, expects an error at the line holding `needle`, mentioning `field`.
fn rejected(text: &str, needle: &str, field: &str) -> ScenarioError {
    let e = Scenario::parse(text, "bad.toml").expect_err("should be rejected");
    let msg = e.to_string();
    let line = line_of(text, needle);
    assert_eq!(e.line(), line, "{msg}");
    assert!(msg.starts_with(&format!("bad.toml:{line}:")), "{msg}");
    assert!(msg.contains(field), "{msg} should name {field}");
    e
}

#[test]
fn shipped_scenarios_parse() {
    let lab = Scenario::parse(LAB, "scenarios/lab.toml").unwrap();
    assert_eq!(lab.cluster.gpus, 8);
    assert_eq!(lab.network.nic_gbit_per_s, 0.5);

    let l3 = Scenario::parse(LLAMA3, "scenarios/llama3-24k.toml").unwrap();
    assert_eq!(l3.cluster.gpus, 24_576);
    assert_eq!(l3.cluster.gpus_per_node, 8);
    let tiers: Vec<(usize, f64)> = l3
        .network
        .tiers
        .iter()
        .map(|t| (t.gpus, t.oversubscription))
        .collect();
    assert_eq!(tiers, vec![(16, 1.0), (3072, 1.0), (24_576, 7.0)]);
    assert_eq!(l3.network.nic_gbit_per_s, 400.0);
    let w = l3.workload_point().unwrap();
    assert_eq!(w.ranks, 128);
    assert_eq!(w.rank_stride, 128);
    // 405e9 / (8 x 16) parameters x 2 bytes.
    assert_eq!(w.bytes, 6_328_125_000);
    assert_eq!(
        l3.workload.as_ref().unwrap().model.as_ref().unwrap().dtype,
        DType::Bf16
    );

    let big = Scenario::parse(H100_100K, "scenarios/h100-100k.toml").unwrap();
    assert!(big.cluster.gpus >= 100_000);
    let m = big.workload.as_ref().unwrap().model.as_ref().unwrap();
    assert_eq!(m.tp * m.pp * m.dp, big.cluster.gpus);
    // The Llama-4-like MoE exchange: 128 experts over 64 GPUs, 24 MoE layers.
    let moe = big.workload.as_ref().unwrap().moe.unwrap();
    assert_eq!((moe.ep, moe.layers, moe.top_k), (64, 24, 1));

    // The SuperPOD-like fabrics: scalable units of 32 nodes, full fat trees.
    for (text, gpus, tiers) in [
        (H200_2K, 2048, vec![256, 2048]),
        (H100_16K, 16_384, vec![256, 2048, 16_384]),
    ] {
        let s = Scenario::parse(text, "superpod.toml").unwrap();
        assert_eq!(s.cluster.gpus, gpus);
        assert_eq!(s.cluster.gpus_per_node, 8);
        assert_eq!(s.network.nic_gbit_per_s, 400.0);
        let got: Vec<usize> = s.network.tiers.iter().map(|t| t.gpus).collect();
        assert_eq!(got, tiers);
        assert!(s.network.tiers.iter().all(|t| t.oversubscription == 1.0));
    }
}

#[test]
fn shipped_scenarios_cite_a_source_for_every_number() {
    for (name, text) in [
        ("lab", LAB),
        ("llama3", LLAMA3),
        ("100k", H100_100K),
        ("h200-2k", H200_2K),
        ("h100-16k", H100_16K),
    ] {
        for (i, line) in text.lines().enumerate() {
            let code = line.split('#').next().unwrap_or("");
            let has_number = code.contains('=')
                && code
                    .split('=')
                    .nth(1)
                    .is_some_and(|v| v.trim().starts_with(|c: char| c.is_ascii_digit()));
            if has_number {
                assert!(
                    line.contains('#'),
                    "{name}:{}: a number without its source: {line}",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn good_scenario_round_trips_through_toml() {
    let s = Scenario::parse(GOOD, "good.toml").unwrap();
    let again = Scenario::parse(&s.to_toml(), "again.toml").unwrap();
    assert_eq!(s, again);
    assert_eq!(s.path_latency_us(1), 4.0);
    assert_eq!(s.cumulative_oversubscription(1), 2.0);
    let lab = Scenario::lab(8, 500e6, 0.0);
    assert_eq!(Scenario::parse(&lab.to_toml(), "lab.toml").unwrap(), lab);
}

#[test]
fn gpus_not_divisible_by_gpus_per_node() {
    let t = replaced("gpus = 32", "gpus = 36");
    let e = rejected(&t, "gpus = 36", "cluster.gpus");
    assert!(e.to_string().contains("not a whole number of nodes"), "{e}");
}

#[test]
fn negative_bandwidth() {
    let t = replaced("nic_gbit_per_s = 400", "nic_gbit_per_s = -400");
    rejected(&t, "nic_gbit_per_s", "network.nic_gbit_per_s");
    let t = replaced("bandwidth_gb_per_s = 450", "bandwidth_gb_per_s = -1.5");
    rejected(&t, "bandwidth_gb_per_s", "intra_node.bandwidth_gb_per_s");
}

#[test]
fn unknown_field() {
    let t = replaced("latency_us = 2", "latency_us = 2\nlatency_ns = 2000");
    let e = rejected(&t, "latency_ns", "latency_ns");
    assert!(matches!(e, ScenarioError::Syntax { .. }));
    let t = replaced("name = \"rack\"", "name = \"rack\"\nradix = 64");
    rejected(&t, "radix", "radix");
}

#[test]
fn other_inconsistencies_name_their_field() {
    // Oversubscription written as a fraction.
    let t = replaced("oversubscription = 2", "oversubscription = 0.5");
    rejected(
        &t,
        "oversubscription = 0.5",
        "network.tiers[1].oversubscription",
    );
    // A tier that is not a multiple of the one below.
    let t = replaced("gpus = 16", "gpus = 24");
    rejected(
        &t,
        "gpus = 32\noversubscription = 2",
        "network.tiers[1].gpus",
    );
    // The top tier must span the cluster.
    let t = GOOD.replace("gpus = 32\noversubscription", "gpus = 16\noversubscription");
    let t = t.replacen(
        "gpus = 16\noversubscription = 1",
        "gpus = 8\noversubscription = 1",
        1,
    );
    rejected(
        &t,
        "gpus = 16\noversubscription = 2",
        "network.tiers[1].gpus",
    );
    // Missing intra-node links for multi-GPU nodes.
    let t = GOOD.replace(
        "[intra_node]\nbandwidth_gb_per_s = 450\nlatency_us = 0.5\n",
        "",
    );
    rejected(&t, "gpus_per_node", "intra_node");
    // Negative latency.
    let t = replaced("hop_latency_us = 1\n", "hop_latency_us = -1\n");
    rejected(&t, "hop_latency_us = -1", "network.tiers[0].hop_latency_us");
    // A model bigger than the cluster.
    let t = format!(
        "{GOOD}\n[workload.model]\nparams = 7e9\ndtype = \"bf16\"\ntp = 8\npp = 2\ndp = 4\n"
    );
    rejected(&t, "dp = 4", "workload.model.dp");
    // An unknown dtype.
    let t = format!(
        "{GOOD}\n[workload.model]\nparams = 7e9\ndtype = \"int3\"\ntp = 8\npp = 2\ndp = 2\n"
    );
    rejected(&t, "int3", "workload.model.dtype");
    // Both kinds of workload.
    let t = format!("{GOOD}\n[workload]\nbytes = \"1G\"\n[workload.model]\nparams = 7e9\ndtype = \"bf16\"\ntp = 8\npp = 2\ndp = 2\n");
    rejected(&t, "[workload.model]", "workload.model");
    // A byte count that is not one.
    let t = format!("{GOOD}\n[workload]\nbytes = \"lots\"\n");
    rejected(&t, "lots", "workload.bytes");
}

#[test]
fn missing_field_and_bad_toml() {
    let t = GOOD.replace("gpus_per_node = 8\n", "");
    let e = Scenario::parse(&t, "bad.toml").unwrap_err();
    assert!(e.to_string().contains("gpus_per_node"), "{e}");
    assert!(e.to_string().starts_with("bad.toml:"), "{e}");
    let e = Scenario::parse("name = \n", "x.toml").unwrap_err();
    assert_eq!(e.line(), 1);
    let t = replaced("gpus = 32", "gpus = \"many\"");
    let e = rejected(&t, "\"many\"", "expected");
    assert!(matches!(e, ScenarioError::Syntax { .. }));
}

#[test]
fn workload_bytes_accepts_suffixes() {
    let t = format!("{GOOD}\n[workload]\nbytes = \"1G\"\nranks = 16\n");
    let s = Scenario::parse(&t, "w.toml").unwrap();
    let w = s.workload_point().unwrap();
    assert_eq!((w.bytes, w.ranks, w.rank_stride), (1 << 30, 16, 1));
}

proptest! {
    /// Any GPU count and node size: accepted exactly when the GPUs make whole nodes.
    #[test]
    fn divisibility_is_checked(gpus in 1usize..4096, per_node in 1usize..17) {
        let text = format!(
            "name = \"p\"\n[cluster]\ngpus = {gpus}\ngpus_per_node = {per_node}\n\
             [intra_node]\nbandwidth_gb_per_s = 1\nlatency_us = 0\n\
             [network]\nnic_gbit_per_s = 1\nlatency_us = 0\n\
             [[network.tiers]]\nname = \"all\"\ngpus = {gpus}\noversubscription = 1\nhop_latency_us = 0\n"
        );
        let r = Scenario::parse(&text, "p.toml");
        if gpus % per_node == 0 {
            prop_assert!(r.is_ok(), "{:?}", r);
        } else {
            let e = r.unwrap_err();
            prop_assert_eq!(e.line(), 3);
            prop_assert!(e.to_string().contains("cluster.gpus"));
        }
    }
}

#[test]
fn a_stack_profile_is_read_checked_and_written_back() {
    let with = format!("{GOOD}\n[stack]\nprofile = \"nccl\"\n");
    let s = Scenario::parse(&with, "stack.toml").unwrap();
    assert_eq!(s.stack, Some(scale_model::StackProfile::Nccl));
    assert_eq!(Scenario::parse(&s.to_toml(), "again.toml").unwrap(), s);
    assert_eq!(Scenario::parse(GOOD, "good.toml").unwrap().stack, None);
    let bad = format!("{GOOD}\n[stack]\nprofile = \"mpi\"\n");
    let e = rejected(&bad, "profile = \"mpi\"", "stack.profile");
    assert!(e.to_string().contains("nccl, lab, none"), "{e}");
}

#[test]
fn noise_is_a_delay_distribution() {
    use scale_model::noise_form::Noise;
    let s = Scenario::parse(
        &format!("{GOOD}\n[noise]\ndelay = \"pareto:50us:2.5\"  # a source\n"),
        "n.toml",
    )
    .unwrap();
    assert_eq!(
        s.noise,
        Some(Noise::Fixed(topologies::noise::Delay::Pareto {
            scale_us: 50.0,
            shape: 2.5
        }))
    );
    assert_eq!(Scenario::parse(&s.to_toml(), "again.toml").unwrap(), s);
    // A share of each step's time, written back as read.
    let share = Scenario::parse(
        &format!("{GOOD}\n[noise]\ndelay = \"exp:12.5%\"\n"),
        "s.toml",
    )
    .unwrap();
    assert_eq!(
        share.noise,
        Some(Noise::Scaled(topologies::noise::Delay::Exp {
            mean_us: 12.5
        }))
    );
    assert_eq!(
        Scenario::parse(&share.to_toml(), "again.toml").unwrap(),
        share
    );
    let bad = format!("{GOOD}\n[noise]\ndelay = \"pareto:50us:1\"\n");
    let e = rejected(&bad, "delay = \"pareto", "noise.delay");
    assert!(e.to_string().contains("above 1"), "{e}");
}

#[test]
fn a_levels_topology_is_read_checked_and_written_back() {
    let s = Scenario::parse(GOOD, "good.toml").unwrap();
    assert_eq!(s.intra_node.as_ref().unwrap().topology, Topology::Switch);
    assert!(s
        .network
        .tiers
        .iter()
        .all(|t| t.topology == Topology::Switch));
    assert!(!s.to_toml().contains("topology"), "{}", s.to_toml());
    // Both spellings, any case; written back in the file's.
    let t = replaced("latency_us = 0.5", "latency_us = 0.5\ntopology = \"Ring\"");
    let t = t.replacen(
        "hop_latency_us = 1\n",
        "hop_latency_us = 1\ntopology = \"fully_connected\"\n",
        1,
    );
    let s = Scenario::parse(&t, "kinds.toml").unwrap();
    assert_eq!(s.intra_node.as_ref().unwrap().topology, Topology::Ring);
    assert_eq!(s.network.tiers[0].topology, Topology::FullyConnected);
    assert_eq!(s.network.tiers[1].topology, Topology::Switch);
    assert!(
        s.to_toml().contains("topology = \"ring\""),
        "{}",
        s.to_toml()
    );
    assert_eq!(Scenario::parse(&s.to_toml(), "again.toml").unwrap(), s);
    // A kind ASTRA-sim does not have.
    let bad = replaced("latency_us = 0.5", "latency_us = 0.5\ntopology = \"torus\"");
    let e = rejected(&bad, "topology = \"torus\"", "intra_node.topology");
    let msg = e.to_string();
    assert!(msg.contains("'torus'"), "{msg}");
    assert!(
        msg.contains("switch, ring, fully_connected") && msg.contains("FullyConnected"),
        "{msg}"
    );
    let bad = replaced(
        "hop_latency_us = 1\n",
        "hop_latency_us = 1\ntopology = \"mesh\"\n",
    );
    rejected(&bad, "topology = \"mesh\"", "network.tiers[0].topology");
    // Not a string: toml's error, at the value.
    let bad = replaced("hop_latency_us = 1\n", "hop_latency_us = 1\ntopology = 3\n");
    let e = rejected(&bad, "topology = 3", "string");
    assert!(matches!(e, ScenarioError::Syntax { .. }));
}
