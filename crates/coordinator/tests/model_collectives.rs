//! `collbench model` on collectives other than all-reduce: synthetic results files of all-gather
//! (and a ring all-reduce beside it) timed exactly by a known alpha and beta are fitted back to
//! them, validated per collective, and predicted per collective with `--collective`.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::path::{Path, PathBuf};

use common::*;
use topologies::{Algorithm, BuildOptions, Case, Collective};
use wire::results::{ResultsFile, SCHEMA_VERSION};

/// The all-gather's cost parameters.
const AG_ALPHA_US: f64 = 40.0;
const AG_BETA_US_PER_BYTE: f64 = 2e-3;
/// The all-reduce's, different so that a fit mixing the two would show.
const AR_ALPHA_US: f64 = 70.0;
const AR_BETA_US_PER_BYTE: f64 = 1e-3;

fn sizes() -> Vec<u64> {
    (10..=20).map(|k| 1u64 << k).collect()
}

fn all_gather(algorithm: Algorithm) -> Case {
    Case {
        collective: Collective::AllGather,
        algorithm,
    }
}

/// The exact time of `case` at `nranks` and `size` by its cost form.
fn time_of(case: Case, nranks: usize, size: u64) -> f64 {
    let c = case
        .collective
        .try_cost(
            case.algorithm,
            nranks,
            size as f64,
            &BuildOptions::default(),
        )
        .unwrap();
    let (alpha, beta) = if case.collective == Collective::AllReduce {
        (AR_ALPHA_US, AR_BETA_US_PER_BYTE)
    } else {
        (AG_ALPHA_US, AG_BETA_US_PER_BYTE)
    };
    alpha * c.latency_steps + beta * c.bytes
}

/// A run of `nranks` ranks: ring all-reduce, and all-gather by ring and rhd.
fn run(nranks: usize) -> ResultsFile {
    let cases = [
        Case::all_reduce(Algorithm::Ring),
        all_gather(Algorithm::Ring),
        all_gather(Algorithm::Rhd),
    ];
    let mut results = Vec::new();
    for case in cases {
        for size in sizes() {
            let t = time_of(case, nranks, size);
            results.push(synthetic_case_row(case, nranks, size, t, String::new()));
        }
    }
    let mut config = synthetic_config(
        nranks,
        &[Algorithm::Ring, Algorithm::Rhd],
        sizes(),
        BuildOptions::default().segment_bytes as u64,
    );
    config.collectives = vec![Collective::AllReduce, Collective::AllGather];
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: "synthetic".into(),
        config,
        results,
        failure: None,
        pingpong: None,
        refused: Default::default(),
    }
}

fn write(dir: &Path, nranks: usize) -> PathBuf {
    let d = dir.join(format!("p{nranks}"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("results.json"),
        serde_json::to_string_pretty(&run(nranks)).unwrap(),
    )
    .unwrap();
    results(&d);
    d
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn all_gather_is_fitted_validated_and_predicted_on_its_own() {
    let dir = tempdir("model-collectives");
    let runs: Vec<PathBuf> = [2, 4, 8].iter().map(|&p| write(&dir, p)).collect();
    let paths: Vec<&str> = runs.iter().map(|p| s(p)).collect();

    // fit: every case from its own rows, named by its collective.
    let fit = dir.join("fit.json");
    let mut args = vec!["fit"];
    args.extend(&paths);
    args.extend(["--no-stragglers", "--regimes", "single", "--json", s(&fit)]);
    let text = stdout(&model_ok(&args));
    assert!(
        text.contains("all_gather ring") && text.contains("all_gather rhd"),
        "{text}"
    );
    assert!(!text.contains("left out: the model"), "{text}");
    let fits = json(&fit)["fits"]["fits"].as_array().unwrap().clone();
    let find = |c: &str, a: &str| {
        fits.iter()
            .find(|f| f["collective"] == c && f["algorithm"] == a)
            .unwrap_or_else(|| panic!("no {c} {a} fit in {fits:?}"))
            .clone()
    };
    for (c, a, alpha, beta) in [
        ("all_gather", "ring", AG_ALPHA_US, AG_BETA_US_PER_BYTE),
        ("all_gather", "rhd", AG_ALPHA_US, AG_BETA_US_PER_BYTE),
        ("all_reduce", "ring", AR_ALPHA_US, AR_BETA_US_PER_BYTE),
    ] {
        let f = find(c, a);
        let got_alpha = f["alpha_us"]["value"].as_f64().unwrap();
        let got_beta = f["beta_us_per_byte"]["value"].as_f64().unwrap();
        assert!(rel(got_alpha, alpha) < 1e-6, "{c} {a}: alpha {got_alpha}");
        assert!(rel(got_beta, beta) < 1e-6, "{c} {a}: beta {got_beta}");
    }

    // validate: fitted on p <= 4, the 8-rank all-gathers predicted and summarised per
    // collective and per collective and algorithm.
    let vjson = dir.join("validate.json");
    let mut args = vec!["validate"];
    args.extend(&paths);
    args.extend([
        "--fit-max-ranks",
        "4",
        "--no-stragglers",
        "--regimes",
        "single",
        "--json",
        s(&vjson),
    ]);
    let text = stdout(&model_ok(&args));
    assert!(text.contains("all_gather (all)"), "{text}");
    assert!(text.contains("all_gather rhd"), "{text}");
    let v = json(&vjson);
    let rows = v["rows"].as_array().unwrap();
    assert!(rows
        .iter()
        .any(|r| r["collective"] == "all_gather" && r["ranks"] == 8));
    for r in rows {
        assert!(r["error"].as_f64().unwrap().abs() < 1e-6, "{r}");
    }
    let summary = v["summary"].as_array().unwrap();
    assert!(summary
        .iter()
        .any(|x| x["collective"] == "all_gather" && x["algorithm"] == "all"));
    assert!(summary
        .iter()
        .any(|x| x["collective"] == "all_gather" && x["algorithm"] == "ring"));

    // predict, lab mode: each all-gather algorithm priced flat at 64 ranks with its own fit,
    // what its cost form gives with the fitted parameters; no all-reduce row unless asked.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/lab.toml");
    let pjson = dir.join("predict.json");
    let out = model_ok(&[
        "predict",
        "--scenario",
        s(&scenario),
        "--fit",
        s(&fit),
        "--mode",
        "lab",
        "--collective",
        "all_gather",
        "--ranks",
        "64",
        "--sizes",
        "1M",
        "--no-stragglers",
        "--json",
        s(&pjson),
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("all_gather ring") && text.contains("all_gather rhd"),
        "{text}"
    );
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("price all-reduce only"), "{text}");
    let p = json(&pjson);
    let rows = p["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in rows {
        assert_eq!(r["collective"], "all_gather");
        let a: Algorithm = r["algorithm"].as_str().unwrap().parse().unwrap();
        let want = time_of(all_gather(a), 64, 1 << 20);
        let got = r["time_us"].as_f64().unwrap();
        assert!(rel(got, want) < 1e-6, "{a}: {got} vs {want}");
    }

    // predict, hardware mode: every collective's algorithms.
    let out = model_ok(&[
        "predict",
        "--scenario",
        s(&scenario),
        "--collective",
        "all",
        "--sizes",
        "1M",
        "--json",
        s(&pjson),
    ]);
    let text = stdout(&out);
    for c in Collective::ALL {
        // All-reduce is priced by strategies: its flat algorithms (rail's rings are the
        // rail-rings strategy, on nodes of several GPUs).
        let algorithms = match c {
            Collective::AllReduce => &Algorithm::ALL[..],
            _ => c.algorithms(),
        };
        for a in algorithms {
            assert!(
                json(&pjson)["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["collective"] == c.name() && r["algorithm"] == a.name()),
                "no {c} {a} row"
            );
        }
    }
    assert!(text.contains("alltoall pairwise"), "{text}");

    // sweep names the collective of each best row.
    let out = model_ok(&[
        "sweep",
        "--scenario",
        s(&scenario),
        "--collective",
        "all_gather",
        "--vary",
        "nic_gbit_per_s=1,2",
        "--sizes",
        "1M",
    ]);
    let text = stdout(&out);
    assert!(text.contains("all_gather "), "{text}");

    // SimAI's table, lab mode: all-gather from its own fit (its busbw, not the all-reduce's),
    // all-to-all null (the lab measured none).
    let simai = dir.join("busbw.yaml");
    model_ok(&[
        "export",
        "--scenario",
        s(&scenario),
        "--fit",
        s(&fit),
        "--mode",
        "lab",
        "--simai",
        s(&simai),
    ]);
    let yaml = std::fs::read_to_string(&simai).unwrap();
    let value = |section: &str, key: &str| -> Option<f64> {
        let mut lines = yaml.lines().skip_while(|l| *l != format!("{section}:"));
        lines
            .find(|l| l.starts_with(&format!("{key},: ")))
            .and_then(|l| l.split(": ").nth(1))
            .and_then(|v| v.parse().ok())
    };
    // The lab has one GPU per node: its TP group is one rank, so DP is where bytes move.
    let (ar, ag) = (value("DP", "allreduce"), value("DP", "allgather"));
    assert!(ar.is_some() && ag.is_some() && ar != ag, "{yaml}");
    assert!(ag.unwrap() > 0.0, "{yaml}");
    assert_eq!(value("DP", "alltoall"), None, "{yaml}");
    assert!(yaml.contains("all_gather by"), "{yaml}");
}

#[test]
fn an_unknown_collective_is_refused() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/lab.toml");
    let out = collbench()
        .args(["model", "predict", "--scenario"])
        .arg(&scenario)
        .args(["--collective", "allgatherv", "--sizes", "1M"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--collective"), "{}", stderr(&out));
}

/// The 100k scenario's MoE workload: its step's four collectives, each priced, and their sum.
#[test]
fn the_workloads_step_is_priced_per_collective() {
    let scenario = repo().join("scenarios/h100-100k.toml");
    let out = model_ok(&["predict", "--scenario", s(&scenario), "--workload"]);
    let text = stdout(&out);
    let step: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("# the workload's training step"))
        .skip(2)
        .take_while(|l| !l.starts_with('#'))
        .collect();
    let names: Vec<&str> = step
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["reduce_scatter", "all_gather", "sendrecv", "alltoall"],
        "{text}"
    );
    // all_gather runs twice a step: its per-step time is twice its per-call time.
    let ag: Vec<&str> = step[1].split_whitespace().collect();
    let time = |v: &str, unit: &str| -> f64 {
        v.parse::<f64>().unwrap()
            * match unit {
                "s" => 1e6,
                "ms" => 1e3,
                _ => 1.0,
            }
    };
    let (per_call, per_step) = (time(ag[6], ag[7]), time(ag[8], ag[9]));
    assert!((per_step / per_call - 2.0).abs() < 1e-3, "{}", step[1]);
    assert!(text.contains("# communication per step: "), "{text}");
}
