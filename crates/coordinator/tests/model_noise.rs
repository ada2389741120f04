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
    assert_eq!(v["delay"]["kind"], "exp", "{}", v["delay"]);
    let mean = v["delay"]["mean_us"].as_f64().unwrap();
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
}
