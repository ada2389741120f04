//! `collbench compare A B`: a run against itself passes, a run with a row made slower fails with
//! status 5 and names the row, bad input exits 2.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::path::Path;

use common::*;

fn compare(a: &Path, b: &Path, extra: &[&str]) -> std::process::Output {
    collbench()
        .arg("compare")
        .arg(a)
        .arg(b)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_slower_row_fails_the_gate_and_the_same_run_passes() {
    let dir = tempdir("compare");
    let a = dir.join("a");
    let run = collbench()
        .args([
            "run", "--np", "2", "-b", "1K", "-e", "4K", "-n", "3", "-w", "1", "--out",
        ])
        .arg(&a)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));

    let same = compare(&a, &a, &[]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(
        stdout(&same).contains("3 rows compared, 0 regressed"),
        "{}",
        stdout(&same)
    );

    // B: the 2 KiB row at a third of A's bus bandwidth.
    let mut v = results(&a);
    for row in v["results"].as_array_mut().unwrap() {
        if row["size"] == 2048 {
            let bw = row["bus_bw"].as_f64().unwrap();
            row["bus_bw"] = serde_json::json!(bw / 3.0);
        }
    }
    let b = dir.join("b.json");
    std::fs::write(&b, serde_json::to_string(&v).unwrap()).unwrap();
    let worse = compare(&a, &b, &["--threshold", "10%", "--json", "-"]);
    assert_eq!(worse.status.code(), Some(5), "{}", stderr(&worse));
    assert!(
        stderr(&worse).contains("1 of 3 rows regressed"),
        "{}",
        stderr(&worse)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&worse)).unwrap();
    let regressed: Vec<&serde_json::Value> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["change"] == "regression")
        .collect();
    assert_eq!(regressed.len(), 1);
    assert_eq!(regressed[0]["key"]["size"], 2048);

    let bad = compare(&a, &b, &["--threshold", "lots"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--threshold"), "{}", stderr(&bad));
    let missing = compare(&a, &dir.join("nowhere"), &[]);
    assert_ne!(missing.status.code(), Some(0));
}
