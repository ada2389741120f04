//! Files written before a field existed still validate against `results/schema.json`, still
//! read with the typed reader, and still feed the model.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;
use wire::results::ResultsFile;

/// A results.json as collbench wrote it before the ping-pong sweep (`pingpong`), the hier and
/// torus2d shape (`group_size`, `hier_inner`, `hier_outer`, `grid`), `mtu`, and the failure's
/// `step` and `waiting_ranks`.
const OLD_FILE: &str = r#"{
  "schema_version": 1,
  "tool": "collbench 0.1.0",
  "config": {
    "run_id": "20250101-000000-0000", "started_at": "2025-01-01T00:00:00Z", "nranks": 2,
    "launcher": "local", "algorithms": ["ring"], "minbytes": 1024, "maxbytes": 2048,
    "stepfactor": 2, "sizes": [1024, 2048], "type": "float", "redop": "sum",
    "warmup_iters": 1, "iters": 2, "check": true, "segment_bytes": 65536,
    "hosts": [
      {"rank": 0, "host": "a", "pid": 10, "data_addr": "127.0.0.1:1"},
      {"rank": 1, "host": "b", "pid": 11, "data_addr": "127.0.0.1:2"}
    ],
    "link_rate_bps": null, "uplink_rate_bps": null
  },
  "results": [ROW_1024, ROW_2048],
  "failure": {"message": "rank 1 exited", "rank": 1, "host": "b", "algorithm": "ring", "size": 4096}
}"#;

const ROW: &str = r#"{
  "algorithm": "ring", "nranks": 2, "size": SIZE, "count": COUNT, "type": "float",
  "redop": "sum", "root": -1, "time": TIME, "alg_bw": 0.01, "bus_bw": 0.01, "nwrong": 0,
  "per_iter": {"mean_us": TIME, "min_us": TIME, "p50_us": TIME, "p95_us": TIME,
               "p99_us": TIME, "max_us": TIME, "stdev_us": 0.0},
  "rank_histogram": "", "rank_mean_us": [TIME, TIME],
  "in_place": {"time": TIME, "alg_bw": 0.01, "bus_bw": 0.01, "nwrong": 0,
               "per_iter": {"mean_us": TIME, "min_us": TIME, "p50_us": TIME, "p95_us": TIME,
                            "p99_us": TIME, "max_us": TIME, "stdev_us": 0.0},
               "rank_histogram": "", "rank_mean_us": [TIME, TIME]},
  "link_rate_bps": null, "uplink_rate_bps": null, "link_efficiency": null
}"#;

fn old_file() -> String {
    let row = |size: u64, time: f64| {
        ROW.replace("SIZE", &size.to_string())
            .replace("COUNT", &(size / 4).to_string())
            .replace("TIME", &time.to_string())
    };
    OLD_FILE
        .replace("ROW_1024", &row(1024, 100.0))
        .replace("ROW_2048", &row(2048, 120.0))
}

#[test]
fn a_file_from_before_the_new_fields_validates_reads_and_fits() {
    let dir = tempdir("old-results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("results.json"), old_file()).unwrap();
    // Schema and typed reader (`results` checks both).
    let v = results(&dir);
    assert!(v.get("pingpong").is_none() && v["config"].get("group_size").is_none());
    let typed: ResultsFile = serde_json::from_value(v).unwrap();
    assert_eq!(typed.pingpong, None);
    assert_eq!((typed.config.group_size, typed.config.grid), (None, None));
    assert_eq!(typed.failure.unwrap().step, None);
    // The model reads it: no ping-pong sweep and no rd rows, so no link profile at all.
    let out = collbench()
        .args(["model", "fit", "--no-stragglers"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("ring") && !text.contains("point-to-point"),
        "{text}"
    );
}

type Edit = fn(&mut serde_json::Value);

#[test]
fn the_new_fields_are_checked_when_present() {
    let dir = tempdir("new-results");
    std::fs::create_dir_all(&dir).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&old_file()).unwrap();
    v["config"]["group_size"] = 2.into();
    v["config"]["hier_inner"] = "rhd".into();
    v["config"]["grid"] = serde_json::json!([2, 1]);
    v["pingpong"] = serde_json::json!([{
        "size": 1024, "iterations": 2, "bandwidth": 0.02, "ranks": [0, 1], "hosts": ["a", "b"],
        "one_way": {"mean_us": 50.0, "min_us": 49.0, "p50_us": 50.0, "p95_us": 51.0,
                    "p99_us": 51.0, "max_us": 51.0, "stdev_us": 1.0}
    }]);
    std::fs::write(dir.join("results.json"), v.to_string()).unwrap();
    let read = results(&dir);
    assert_eq!(read["pingpong"][0]["one_way"]["mean_us"], 50.0);

    // A ping-pong between three ranks, a grid of three sides, an unknown algorithm: refused.
    let schema = jsonschema::JSONSchema::compile(&schema()).unwrap();
    let edits: [(&str, Edit); 3] = [
        ("three ranks", |b| {
            b["pingpong"][0]["ranks"] = serde_json::json!([0, 1, 2])
        }),
        ("three sides", |b| {
            b["config"]["grid"] = serde_json::json!([2, 1, 1])
        }),
        ("unknown level", |b| {
            b["config"]["hier_outer"] = "bogus".into()
        }),
    ];
    for (what, edit) in edits {
        let mut b = v.clone();
        edit(&mut b);
        assert!(!schema.is_valid(&b), "{what} accepted");
    }
}

/// Every algorithm a run can record is one the schema accepts, and the schema names no other.
#[test]
fn the_schema_names_every_algorithm_and_only_those() {
    let schema = schema();
    let mut listed: Vec<String> = schema["definitions"]["algorithm"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut ours: Vec<String> = topologies::Algorithm::EVERY
        .iter()
        .map(|a| a.name().to_string())
        .collect();
    listed.sort();
    ours.sort();
    assert_eq!(listed, ours);
}
