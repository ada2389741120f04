//! A node killed mid-sweep or mid-ping-pong, and Ctrl-C: a clear error naming the rank, valid
//! partial results, no process left behind, no hang.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Starts a long sweep and waits until at least one size has been written. The caller reaps the
/// child in `finish`.
#[allow(clippy::zombie_processes)]
fn start_long_run(dir: &std::path::Path, p: usize, extra: &[&str]) -> (Child, serde_json::Value) {
    let mut child = collbench()
        .args([
            "run",
            "--np",
            &p.to_string(),
            "-b",
            "1K",
            "-e",
            "1G",
            "-f",
            "2",
            "-n",
            "20",
            "--out",
        ])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("results.json")) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if v["results"].as_array().is_some_and(|r| !r.is_empty()) {
                    return (child, v);
                }
            }
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no size completed within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the coordinator to exit (at most 60 s) and returns its stderr.
fn finish(mut child: Child) -> (std::process::ExitStatus, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status, err);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the coordinator hung after the fault");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn a_killed_node_is_named_and_nothing_is_lost_or_left() {
    killed_rank_2(&[]);
}

/// The same on three channels: the node's threads and every channel's connections go with it.
#[test]
fn a_killed_node_on_three_channels_is_named_and_nothing_is_lost_or_left() {
    killed_rank_2(&["--channels", "3", "--channel-min-bytes", "1K"]);
}

fn killed_rank_2(extra: &[&str]) {
    let dir = tempdir(&format!("kill{}", extra.len()));
    let (child, before) = start_long_run(&dir, 4, extra);
    let pids = pids(&before);
    signal(pids[2], "-KILL");
    let (status, err) = finish(child);
    assert!(!status.success());
    assert!(
        err.contains("rank 2"),
        "stderr does not name rank 2:\n{err}"
    );
    assert!(err.contains("killed by signal 9"), "{err}");
    let after = results(&dir);
    let rows = after["results"].as_array().unwrap();
    assert!(!rows.is_empty(), "completed sizes were lost");
    assert!(rows.iter().all(|r| r["nwrong"] == 0));
    assert_eq!(after["failure"]["rank"], 2);
    for pid in pids {
        assert!(!alive(pid), "bench-node {pid} was left running");
    }
}

#[test]
fn ctrl_c_ends_the_run_cleanly() {
    let dir = tempdir("sigint");
    let (child, before) = start_long_run(&dir, 3, &[]);
    signal(child.id(), "-INT");
    let (status, err) = finish(child);
    assert!(!status.success());
    assert!(err.contains("interrupted"), "{err}");
    let after = results(&dir);
    assert!(!after["results"].as_array().unwrap().is_empty());
    assert!(after["failure"]["message"]
        .as_str()
        .unwrap()
        .contains("interrupted"));
    for pid in pids(&before) {
        assert!(!alive(pid), "bench-node {pid} was left running");
    }
}

/// Rank 1 killed while it ping-pongs with rank 0: named like any failure (the ping-pong, its size
/// and iteration), the all-reduce rows and the file's validity kept, nothing left running.
#[test]
fn a_node_killed_during_the_ping_pong_is_named_and_nothing_is_lost() {
    let dir = tempdir("kill-pingpong");
    // One size: the all-reduce (about 0.5 s an iteration in a debug build) then the ping-pong
    // (about 50 ms a round trip), which rank 1 is killed in as soon as the all-reduce row is in.
    let mut child = collbench()
        .args(["run", "--np", "2", "--pingpong", "-b", "16M", "-e", "16M"])
        .args(["-n", "8", "-w", "0", "-c", "0", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let start = Instant::now();
    let before = loop {
        let v = std::fs::read_to_string(dir.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        if let Some(v) = v.filter(|v| v["results"].as_array().is_some_and(|r| r.len() == 1)) {
            break v;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the all-reduce did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let pids = pids(&before);
    signal(pids[1], "-KILL");
    let (status, err) = finish(child);
    assert!(!status.success(), "the run went on:\n{err}");
    assert!(
        err.contains("rank 1"),
        "stderr does not name rank 1:\n{err}"
    );
    assert!(
        err.contains("during the ping-pong (rank 0 <-> 1) 16777216 bytes iteration"),
        "{err}"
    );
    let after = results(&dir);
    assert_eq!(
        after["results"].as_array().unwrap().len(),
        1,
        "the all-reduce row was lost"
    );
    assert!(after["pingpong"].as_array().unwrap().is_empty());
    let f = &after["failure"];
    assert_eq!(
        (f["rank"].as_u64(), f["size"].as_u64()),
        (Some(1), Some(16 << 20))
    );
    assert!(
        f["algorithm"].is_null(),
        "the ping-pong is not an algorithm: {f}"
    );
    for pid in pids {
        assert!(!alive(pid), "bench-node {pid} was left running");
    }
}

/// `--fault jitter:DIST`: every rank sleeps a draw before each step's sends, so each iteration
/// takes at least its draws; the run says so in the table and records it in results.json.
#[test]
fn jitter_delays_every_step_and_is_recorded() {
    let dir = tempdir("fault-jitter");
    let o = collbench()
        .args([
            "run",
            "--np",
            "2",
            "-b",
            "1K",
            "-e",
            "2K",
            "-n",
            "10",
            "-w",
            "1",
            "--fault",
            "jitter:exp:2ms",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("# WARNING: jitter injected (--fault jitter:exp:2ms)"),
        "{}",
        stdout(&o)
    );
    let r = results(&dir);
    assert_eq!(r["config"]["jitter"], "exp:2ms");
    // Two ranks in a ring: two steps, each opened by a sleep of mean 2 ms on every rank, so an
    // iteration's mean is about 6 ms (each step waits for the slower of two draws); without
    // jitter a 1 KiB iteration here takes well under a millisecond. The draws are fixed by
    // their seeds, so the bound below does not depend on luck.
    for row in r["results"].as_array().unwrap() {
        let time = row["time"].as_f64().unwrap();
        assert!(time >= 2000.0, "{row}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
