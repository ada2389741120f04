//! What `collbench model` takes from a run beyond its all-reduce rows: the ping-pong sweep (the
//! point-to-point link profile, with the 2-rank rd proxy as the fallback) and the shape hier and
//! torus2d ran with. Synthetic results files with known parameters.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::path::{Path, PathBuf};

use common::*;
use topologies::{Algorithm, BuildOptions};
use wire::results::{PingPongRow, ResultsFile, SCHEMA_VERSION};
use wire::stats::IterStats;

/// The all-reduce's cost parameters.
const ALPHA_US: f64 = 50.0;
const BETA_US_PER_BYTE: f64 = 1e-3;
const GAMMA_US_PER_BYTE: f64 = 2e-4;
/// The link the ping-pong measures: 20 us one way, 2.5 GB/s.
const LINK_ALPHA_US: f64 = 20.0;
const LINK_BETA_US_PER_BYTE: f64 = 4e-4;

fn sizes() -> Vec<u64> {
    (10..=20).map(|k| 1u64 << k).collect()
}

fn stats(t: f64) -> IterStats {
    IterStats::of(&[t]).unwrap()
}

/// A run of `nranks` ranks of `algorithms` whose times follow their cost forms with `build`
/// exactly; the config records nothing of hier's or torus2d's shape (as files before it did).
fn run(nranks: usize, algorithms: &[Algorithm], build: &BuildOptions) -> ResultsFile {
    let mut results = Vec::new();
    for &a in algorithms {
        for size in sizes() {
            let c = a.cost(nranks, size as f64, build);
            let t = ALPHA_US * c.latency_steps
                + BETA_US_PER_BYTE * c.bytes
                + GAMMA_US_PER_BYTE * c.reduced_bytes;
            results.push(synthetic_row(a, nranks, size, t, String::new()));
        }
    }
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: "synthetic".into(),
        config: synthetic_config(nranks, algorithms, sizes(), build.segment_bytes as u64),
        results,
        failure: None,
        pingpong: None,
        refused: Default::default(),
    }
}

/// Ping-pong rows of `sizes` from the link's alpha and beta, each off by up to +-3% (a fixed,
/// uneven pattern: what a noisy lab gives).
fn pingpong_rows(sizes: &[u64]) -> Vec<PingPongRow> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let noise = 1.0 + 0.03 * (((i * 7919) % 13) as f64 / 6.0 - 1.0);
            let t = (LINK_ALPHA_US + LINK_BETA_US_PER_BYTE * size as f64) * noise;
            PingPongRow {
                size,
                iterations: 20,
                one_way: stats(t),
                bandwidth: size as f64 / t / 1e3,
                ranks: [0, 1],
                hosts: ["h0".into(), "h1".into()],
            }
        })
        .collect()
}

fn write(dir: &Path, name: &str, file: &ResultsFile) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("results.json"),
        serde_json::to_string_pretty(file).unwrap(),
    )
    .unwrap();
    // What collbench run writes follows the committed schema.
    results(&d);
    d
}

/// The text with every run of whitespace one space (notes are wrapped).
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn the_link_profile_comes_from_the_ping_pong_sweep_and_else_from_the_rd_proxy() {
    let dir = tempdir("model-link");
    let algos = [Algorithm::Ring, Algorithm::Rd];
    let mut with = run(2, &algos, &BuildOptions::default());
    with.pingpong = Some(pingpong_rows(&sizes()));
    let with = write(&dir, "with", &with);
    let without = write(&dir, "without", &run(2, &algos, &BuildOptions::default()));

    // From the ping-pong rows: alpha and beta come back within the noise.
    let fit = dir.join("fit.json");
    let out = model_ok(&["fit", s(&with), "--no-stragglers", "--json", s(&fit)]);
    let text = flat(&stdout(&out));
    assert!(
        text.contains("point-to-point link: ping-pong sweep, 11 points: "),
        "{text}"
    );
    let link = &json(&fit)["link"];
    assert_eq!(link["source"], "ping_pong");
    assert_eq!(link["points"], 11);
    let alpha = link["alpha_us"]["value"].as_f64().unwrap();
    let beta = link["beta_us_per_byte"]["value"].as_f64().unwrap();
    assert!(rel(alpha, LINK_ALPHA_US) < 0.05, "alpha {alpha}: {link}");
    assert!(
        rel(beta, LINK_BETA_US_PER_BYTE) < 0.03,
        "beta {beta}: {link}"
    );
    assert!(rel(link["bandwidth_gbps"].as_f64().unwrap(), 2.5) < 0.03);

    // Without them: the 2-rank rd all-reduces, one exchange of the whole buffer each, reduced.
    let proxy = dir.join("proxy.json");
    let out = model_ok(&["fit", s(&without), "--no-stragglers", "--json", s(&proxy)]);
    let text = flat(&stdout(&out));
    assert!(
        text.contains("point-to-point link: proxy from 2-rank rd exchanges, 11 points (the runs record no ping-pong sweep; `collbench run --pingpong` measures one)"),
        "{text}"
    );
    let link = &json(&proxy)["link"];
    assert_eq!(link["source"], "rd_proxy");
    let alpha = link["alpha_us"]["value"].as_f64().unwrap();
    let beta = link["beta_us_per_byte"]["value"].as_f64().unwrap();
    assert!(rel(alpha, ALPHA_US) < 1e-6, "{link}");
    assert!(
        rel(beta, BETA_US_PER_BYTE + GAMMA_US_PER_BYTE) < 1e-6,
        "{link}"
    );

    // Several runs' sweeps are pooled, and the notes say so.
    let again = dir.join("again");
    std::fs::create_dir_all(&again).unwrap();
    std::fs::copy(with.join("results.json"), again.join("results.json")).unwrap();
    let text = flat(&stdout(&model_ok(&[
        "fit",
        s(&with),
        s(&again),
        "--no-stragglers",
    ])));
    assert!(text.contains("ping-pong sweep, 22 points"), "{text}");
    assert!(
        text.contains("pools the ping-pong sweeps of 2 results files"),
        "{text}"
    );

    // A sweep of one size cannot give a line: the proxy, and a note saying why.
    let mut one = run(2, &algos, &BuildOptions::default());
    one.pingpong = Some(pingpong_rows(&[4096]));
    let one = write(&dir, "one", &one);
    let text = flat(&stdout(&model_ok(&["fit", s(&one), "--no-stragglers"])));
    assert!(text.contains("proxy from 2-rank rd exchanges"), "{text}");
    assert!(
        text.contains("no link profile from the ping-pong sweep") && text.contains("falls back"),
        "{text}"
    );

    // predict and export say which it was, from the results and from a saved fit.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/lab.toml");
    let pjson = dir.join("predict.json");
    for (input, want) in [
        (["--results", s(&with)], "ping-pong sweep, 11 points"),
        (["--fit", s(&fit)], "ping-pong sweep, 11 points"),
        (["--results", s(&without)], "proxy from 2-rank rd exchanges"),
    ] {
        let out = model_ok(&[
            "predict",
            "--scenario",
            s(&scenario),
            "--sizes",
            "1M",
            "--no-stragglers",
            input[0],
            input[1],
            "--json",
            s(&pjson),
        ]);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("# lab point-to-point link: {want}")),
            "{input:?}:\n{text}"
        );
        assert!(json(&pjson)["link"]["source"].is_string());
    }
    let profile = dir.join("profile.json");
    let out = model_ok(&[
        "export",
        "--scenario",
        s(&scenario),
        "--fit",
        s(&fit),
        "--profile",
        s(&profile),
    ]);
    assert!(
        flat(&stderr(&out)).contains("note: point-to-point link: ping-pong sweep, 11 points"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&profile)["link"]["source"], "ping_pong");
}

/// hier with rhd inside groups of 4 (8 ranks) and 8 (16 ranks), and torus2d on 8x1 and 16x1
/// grids: none the default for its rank count. With the shapes in the config the fit is exact;
/// the same times in files that do not record them (as before) leave the fit far off.
#[test]
fn hier_and_torus2d_points_are_priced_with_the_shape_the_run_recorded() {
    let dir = tempdir("model-shape");
    let mut recorded = Vec::new();
    let mut unrecorded = Vec::new();
    for (p, g) in [(8usize, 4usize), (16, 8)] {
        let build = BuildOptions {
            group_size: Some(g),
            grid: Some((p, 1)),
            hier_inner: Algorithm::Rhd,
            ..BuildOptions::default()
        };
        let mut f = run(p, &[Algorithm::Hier, Algorithm::Torus2d], &build);
        unrecorded.push(write(&dir, &format!("old{p}"), &f));
        f.config.group_size = Some(g);
        f.config.hier_inner = Some(Algorithm::Rhd);
        f.config.hier_outer = Some(Algorithm::Ring);
        f.config.grid = Some((p, 1));
        recorded.push(write(&dir, &format!("new{p}"), &f));
    }
    let errors = |files: &[PathBuf]| -> Vec<(String, f64)> {
        let out = dir.join("f.json");
        let mut args = vec!["fit", "--no-stragglers", "--json", s(&out)];
        args.extend(files.iter().map(|f| s(f)));
        model_ok(&args);
        json(&out)["fits"]["fits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["algorithm"].as_str().unwrap().to_string(),
                    f["max_abs_rel_error"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let exact = errors(&recorded);
    assert_eq!(exact.len(), 2);
    assert!(exact.iter().all(|(_, e)| *e < 1e-6), "{exact:?}");
    let guessed = errors(&unrecorded);
    assert!(guessed.iter().all(|(_, e)| *e > 0.05), "{guessed:?}");
}
