//! Exit statuses a CI job can trust: 0 all good, 1 the run failed, 2 a usage error (clap's
//! included, with the same prefix), 3 wrong results, 4 below the minimum bus bandwidth.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::process::Output;

use common::*;

/// A small sweep of 2 local ranks into a fresh directory, with `extra` flags and environment.
fn small_run(name: &str, extra: &[&str], env: &[(&str, &str)]) -> (Output, TestDir) {
    let dir = tempdir(name);
    let mut c = collbench();
    c.args([
        "run", "--np", "2", "-b", "1K", "-e", "4K", "-n", "2", "-w", "1", "--out",
    ])
    .arg(&dir)
    .args(extra)
    .env_remove("NCCL_TESTS_MIN_BW");
    for (k, v) in env {
        c.env(k, v);
    }
    (c.output().unwrap(), dir)
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

#[test]
fn a_good_run_exits_0() {
    let (o, dir) = small_run("exit-ok", &["--min-busbw", "0.000001"], &[]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("# Avg bus bandwidth"));
    assert!(stdout(&o).contains(" OK"), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn usage_errors_exit_2_with_one_prefix_clap_included() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/llama3-24k.toml"
    );
    // (command line, what the message must name)
    for (args, names) in [
        (&["run", "--np", "0"][..], "--np"),
        (&["run", "--no-such-flag"], "--no-such-flag"),
        (&["run", "-n"], "--iters"),
        // Sizes and rates are read by clap's value parsers, with the one size parser.
        (&["run", "-b", "12Q"], "--minbytes"),
        (&["run", "-i", "lots"], "--stepbytes"),
        (&["run", "--link-rate", "fast"], "--link-rate"),
        (
            &[
                "model",
                "predict",
                "--scenario",
                scenario,
                "--sizes",
                "1K,,2K",
            ],
            "--sizes",
        ),
        (
            &["model", "predict", "--scenario", scenario, "--ranks", "0"],
            "--ranks",
        ),
        (&["model", "predict", "--scenario", scenario], "--sizes"),
        (
            &[
                "model",
                "predict",
                "--scenario",
                scenario,
                "--sizes",
                "1M",
                "--segment",
                "0",
            ],
            "--segment",
        ),
        (
            &["model", "fit", "x", "--straggler-max-size", "big"],
            "--straggler-max-size",
        ),
        (
            &[
                "model",
                "export",
                "--scenario",
                scenario,
                "--tp-bytes",
                "1Z",
            ],
            "--tp-bytes",
        ),
        (
            &["model", "export", "--scenario", scenario],
            "nothing to export",
        ),
        (
            &[
                "k8s",
                "--nodes",
                "2",
                "--image",
                "a b",
                "--out",
                "/nonexistent",
            ],
            "--image",
        ),
        (
            &[
                "k8s",
                "--nodes",
                "2",
                "--image",
                "img",
                "--out",
                "/nonexistent",
                "--",
                "-b",
                "x",
            ],
            "--minbytes",
        ),
    ] {
        let o = collbench().args(args).output().unwrap();
        assert_eq!(code(&o), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("collbench: error: "),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(names), "{args:?}: {}", stderr(&o));
    }
    let (o, _) = small_run("exit-bad-env", &[], &[("NCCL_TESTS_MIN_BW", "fast")]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("NCCL_TESTS_MIN_BW"), "{}", stderr(&o));
    let help = collbench().args(["run", "--help"]).output().unwrap();
    assert_eq!(code(&help), Some(0));
}

#[test]
fn a_wrong_result_exits_3_and_keeps_every_row() {
    let (o, dir) = small_run("exit-wrong", &["--fault", "corrupt:1@2K"], &[]);
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrong results"), "{}", stderr(&o));
    assert!(stdout(&o).contains("FAILED"), "{}", stdout(&o));
    let v = results(&dir);
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "every size is kept");
    for r in rows {
        let wrong = r["nwrong"].as_u64().unwrap() + r["in_place"]["nwrong"].as_u64().unwrap();
        assert_eq!(wrong > 0, r["size"] == 2048, "{r}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `-c N` (nccl-tests): N checked iterations, each checked; the corrupt hook spoils every one,
/// so #wrong is N times one check's.
#[test]
fn every_checked_iteration_of_c_n_is_checked() {
    let wrong_at_2k = |c: &str| {
        let (o, dir) = small_run(
            &format!("exit-c{c}"),
            &["-c", c, "--fault", "corrupt:1@2K"],
            &[],
        );
        assert_eq!(code(&o), Some(3), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("validation: {c} ")),
            "{}",
            stdout(&o)
        );
        let v = results(&dir);
        assert_eq!(v["config"]["check_iters"], c.parse::<u32>().unwrap());
        let row = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["size"] == 2048)
            .unwrap()
            .clone();
        let _ = std::fs::remove_dir_all(dir);
        row["nwrong"].as_u64().unwrap()
    };
    let one = wrong_at_2k("1");
    assert!(one > 0);
    assert_eq!(wrong_at_2k("3"), 3 * one);
}

#[test]
fn below_the_minimum_bandwidth_exits_4_from_the_flag_or_nccl_tests_variable() {
    let (o, dir) = small_run("exit-slow", &["--min-busbw", "100000"], &[]);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
    assert!(stdout(&o).contains("FAILED"), "{}", stdout(&o));
    assert!(stderr(&o).contains("below the minimum"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
    let (o, dir) = small_run("exit-slow-env", &[], &[("NCCL_TESTS_MIN_BW", "100000")]);
    assert_eq!(code(&o), Some(4), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_failed_run_exits_1() {
    let (o, dir) = small_run("exit-failed", &["--fault", "kill:1@2K"], &[]);
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(dir);
}
