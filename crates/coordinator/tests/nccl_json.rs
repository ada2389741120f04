//! `-J FILE` writes nccl-tests' JSON: read here by a reader written from nccl-tests' own JSON
//! writer (its `src/util.cu`, file version 3), with its field names and types, not collbench's.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;
use serde::Deserialize;

/// nccl-tests' JSON file, as its writer lays it out.
#[derive(Deserialize)]
struct NcclTestsJson {
    version: u32,
    start_time: String,
    end_time: String,
    args: Vec<String>,
    #[allow(dead_code)]
    env: Vec<String>,
    #[allow(dead_code)]
    nccl_version: i64,
    config: Config,
    results: Vec<Record>,
    out_of_bounds: OutOfBounds,
    average_bus_bandwidth: AverageBusBandwidth,
}

#[derive(Deserialize)]
struct Config {
    nthreads: u32,
    ngpus: u32,
    minimum_bytes: u64,
    maximum_bytes: u64,
    step_factor: Option<u64>,
    step_bytes: Option<u64>,
    warmup_iters: u32,
    iterations: u32,
    aggregated_iterations: u32,
    validation: u32,
    devices: Vec<Device>,
}

#[derive(Deserialize)]
struct Device {
    rank: u32,
    pid: u32,
    hostname: String,
}

#[derive(Deserialize)]
struct Record {
    size: u64,
    count: u64,
    #[serde(rename = "type")]
    dtype: String,
    redop: String,
    /// Written with "%6i".
    root: String,
    out_of_place: Placement,
    in_place: Placement,
    actual_iterations: u32,
    /// With -I 1.
    out_of_place_per_iter: Option<PerIter>,
}

#[derive(Deserialize)]
struct PerIter {
    min_us: f64,
    max_us: f64,
    p99_us: f64,
    cv_pct: f64,
    times_us: Vec<f64>,
}

#[derive(Deserialize)]
struct Placement {
    time: f64,
    alg_bw: f64,
    bus_bw: f64,
    nwrong: Option<f64>,
}

#[derive(Deserialize)]
struct OutOfBounds {
    count: u64,
    okay: bool,
}

#[derive(Deserialize)]
struct AverageBusBandwidth {
    bandwidth: f64,
    /// "unchecked" without NCCL_TESTS_MIN_BW, else true or false.
    okay: serde_json::Value,
}

#[test]
fn a_reader_of_nccl_tests_json_reads_collbench_json() {
    let dir = tempdir("nccl-json");
    let json = dir.join("nccl.json");
    std::fs::create_dir_all(&dir).unwrap();
    let out = collbench()
        .args([
            "run", "--np", "3", "-b", "1K", "-e", "16K", "-f", "4", "-n", "3", "-w", "1",
        ])
        .args(["--min-busbw", "0.000001", "-J"])
        .arg(&json)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let f: NcclTestsJson = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(f.version, 3);
    assert_eq!(
        f.start_time.len(),
        "2026-12-04 23:20:01".len(),
        "{}",
        f.start_time
    );
    assert!(f.end_time >= f.start_time);
    assert!(f.args.iter().any(|a| a == "-J"), "{:?}", f.args);
    let c = &f.config;
    assert_eq!((c.nthreads, c.ngpus, c.validation), (1, 1, 1));
    assert_eq!((c.minimum_bytes, c.maximum_bytes), (1024, 16384));
    assert_eq!((c.step_factor, c.step_bytes), (Some(4), None));
    assert_eq!(
        (c.warmup_iters, c.iterations, c.aggregated_iterations),
        (1, 3, 1)
    );
    assert_eq!(c.devices.len(), 3);
    assert!(c
        .devices
        .iter()
        .enumerate()
        .all(|(i, d)| d.rank as usize == i && d.pid > 0));
    assert!(!c.devices[0].hostname.is_empty());
    let sizes: Vec<u64> = f.results.iter().map(|r| r.size).collect();
    assert_eq!(sizes, [1024, 4096, 16384]);
    for r in &f.results {
        assert!(r.out_of_place_per_iter.is_none(), "only with -I 1");
        assert_eq!(
            (r.count, r.dtype.as_str(), r.redop.as_str()),
            (r.size / 4, "float", "sum")
        );
        assert_eq!(r.root.trim(), "-1");
        assert_eq!(r.actual_iterations, 3);
        for p in [&r.out_of_place, &r.in_place] {
            assert!(p.time > 0.0 && p.alg_bw > 0.0 && p.bus_bw >= p.alg_bw);
            assert_eq!(p.nwrong, Some(0.0));
        }
    }
    assert_eq!((f.out_of_bounds.count, f.out_of_bounds.okay), (0, true));
    assert!(f.average_bus_bandwidth.bandwidth > 0.0);
    assert_eq!(f.average_bus_bandwidth.okay, serde_json::json!(true));

    // "-" is stdout: the JSON follows the table.
    let out = collbench()
        .args([
            "run", "--np", "2", "-b", "1K", "-e", "1K", "-n", "2", "-w", "1", "-I", "1", "-J", "-",
        ])
        .arg("--out")
        .arg(dir.join("run2"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let start = text.find("\n{").unwrap() + 1;
    let f: NcclTestsJson = serde_json::from_str(&text[start..]).unwrap();
    assert_eq!(f.results.len(), 1);
    let it = f.results[0].out_of_place_per_iter.as_ref().unwrap();
    assert_eq!(it.times_us.len(), 2, "one time per timed iteration");
    assert!(it.min_us <= it.p99_us && it.p99_us <= it.max_us && it.cv_pct >= 0.0);
    assert!(it
        .times_us
        .iter()
        .all(|&t| t >= it.min_us && t <= it.max_us));
    assert_eq!(f.average_bus_bandwidth.okay, serde_json::json!("unchecked"));
    // results.json has the run's metadata too.
    let v = results(&dir.join("run"));
    assert!(v["config"]["command_line"].as_array().unwrap().len() > 5);
    assert!(v["config"]["ended_at"].as_str().unwrap().ends_with('Z'));
}
