//! Runs over QUIC between separate bench-node processes on loopback: correct sums, schema-valid
//! results, one PID per rank, an nccl-tests-shaped table, and the `--pingpong` sweep after it.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

/// Sizes 4, 12, 36, ..., 8748 bytes: 1, 3, 9, ..., 2187 elements, so counts below p and counts
/// that p does not divide are both covered.
fn sweep_args(p: usize, dir: &std::path::Path) -> Vec<String> {
    [
        "run",
        "--np",
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
    // No ping-pong unless asked for.
    assert!(v.get("pingpong").is_none());
    assert!(!dir.join("pingpong.csv").exists());
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
    let v = check_run(2, &[]);
    // auto: polls where every rank was given at least half a core.
    let cores: Vec<f64> = v["config"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["cores"].as_f64().unwrap())
        .collect();
    let want = if cores.iter().all(|&c| c >= 0.5) {
        500
    } else {
        0
    };
    assert_eq!(v["config"]["poll_us"], want, "auto, at {cores:?} cores");
}

#[test]
fn three_ranks_int32() {
    // Also the path without polling: every receive lets the thread sleep at once.
    let v = check_run(3, &["-d", "int32", "--poll-us", "0"]);
    assert_eq!(v["results"][0]["type"], "int32");
    assert_eq!(v["config"]["poll_us"], 0);
}

/// Ring pieces of 64 bytes: from 1,296 bytes on, every chunk is forwarded in several pieces
/// (up to 10 at 8,748 bytes and p = 4, more than can be in flight), over real QUIC links.
#[test]
fn four_ranks_ring_in_pieces() {
    let v = check_run(4, &["--ring-segment", "64"]);
    assert_eq!(v["config"]["ring_segment_bytes"], 64);
}

/// --no-encryption: the same exact sums over payloads in clear, and every output says so.
#[test]
fn unencrypted_data_plane_is_correct_and_marked() {
    let dir = tempdir("mp-noenc");
    let out = collbench()
        .args(sweep_args(3, &dir))
        .arg("--no-encryption")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    assert_eq!(v["config"]["data_plane_unencrypted"], true);
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["nwrong"], 0, "{r}");
        assert_eq!(r["in_place"]["nwrong"], 0, "{r}");
    }
    assert!(stdout(&out).contains("# WARNING: data plane UNENCRYPTED"));
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("Data plane unencrypted"));
    let _ = std::fs::remove_dir_all(&dir);
    // An encrypted run's file does not carry the field at all.
    let v = check_run(2, &[]);
    assert!(v["config"].get("data_plane_unencrypted").is_none());
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

/// `--pingpong` with an idle third rank: after the all-reduce table, one ping-pong row per size
/// (rank 0 <-> 1) on stdout, in results.json (schema-valid) and in pingpong.csv; one-way times
/// are positive and grow with the size.
#[test]
fn ping_pong_after_the_sweep() {
    let dir = tempdir("pingpong");
    let out = collbench()
        .args([
            "run",
            "--np",
            "3",
            "--pingpong",
            "-b",
            "1K",
            "-e",
            "1M",
            "-f",
            "4",
        ])
        .args(["-n", "20", "-w", "2", "--out"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    let sizes: Vec<u64> = (0..6).map(|k| 1024 << (2 * k)).collect();
    assert_eq!(v["results"].as_array().unwrap().len(), sizes.len());
    let rows = v["pingpong"].as_array().expect("a pingpong list");
    let got: Vec<u64> = rows.iter().map(|r| r["size"].as_u64().unwrap()).collect();
    assert_eq!(got, sizes, "one row per size of the sweep, in order");
    let mean = |r: &serde_json::Value| r["one_way"]["mean_us"].as_f64().unwrap();
    for r in rows {
        assert_eq!(r["iterations"], 20);
        assert_eq!(r["ranks"], serde_json::json!([0, 1]));
        assert_eq!(r["hosts"][0], v["config"]["hosts"][0]["host"]);
        let w = &r["one_way"];
        let min = w["min_us"].as_f64().unwrap();
        assert!(
            min > 0.0 && min <= mean(r) && mean(r) <= w["max_us"].as_f64().unwrap(),
            "{r}"
        );
        let bw = r["bandwidth"].as_f64().unwrap();
        let size = r["size"].as_f64().unwrap();
        assert!((bw - size / mean(r) / 1e3).abs() <= 1e-9 * bw, "{r}");
    }
    // 1 MiB takes longer one way than 1 KiB, and moves at a higher rate. (The fastest round
    // trips, and no factor between them: on a loaded machine a process's wake-up can cost a
    // 1 KiB round trip as much as moving 1 MiB.)
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    let fastest = |r: &serde_json::Value| r["one_way"]["min_us"].as_f64().unwrap();
    assert!(fastest(last) > fastest(first), "{first}\n{last}");
    assert!(last["bandwidth"].as_f64() > first["bandwidth"].as_f64());

    // Its own table after the all-reduce's: 9 fields a row, next to the 13-field rows.
    let text = stdout(&out);
    let (allreduce, pingpong) = text
        .split_once("# Point-to-point (ping-pong, rank 0 <-> 1")
        .expect("a ping-pong table");
    assert!(allreduce.contains("# Out of bounds values : 0 OK"));
    let data = |t: &str| -> Vec<usize> {
        t.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().count())
            .collect()
    };
    assert_eq!(data(allreduce), vec![13; sizes.len()], "{text}");
    let (_, pingpong) = pingpong.split_once('\n').unwrap();
    assert_eq!(data(pingpong), vec![9; sizes.len()], "{text}");
    let csv = std::fs::read_to_string(dir.join("pingpong.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + sizes.len());
    assert!(csv.starts_with("run_id,size,iterations,one_way_us,"));
    assert!(std::fs::read_to_string(dir.join("report.md"))
        .unwrap()
        .contains("## Point-to-point (ping-pong, rank 0 <-> 1)"));
}
