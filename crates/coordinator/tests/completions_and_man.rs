//! Shell completions and manual pages, generated from the same command line the binary parses.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

#[test]
fn completions_and_man_pages_know_the_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let out = collbench().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        for flag in ["np", "run_cycles", "min-busbw"] {
            // bash and zsh write "--np", fish "-l np".
            let written = if shell == "fish" {
                format!("-l {flag}")
            } else {
                format!("--{flag}")
            };
            assert!(
                text.contains(&written),
                "{shell} completion lacks {written}"
            );
        }
    }
    let man = collbench().args(["man", "run"]).output().unwrap();
    assert!(man.status.success(), "{}", stderr(&man));
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") && page.contains(".TH collbench-run 1"),
        "{page}"
    );
    assert!(
        page.contains("\\-\\-np") && page.contains("NCCL_TESTS_MIN_BW"),
        "{page}"
    );
    let top = collbench().arg("man").output().unwrap();
    assert!(stdout(&top).contains(".TH collbench 1"));
    let bad = collbench().args(["man", "nope"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("no such subcommand"),
        "{}",
        stderr(&bad)
    );
}
