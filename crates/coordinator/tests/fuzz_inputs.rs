//! Fuzzing the file parsers the coordinator reads (issue 7, item 5): results files given to the
//! model (the typed reader, the model's loader and its histogram expansion) and topology files.
//!
//! Each target feeds arbitrary bytes or text and structure-aware mutations of valid inputs (a
//! results.json made here from the writer's types, the shipped `placements/*.toml`): byte
//! flips, splices, dictionary tokens, and JSON edits that swap a value, drop a field or add one.
//! Asserted: no panic; every error is clear (names the file and line or the field); no single
//! allocation during a parse beyond a stated bound (measured by a counting global allocator).
//! `scripts/fuzz.sh` runs a million or more inputs per target with `COLLBENCH_FUZZ_CASES`.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use coordinator::model::load::{histogram_samples, load};
use coordinator::topology_file::Topology;
use fuzz_harness::*;
use proptest::prelude::*;
use topologies::{Algorithm, DataType, ReduceOp};
use wire::results::{Failure, Measured, PingPongRow, RankHost, ResultRow, ResultsFile, RunConfig};
use wire::stats::IterStats;

// The shared harness: counting allocator, runner and mutations.
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

// ---------------------------------------------------------------------------------------------
// Valid inputs to mutate.

/// An encoded histogram of `(value ns, count)`; empty where a count exceeds what the format
/// holds (i64::MAX).
fn try_histogram_of(values: &[(u64, u64)]) -> String {
    let mut h = wire::histogram::new();
    for &(v, n) in values {
        h.saturating_record_n(v.clamp(1, wire::histogram::MAX_NS), n);
    }
    wire::histogram::to_base64(&h).unwrap_or_default()
}

fn histogram_of(values: &[(u64, u64)]) -> String {
    let t = try_histogram_of(values);
    assert!(!t.is_empty());
    t
}

fn measured(time: f64) -> Measured {
    Measured {
        iter_us: vec![time],
        time,
        alg_bw: 0.01,
        bus_bw: 0.015,
        nwrong: Some(0),
        per_iter: IterStats {
            mean_us: time,
            min_us: time * 0.9,
            p50_us: time,
            p95_us: time * 1.1,
            p99_us: time * 1.2,
            max_us: time * 1.3,
            stdev_us: 1.0,
        },
        rank_histogram: histogram_of(&[(1_000_000, 3), (1_200_000, 2)]),
        rank_mean_us: vec![time; 4],
        rank_iter_us: vec![vec![time * 0.9, time * 1.1]; 4],
        rank_cpu: (0..4)
            .map(|r| wire::results::RankCpu {
                busy_cores: 0.5 + r as f64 / 10.0,
                idle_poll_cores: 0.1,
                runq_wait_cores: None,
                cpu_s_per_gb: Some(1.2),
                thread_cpu_s: vec![0.01, 0.02],
            })
            .collect(),
        cpu_bound_ranks: vec![3],
        sched_bound_ranks: Vec::new(),
    }
}

/// A small valid results file as `collbench run` writes it.
fn valid_results(failure: bool) -> ResultsFile {
    let row = |algorithm, size: u64| ResultRow {
        collective: topologies::Collective::AllReduce,
        algorithm,
        nranks: 4,
        size,
        count: size / 4,
        dtype: DataType::Float,
        redop: ReduceOp::Sum,
        root: -1,
        channels: Some(2),
        out_of_place: measured(100.0 + size as f64 / 100.0),
        in_place: measured(90.0 + size as f64 / 100.0),
        link_rate_bps: Some(5e8),
        uplink_rate_bps: None,
        link_efficiency: Some(0.5),
    };
    ResultsFile {
        schema_version: wire::results::SCHEMA_VERSION,
        tool: "collbench 0.1.0".into(),
        config: RunConfig {
            run_id: "20260101-000000-abcd".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            nranks: 4,
            launcher: "local".into(),
            collectives: vec![topologies::Collective::AllReduce],
            algorithms: vec![Algorithm::Ring, Algorithm::DbTree],
            root: None,
            minbytes: 1024,
            maxbytes: 4096,
            stepfactor: 4,
            sizes: vec![1024, 4096],
            dtype: DataType::Float,
            redop: ReduceOp::Sum,
            types: Vec::new(),
            redops: Vec::new(),
            warmup_iters: 1,
            iters: 3,
            check: true,
            check_iters: Some(2),
            segment_bytes: 1 << 20,
            ring_segment_bytes: None,
            hosts: (0..4)
                .map(|r| RankHost {
                    rank: r,
                    host: "vm".into(),
                    pid: 1000 + r as u32,
                    data_addr: format!("127.0.0.1:{}", 40000 + r),
                    data_addrs: vec![
                        format!("127.0.0.1:{}", 40000 + r),
                        format!("127.0.0.1:{}", 41000 + r),
                    ],
                    cpus: Some("0-1".into()),
                    cores: Some(0.5),
                    bound_cpus: None,
                    cpu_model: Some("AMD EPYC 7B13".into()),
                    kernel: Some("6.1.0".into()),
                    interface: Some("lo".into()),
                    link_speed_mbps: None,
                })
                .collect(),
            link_rate_bps: Some(5e8),
            uplink_rate_bps: None,
            ranks_per_node: None,
            mtu: None,
            data_plane_unencrypted: false,
            jitter: None,
            poll_us: None,
            timing: None,
            group_size: Some(2),
            hier_inner: Some(Algorithm::Ring),
            hier_outer: Some(Algorithm::Rhd),
            grid: Some((2, 2)),
            channels: Some(2),
            channel_min_bytes: Some(65536),
            stepbytes: Some(1024),
            run_cycles: Some(2),
            agg_iters: Some(3),
            average: Some("mean".into()),
            command_line: Some(vec!["collbench".into(), "run".into()]),
            ended_at: Some("2026-12-04T23:00:00Z".into()),
        },
        results: vec![
            row(Algorithm::Ring, 1024),
            row(Algorithm::Ring, 4096),
            row(Algorithm::DbTree, 1024),
        ],
        failure: failure.then(|| Failure {
            message: "rank 2 timed out".into(),
            rank: Some(2),
            host: Some("vm".into()),
            collective: None,
            algorithm: Some(Algorithm::DbTree),
            size: Some(4096),
            step: Some(3),
            waiting_ranks: vec![1, 3],
        }),
        pingpong: Some(
            [1024u64, 4096]
                .iter()
                .map(|&size| PingPongRow {
                    size,
                    iterations: 3,
                    one_way: measured(50.0 + size as f64 / 1000.0).per_iter,
                    bandwidth: 0.02,
                    ranks: [0, 1],
                    hosts: ["vm".into(), "vm".into()],
                })
                .collect(),
        ),
        refused: [("control connection".to_string(), 2)].into(),
    }
}

fn results_seeds() -> Vec<serde_json::Value> {
    [false, true]
        .iter()
        .map(|&f| serde_json::to_value(valid_results(f)).unwrap())
        .collect()
}

fn results_strategy() -> impl Strategy<Value = Vec<u8>> {
    let seeds = results_seeds();
    let pretty: Vec<Vec<u8>> = seeds
        .iter()
        .map(|v| serde_json::to_vec_pretty(v).unwrap())
        .collect();
    prop_oneof![bytes(512), mutated(pretty), json_mutated(seeds),]
}

/// serde_json errors on untagged structs always carry a line and column.
fn clear_json_error(e: &serde_json::Error) -> Result<(), String> {
    if e.line() > 0 {
        Ok(())
    } else {
        Err(format!("error without a position: {e}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Targets.

/// The typed reader of results files (what the writer's own tests and the model share).
#[test]
fn fuzz_results_typed() {
    fuzz(
        "results_typed",
        2000,
        results_strategy(),
        |b| (64 << 10) + 16 * b.len(),
        |b| match serde_json::from_slice::<ResultsFile>(b) {
            Ok(_) => Ok(Outcome::Accepted),
            Err(e) => clear_json_error(&e).map(|()| Outcome::Refused),
        },
    );
}

/// A scratch directory for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("collbench-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The model's loader (`collbench model fit|predict|validate` read results this way): each
/// input is written to a results.json and loaded. Its errors name the file.
#[test]
fn fuzz_results_model_load() {
    let dir = scratch("load");
    let path = dir.join("results.json");
    let seeds = results_seeds();
    // The loader reads a valid file.
    std::fs::write(&path, serde_json::to_vec(&seeds[0]).unwrap()).unwrap();
    let loaded = load(std::slice::from_ref(&path), Default::default()).unwrap();
    assert_eq!(loaded.measurements.len(), 3);
    fuzz(
        "results_model_load",
        1500,
        results_strategy(),
        |b| (4 << 20) + 16 * b.len(),
        |b| {
            std::fs::write(&path, b).unwrap();
            match load(std::slice::from_ref(&path), Default::default()) {
                Ok(l) => {
                    for m in &l.measurements {
                        if !(m.time_us.is_finite() && m.time_us > 0.0) {
                            return Err(format!("accepted a time of {} us", m.time_us));
                        }
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    if msg.contains("results.json") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("error does not name the file: {msg}"))
                    }
                }
            }
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The model's expansion of a row's latency histogram into samples (the straggler term),
/// from valid histograms with extreme counts and from mutated encodings. (Found: three counts
/// near i64::MAX overflowed the sum of counts in `scale_model::measurement::expand_histogram`.) Bound: 4 MiB (the
/// histogram decoder's) and at most MAX_SAMPLES + one sample per distinct value.
#[test]
fn fuzz_histogram_samples() {
    let valid: Vec<Vec<u8>> = [
        histogram_of(&[(1000, 1)]),
        histogram_of(&[(1_000_000, 3), (1_200_000, 2)]),
    ]
    .iter()
    .map(|t| t.clone().into_bytes())
    .collect();
    let extreme = proptest::collection::vec(
        (
            any::<u64>(),
            prop_oneof![
                3 => Just(i64::MAX as u64),
                1 => Just(i64::MAX as u64 / 2),
                1 => 1u64..1000,
            ],
        ),
        0..6,
    )
    .prop_map(|pairs| try_histogram_of(&pairs).into_bytes());
    fuzz(
        "histogram_samples",
        2000,
        prop_oneof![extreme, mutated(valid), bytes(64)],
        |_| 4 << 20,
        |b| {
            let text = String::from_utf8_lossy(b);
            match histogram_samples(&text) {
                Ok(s) => {
                    if s.len() > coordinator::model::load::MAX_SAMPLES + 40_000 {
                        return Err(format!("{} samples", s.len()));
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    if msg.contains("rank_histogram") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("error does not name the field: {msg}"))
                    }
                }
            }
        },
    );
}

/// Topology files: errors name the file, the line and the field.
#[test]
fn fuzz_topology_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../placements");
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            seeds.push(std::fs::read(&p).unwrap());
        }
    }
    assert!(seeds.len() >= 2);
    fuzz(
        "topology_files",
        3000,
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            bytes(256),
            mutated(seeds),
        ],
        |b| (64 << 10) + 32 * b.len(),
        |b| {
            let text = String::from_utf8_lossy(b);
            match Topology::parse("t.toml", &text) {
                Ok(t) => {
                    let sum: usize = t.hosts.iter().map(|h| h.ranks).sum();
                    if t.nranks != sum || t.nranks == 0 || t.group_size * t.groups != t.nranks {
                        return Err(format!("inconsistent topology {t:?}"));
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = e.to_string();
                    if e.line >= 1 && !e.field.is_empty() && msg.starts_with("t.toml:") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("unclear error: {msg}"))
                    }
                }
            }
        },
    );
}

/// ssh hostfiles: errors name the file and the line; accepted entries are hosts ssh can be given
/// (no option-like names, no whitespace) with 1..=MAX_SLOTS slots, in file order.
#[test]
fn fuzz_hostfiles() {
    use coordinator::launcher::ssh_hostfile::{parse, HostfileError, MAX_SLOTS};
    let seeds: Vec<Vec<u8>> = [
        "# lab\nnode1 slots=8\nnode2 slots=8\n",
        "alice@10.0.0.5\n\n  10.0.0.6   slots=2  # spare\n",
        "h1\nh2 slots=1\nh3 slots=4096\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz(
        "hostfiles",
        3000,
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            bytes(256),
            mutated(seeds),
        ],
        |b| (16 << 10) + 64 * b.len(),
        |b| {
            let text = String::from_utf8_lossy(b);
            match parse(&text, "hosts.txt") {
                Ok(hosts) => {
                    let bad = hosts.iter().find(|h| {
                        h.host.is_empty()
                            || h.host.starts_with('-')
                            || h.host.contains(char::is_whitespace)
                            || h.slots == 0
                            || h.slots > MAX_SLOTS
                    });
                    match bad {
                        Some(h) => Err(format!("accepted a bad entry {h:?}")),
                        None if hosts.is_empty() => Err("accepted no hosts".into()),
                        None if hosts.windows(2).any(|w| w[0].line >= w[1].line) => {
                            Err("entries out of file order".into())
                        }
                        None => Ok(Outcome::Accepted),
                    }
                }
                Err(e @ HostfileError::Line { line, .. }) if line >= 1 => {
                    let msg = e.to_string();
                    if msg.starts_with("hosts.txt: line ") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("unclear error: {msg}"))
                    }
                }
                Err(HostfileError::Empty { .. }) => Ok(Outcome::Refused),
                Err(e) => Err(format!("unexpected error from text: {e}")),
            }
        },
    );
}
