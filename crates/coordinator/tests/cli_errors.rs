//! Bad flags: a clear error naming the flag, a non-zero exit, and nothing started.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

fn fails_with(args: &[&str], expect: &[&str]) {
    let out = collbench().arg("run").args(args).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "{args:?} is a usage error");
    let err = stderr(&out);
    for e in expect {
        assert!(err.contains(e), "{args:?}: expected '{e}' in:\n{err}");
    }
    assert!(
        stdout(&out).is_empty(),
        "{args:?} printed a table:\n{}",
        stdout(&out)
    );
}

#[test]
fn bad_flags_are_named_with_what_is_accepted() {
    fails_with(
        &["-b", "64M", "-e", "1K"],
        &["-b/--minbytes", "larger than -e/--maxbytes"],
    );
    fails_with(&["--np", "0"], &["--np/--nodes", "at least 1"]);
    fails_with(
        &["--poll-us", "2000000"],
        &["--poll-us", "above 1000000 (one second)"],
    );
    fails_with(
        &["-d", "fp8"],
        &[
            "-d/--datatype",
            "unknown data type 'fp8'",
            "int8, uint8, int32, uint32, int64, uint64, half, float, double, bfloat16",
        ],
    );
    fails_with(&["-o", "mean"], &["-o/--op", "sum, prod, min, max, avg"]);
    fails_with(
        &["-b", "1023"],
        &[
            "-b/--minbytes",
            "not a multiple of the float element size (4 bytes)",
        ],
    );
    fails_with(&["-b", "1.5M"], &["--minbytes", "'1.5M' is not a size"]);
    fails_with(&["-f", "1"], &["-f/--stepfactor", "2 or more"]);
    fails_with(&["-n", "0"], &["-n/--iters"]);
    fails_with(
        &["-c", "2000000"],
        &["-c/--check", "above 1000000 checked iterations"],
    );
    fails_with(
        &["--algo", "bogus"],
        &["--algo", "unknown algorithm 'bogus'", "ring"],
    );
    fails_with(
        &["--launcher", "mpi"],
        &["--launcher", "unknown launcher 'mpi'"],
    );
    fails_with(&["--link-rate", "fast"], &["--link-rate", "tc units"]);
    fails_with(
        &["--channel-min-bytes", "1Q"],
        &["--channel-min-bytes", "not a size"],
    );
    fails_with(&["--mtu", "65535"], &["--mtu", "outside 1280..9216"]);
    fails_with(&["--mtu", "576"], &["--mtu", "outside 1280..9216"]);
    fails_with(&["--timeout", "0"], &["--timeout"]);
    fails_with(&["--np", "100000"], &["--np/--nodes", "limit"]);
    fails_with(
        &["--np", "1", "--pingpong"],
        &["--pingpong", "1 rank", "at least 2"],
    );
}

#[test]
fn double_elements_need_multiples_of_eight() {
    fails_with(
        &["-d", "double", "-b", "12", "-e", "24"],
        &["-b/--minbytes", "double element size (8 bytes)"],
    );
}

#[test]
fn an_existing_results_directory_is_not_overwritten() {
    let dir = tempdir("exists");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("results.json"), "{}").unwrap();
    fails_with(
        &["--out", dir.to_str().unwrap()],
        &["already holds results", "--force"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("results.json")).unwrap(),
        "{}"
    );
}

#[test]
fn help_explains_the_flags() {
    let out = collbench().args(["run", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    for flag in [
        "--minbytes",
        "--maxbytes",
        "--stepfactor",
        "--iters",
        "--warmup_iters",
        "--check",
        "--datatype",
        "--op",
        "--nodes",
        "--algo",
        "--out",
        "--timeout",
        "--pingpong",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}
