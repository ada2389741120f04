//! Runs over QUIC between separate bench-node processes on loopback: correct sums, schema-valid
//! results, one PID per rank, an nccl-tests-shaped table.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

/// Sizes 4, 12, 36, ..., 8748 bytes: 1, 3, 9, ..., 2187 elements, so counts below p and counts
/// that p does not divide are both covered.
fn sweep_args(p: usize, dir: &std::path::Path) -> Vec<String> {
    [
        "run",
        "-N",
        &p.to_string(),
        "-b",
        "4",
        "-e",
        "8748",
        "-f",
        "3",
        "-n",
        "3",
        "-w",
        "1",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dir.display().to_string()])
    .collect()
}

fn check_run(p: usize, extra: &[&str]) -> serde_json::Value {
    let dir = tempdir(&format!("mp{p}-{}", extra.join("")));
    let out = collbench()
        .args(sweep_args(p, &dir))
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "p={p} {extra:?} failed:\n{}",
        stderr(&out)
    );
    let v = results(&dir);
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 8, "one row per size");
    for r in rows {
        assert_eq!(r["nwrong"], 0, "p={p} {r}");
        assert_eq!(r["in_place"]["nwrong"], 0, "p={p}");
        assert_eq!(r["nranks"], p);
        assert!(r["time"].as_f64().unwrap() > 0.0);
    }
    let mut pids = pids(&v);
    assert_eq!(pids.len(), p);
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), p, "one process per rank");
    assert!(!pids.contains(&std::process::id()));
    // The table's data rows have exactly 13 fields, like nccl-tests'.
    let text = stdout(&out);
    let data: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(data.len(), 8, "{text}");
    assert!(
        data.iter().all(|l| l.split_whitespace().count() == 13),
        "{text}"
    );
    assert!(text.contains("# Out of bounds values : 0 OK"));
    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9, "header and one line per size");
    let _ = std::fs::remove_dir_all(&dir);
    v
}

#[test]
fn one_rank() {
    let v = check_run(1, &[]);
    assert_eq!(v["results"][0]["bus_bw"], 0.0, "busbw factor is 0 at p = 1");
}

#[test]
fn two_ranks() {
    check_run(2, &[]);
}

#[test]
fn three_ranks_int32() {
    let v = check_run(3, &["-d", "int32"]);
    assert_eq!(v["results"][0]["type"], "int32");
}

/// Ring pieces of 64 bytes: from 1,296 bytes on, every chunk is forwarded in several pieces
/// (up to 10 at 8,748 bytes and p = 4, more than can be in flight), over real QUIC links.
#[test]
fn four_ranks_ring_in_pieces() {
    let v = check_run(4, &["--ring-segment", "64"]);
    assert_eq!(v["config"]["ring_segment_bytes"], 64);
}

#[test]
fn five_ranks_max() {
    let v = check_run(5, &["-o", "max"]);
    assert_eq!(v["results"][0]["redop"], "max");
}

#[test]
fn busbw_follows_nccl_tests_definition() {
    let v = check_run(3, &["-o", "min"]);
    for r in v["results"].as_array().unwrap() {
        let size = r["size"].as_f64().unwrap();
        let time = r["time"].as_f64().unwrap();
        let algbw = size / time / 1e3;
        assert!((r["alg_bw"].as_f64().unwrap() - algbw).abs() < 1e-9 * algbw.max(1.0));
        assert!((r["bus_bw"].as_f64().unwrap() - algbw * 4.0 / 3.0).abs() < 1e-9 * algbw.max(1.0));
    }
}
