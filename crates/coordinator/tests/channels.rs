//! Channels over QUIC between separate processes: every algorithm exact on 1 to 8 channels in
//! both placements, `--channels auto` from the cores each rank was given, and the warning under
//! rows that a host's CPU, not the network, set.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// `collbench run` limited to `cpus` (taskset's list), so that the cores a rank is given do not
/// depend on the machine the test runs on.
fn collbench_on(cpus: &str) -> Command {
    let mut c = Command::new("taskset");
    c.args(["-c", cpus, env!("CARGO_BIN_EXE_collbench")])
        .env("RUST_LOG", "warn");
    c
}

/// `collbench run --np NP -b SIZE -e SIZE -n ITERS -w WARMUP EXTRA --out DIR` on `cpus`.
fn run_on(
    cpus: &str,
    np: usize,
    size: &str,
    (iters, warmup): (u32, u32),
    extra: &[&str],
    dir: &Path,
) -> Output {
    collbench_on(cpus)
        .args(["run", "--np", &np.to_string(), "-b", size, "-e", size])
        .args(["-n", &iters.to_string(), "-w", &warmup.to_string()])
        .args(extra)
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn every_algorithm_is_exact_on_one_to_eight_channels() {
    for channels in 1..=8usize {
        let p = 2 + channels % 4;
        let dir = tempdir(&format!("channels{channels}"));
        // 1, 3, 9, 27, 81 and 243 floats: fewer elements than channels, and counts that do not
        // divide by the channels; no minimum part size, so every size uses all it can.
        let out = collbench()
            .args(["run", "--np", &p.to_string(), "--algo", "all"])
            .args(["-b", "4", "-e", "972", "-f", "3", "-n", "2", "-w", "1"])
            .args(["--segment", "8", "--ring-segment", "8"])
            .args([
                "--channels",
                &channels.to_string(),
                "--channel-min-bytes",
                "0",
            ])
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{channels} channels: {}",
            stderr(&out)
        );
        let v = results(&dir);
        assert_eq!(v["config"]["channels"], channels);
        // Every rank opened its own endpoint per channel.
        let hosts = v["config"]["hosts"].as_array().unwrap();
        let addrs: BTreeSet<&str> = hosts
            .iter()
            .flat_map(|h| h["data_addrs"].as_array().unwrap())
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(addrs.len(), p * channels);
        let rows = v["results"].as_array().unwrap();
        assert_eq!(rows.len(), 8 * 6, "eight algorithms x six sizes");
        for r in rows {
            let what = format!(
                "{channels} channels, p={p}, {} {}",
                r["algorithm"], r["size"]
            );
            assert_eq!(r["nwrong"], 0, "{what}");
            assert_eq!(r["in_place"]["nwrong"], 0, "{what}");
            let count = r["count"].as_u64().unwrap() as usize;
            let used = channels.min(count);
            assert_eq!(r["channels"], used, "{what}");
            for cpu in r["rank_cpu"].as_array().unwrap() {
                assert_eq!(
                    cpu["thread_cpu_s"].as_array().unwrap().len(),
                    used,
                    "{what}"
                );
            }
        }
        assert!(
            stdout(&out).contains(&format!("# Channels: {channels} per rank")),
            "{}",
            stdout(&out)
        );
        // results.csv carries the same: a channels column on every line.
        let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = header.iter().position(|h| *h == "channels").unwrap();
        for (line, r) in lines.zip(rows) {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), header.len(), "{line}");
            assert_eq!(fields[col], r["channels"].to_string(), "{line}");
        }
    }
}

#[test]
fn auto_opens_a_channel_per_core_each_rank_was_given() {
    let dir = tempdir("channels-auto");
    // Two ranks on two CPUs: one core each.
    let out = run_on("0,1", 2, "1M", (2, 1), &["--cpu-bind", "core"], &dir);
    if !std::path::Path::new("/sys/devices/system/cpu/cpu1").exists() {
        // A one-CPU machine cannot run this one; taskset says so and the run fails.
        assert!(!out.status.success());
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    assert_eq!(v["config"]["channels"], 1);
    for (rank, h) in v["config"]["hosts"].as_array().unwrap().iter().enumerate() {
        assert_eq!(h["cpus"], "0-1");
        assert_eq!(h["cores"], 1.0);
        // Each rank's channel thread bound to a CPU of its own (--cpu-bind core).
        assert_eq!(h["bound_cpus"], rank.to_string());
    }
    assert!(
        stdout(&out).contains("quic cores 1.00 bound 1"),
        "{}",
        stdout(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
    // One rank on the same two CPUs: two cores, two channels, and a 1 MiB buffer split in two.
    let out = run_on("0,1", 1, "1M", (2, 1), &["--cpu-bind", "core"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    assert_eq!(v["config"]["channels"], 2);
    assert_eq!(v["results"][0]["channels"], 2);
    assert_eq!(v["config"]["hosts"][0]["bound_cpus"], "0-1");
    // Left to the scheduler: nothing bound.
    let _ = std::fs::remove_dir_all(&dir);
    let out = run_on("0,1", 2, "1K", (2, 1), &["--cpu-bind", "none"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    assert!(v["config"]["hosts"][0].get("bound_cpus").is_none(), "{v}");
}

/// The table has a row marked as measuring the host: its CPU or its scheduler.
fn says_the_host_set_a_row(text: &str) {
    assert!(
        text.contains("this row measures the host's CPU, not the link")
            || text.contains("this row measures the host's scheduler, not the link"),
        "{text}"
    );
}

/// Four ranks on one CPU exchanging 1 KiB: every message waits for the other ranks' turns on
/// the core, and the row names the ranks that waited (where the kernel says how long).
#[test]
fn ranks_that_wait_for_a_core_are_named() {
    let dir = tempdir("channels-sched-bound");
    let out = run_on("0", 4, "1K", (100, 10), &[], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    // Four ranks on one CPU: less than a core each, so none is bound.
    assert!(v["config"]["hosts"][0].get("bound_cpus").is_none(), "{v}");
    let row = &v["results"][0];
    if !std::path::Path::new("/proc/thread-self/schedstat").exists() {
        // A kernel without scheduler statistics: nothing is claimed.
        assert!(row["rank_cpu"][0].get("runq_wait_cores").is_none(), "{row}");
        assert!(row.get("sched_bound_ranks").is_none(), "{row}");
        return;
    }
    for rank in 0..4 {
        let wait = row["rank_cpu"][rank]["runq_wait_cores"].as_f64().unwrap();
        assert!((0.0..=1.0 + 1e-9).contains(&wait), "rank {rank}: {wait}");
    }
    let named = row["sched_bound_ranks"].as_array().unwrap();
    assert!(!named.is_empty(), "{row}");
    // The table says the host set the row: its scheduler, or its CPU where that holds too.
    says_the_host_set_a_row(&stdout(&out));
}

/// Eight ranks on one CPU: every rank's data plane has an eighth of a core, uses it, and the
/// table says the rows measure the host: its CPU, or, where other processes (tests running
/// beside this one) took the core from the ranks, its scheduler.
#[test]
fn ranks_with_too_few_cores_are_named_under_their_rows() {
    let dir = tempdir("channels-cpu-bound");
    let out = run_on("0", 8, "4M", (3, 1), &[], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    says_the_host_set_a_row(&stdout(&out));
    let v = results(&dir);
    let row = &v["results"][0];
    let named = |field: &str| {
        row.get(field)
            .and_then(|r| r.as_array())
            .is_some_and(|r| !r.is_empty())
    };
    assert!(
        named("cpu_bound_ranks") || named("sched_bound_ranks"),
        "{row}"
    );
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("## Rows the host's CPU or scheduler set")
            && report.contains("(host-bound)"),
        "{report}"
    );
    for (rank, h) in v["config"]["hosts"].as_array().unwrap().iter().enumerate() {
        assert_eq!(h["cores"], 0.125, "rank {rank}");
        let cpu = &row["rank_cpu"][rank];
        assert!(cpu["busy_cores"].as_f64().unwrap() > 0.0, "{cpu}");
        assert!(cpu["cpu_s_per_gb"].as_f64().unwrap() > 0.0, "{cpu}");
    }
}

/// Payloads in clear (`--no-encryption`) on several channels, in both placements, with the
/// ping-pong split over them too.
#[test]
fn unencrypted_channels_and_the_ping_pong_are_exact() {
    let dir = tempdir("channels-clear");
    let out = collbench()
        .args([
            "run", "--np", "3", "--algo", "ring,rhd", "-b", "4K", "-e", "256K", "-f", "8",
        ])
        .args([
            "-n",
            "2",
            "-w",
            "1",
            "--channels",
            "3",
            "--channel-min-bytes",
            "1K",
        ])
        .args(["--no-encryption", "--pingpong", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    assert_eq!(v["config"]["data_plane_unencrypted"], true);
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["nwrong"], 0, "{r}");
        assert_eq!(r["in_place"]["nwrong"], 0, "{r}");
        assert_eq!(r["channels"], 3, "{r}");
    }
    assert_eq!(v["pingpong"].as_array().unwrap().len(), 3);
}

#[test]
fn a_bad_channel_count_is_refused_naming_the_flag() {
    for bad in ["0", "65", "many"] {
        let out = collbench()
            .args(["run", "--channels", bad])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("--channels") && err.contains("'auto' or a count of 1 to 64"),
            "{err}"
        );
    }
}
