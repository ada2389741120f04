//! `collbench model noise` and `--lab-noise fit`: the lab's host noise fitted from the spread of
//! its runs' per-iteration times, on the shipped emulated-cluster lab.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use common::*;

/// Every latency-bound point of labs/netns-100mbit gives a mean delay; the fit is their median,
/// written as `[noise]` and `--lab-noise` take it, and the JSON holds every point's evidence.
#[test]
fn the_shipped_lab_gives_its_noise() {
    let dir = tempdir("model-noise");
    std::fs::create_dir_all(&dir).unwrap();
    let lab = repo().join("labs/netns-100mbit");
    let out_json = dir.join("noise.json");
    let out = model_ok(&["noise", s(&lab), "--json", s(&out_json)]);
    let text = stdout(&out);
    assert!(text.contains("# fitted: exp:"), "{text}");
    assert!(text.contains("--lab-noise exp:"), "{text}");
    let v = json(&out_json);
    let points = v["points"].as_array().unwrap();
    // Four algorithms at five rank counts and the five sizes up to 16 KiB (the lab's small
    // sweep; its large one starts at 32 KiB, which 64K also takes).
    assert!(points.len() >= 100, "{}", points.len());
    // Both forms, and the one its points agree on more: on this lab a fixed delay (the
    // points' delays do not grow with their steps).
    let fixed = v["fixed"].as_str().unwrap();
    assert!(
        fixed.starts_with("exp:") && fixed.ends_with("us"),
        "{fixed}"
    );
    let scaled = v["scaled"].as_str().unwrap();
    assert!(
        scaled.starts_with("exp:") && scaled.ends_with('%'),
        "{scaled}"
    );
    assert_eq!(v["noise"], v["fixed"]);
    assert!(v["fixed_spread"].as_f64().unwrap() < v["scaled_spread"].as_f64().unwrap());
    assert!(v["slope"].as_f64().unwrap().abs() < 0.5, "{}", v["slope"]);
    assert!(text.contains("# a share of the step: exp:"), "{text}");
    assert!(points.iter().all(|p| p["step_us"].as_f64().unwrap() > 0.0));
    let mean: f64 = fixed
        .trim_start_matches("exp:")
        .trim_end_matches("us")
        .parse()
        .unwrap();
    let mut means: Vec<f64> = points
        .iter()
        .map(|p| p["mean_us"].as_f64().unwrap())
        .collect();
    means.sort_by(f64::total_cmp);
    assert!(mean >= means[0] && mean <= means[means.len() - 1], "{mean}");
    // Only the rows up to --max-size.
    let out = model_ok(&["noise", s(&lab), "--max-size", "2K", "--json", s(&out_json)]);
    let v = json(&out_json);
    assert!(v["points"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["bytes"].as_u64().unwrap() <= 2048));
    assert!(stdout(&out).contains("sizes up to 2K"), "{}", stdout(&out));
}

/// `--lab-noise fit` fits the noise on the runs validate fits on and says so; without the
/// histograms it has nothing to fit and says why; a wrong value names what it takes.
#[test]
fn lab_noise_fit_on_validate_and_its_refusals() {
    let lab = repo().join("labs/netns-100mbit");
    let fitting = [
        "validate",
        s(&lab),
        "--fit-max-ranks",
        "4",
        "--lab-noise",
        "fit",
    ];
    let out = model_ok(&fitting);
    let text = stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("lab noise fitted from the spread of"),
        "{text}"
    );
    model_fails_with(
        &[&fitting[..], &["--no-stragglers"]].concat(),
        &["--lab-noise fit: no run of at most 64K"],
    );
    model_fails_with(&["fit", s(&lab), "--lab-noise", "sometimes"], &["or 'fit'"]);
    model_fails_with(
        &["fit", s(&lab), "--lab-noise", "exp:x%"],
        &["a number followed by %"],
    );
}

/// A noise in percent of each step's time is taken by --lab-noise and --noise, and said.
#[test]
fn a_share_of_the_step_is_taken_and_said() {
    let lab = repo().join("labs/netns-100mbit");
    let out = model_ok(&[
        "validate",
        s(&lab),
        "--fit-max-ranks",
        "4",
        "--lab-noise",
        "exp:11%",
    ]);
    let text = stdout(&out);
    assert!(text.contains("exp:11%"), "{text}");
    let scenario = repo().join("scenarios/h100-16k.toml");
    let out = model_ok(&[
        "predict",
        "--scenario",
        s(&scenario),
        "--ranks",
        "1024",
        "--sizes",
        "1M",
        "--noise",
        "exp:5%",
    ]);
    let text = stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("a draw from exp:5% (in percent of the step's own time"),
        "{text}"
    );
    model_fails_with(
        &[
            "predict",
            "--scenario",
            s(&scenario),
            "--noise",
            "exp:2000%",
        ],
        &["above 1000% of the step"],
    );
}
