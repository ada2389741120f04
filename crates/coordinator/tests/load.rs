//! Load (issue 7, item 7): 32 ranks, one process each, on a machine with a couple of cores
//! complete a short sweep of two algorithms with the default progress timeout, so an
//! oversubscribed but healthy run is not declared stalled. No speed is asserted.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

#[test]
fn thirty_two_ranks_on_a_small_machine_finish_without_a_false_timeout() {
    let p = 32;
    let dir = tempdir("load32");
    let out = collbench()
        .args([
            "run",
            "--np",
            "32",
            "-b",
            "1K",
            "-e",
            "64K",
            "-f",
            "4",
            "-n",
            "3",
            "-w",
            "1",
            "--algo",
            "ring,dbtree",
            "--out",
        ])
        .arg(&dir)
        .output()
        .expect("collbench runs");
    let err = stderr(&out);
    assert!(out.status.success(), "32-rank run failed:\n{err}");
    assert!(
        !err.to_lowercase().contains("timed out") && !err.contains("stalled"),
        "a timeout was reported:\n{err}"
    );
    let v = results(&dir);
    assert!(v["failure"].is_null(), "failure recorded: {}", v["failure"]);
    let rows = v["results"].as_array().unwrap();
    // 1K, 4K, 16K, 64K for each of ring and dbtree.
    assert_eq!(rows.len(), 8, "{rows:#?}");
    for algo in ["ring", "dbtree"] {
        assert_eq!(rows.iter().filter(|r| r["algorithm"] == algo).count(), 4);
    }
    for r in rows {
        assert_eq!(r["nranks"], p);
        assert_eq!(r["nwrong"], 0, "{r}");
        assert_eq!(r["in_place"]["nwrong"], 0, "{r}");
    }
    let mut pids = pids(&v);
    assert_eq!(pids.len(), p);
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), p, "one process per rank");
    // Every bench-node has exited once the coordinator has.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids.iter().any(|&pid| alive(pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let left: Vec<_> = pids.iter().filter(|&&pid| alive(pid)).collect();
    assert!(left.is_empty(), "bench-nodes still running: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
