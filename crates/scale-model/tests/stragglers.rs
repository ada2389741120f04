//! The straggler estimator against closed forms: exponential tails give mean x H_p, bounded
//! tails saturate, power-law tails grow like a power of p.

use scale_model::rng::SplitMix64;
use scale_model::tail::{gpd_pwm, harmonic, TailFit};
use scale_model::{Measurement, StragglerModel, StragglerOptions};
use topologies::Algorithm;

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

fn exponential(n: usize, mean: f64, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.exponential(mean)).collect()
}

#[test]
fn exponential_expected_max_is_mean_times_harmonic() {
    let mean = 40.0;
    let tail = TailFit::fit(&exponential(200_000, mean, 1), 0.9).unwrap();
    assert!(tail.xi.abs() < 0.03, "xi {}", tail.xi);
    for (p, tol) in [
        (1usize, 0.02),
        (8, 0.03),
        (100, 0.04),
        (1000, 0.05),
        (131_072, 0.10),
    ] {
        let got = tail.expected_max(p as f64);
        let want = mean * harmonic(p);
        assert!(rel(got, want) < tol, "p = {p}: {got} vs {want}");
    }
}

#[test]
fn harmonic_numbers() {
    assert!((harmonic(1) - 1.0).abs() < 1e-12);
    assert!((harmonic(4) - 25.0 / 12.0).abs() < 1e-12);
    // The asymptotic form above 1000 agrees with the sum.
    let sum: f64 = (1..=5000).map(|k| 1.0 / k as f64).sum();
    assert!((harmonic(5000) - sum).abs() < 1e-9);
}

#[test]
fn bounded_tail_saturates() {
    let mut rng = SplitMix64::new(2);
    let samples: Vec<f64> = (0..100_000).map(|_| rng.next_f64()).collect();
    let tail = TailFit::fit(&samples, 0.9).unwrap();
    assert!(tail.xi < -0.5, "uniform has a bounded tail, xi {}", tail.xi);
    let end = tail.upper_endpoint().unwrap();
    assert!((end - 1.0).abs() < 0.01, "endpoint {end}");
    // E[max of p uniforms] = p / (p + 1).
    for p in [10usize, 100, 1000] {
        let got = tail.expected_max(p as f64);
        let want = p as f64 / (p as f64 + 1.0);
        assert!((got - want).abs() < 0.01, "p = {p}: {got} vs {want}");
    }
    let at_1k = tail.expected_max(1000.0);
    let at_131k = tail.expected_max(131_072.0);
    assert!(at_131k <= end + 1e-9);
    assert!(at_131k - at_1k < 0.002, "saturates: {at_1k} -> {at_131k}");
}

#[test]
fn heavy_tail_grows_like_a_power_of_p() {
    // Pareto with tail index 4: xi = 1/4; E[max of p] grows like p^(1/4).
    let mut rng = SplitMix64::new(3);
    let samples: Vec<f64> = (0..400_000)
        .map(|_| (1.0 - rng.next_f64()).powf(-0.25))
        .collect();
    let tail = TailFit::fit(&samples, 0.9).unwrap();
    assert!((tail.xi - 0.25).abs() < 0.04, "xi {}", tail.xi);
    let ratio = tail.expected_max(10_000.0) / tail.expected_max(100.0);
    let want = 100f64.powf(0.25);
    assert!(rel(ratio, want) < 0.12, "{ratio} vs {want}");
    // Light tails grow far slower over the same range.
    let light = TailFit::fit(&exponential(200_000, 1.0, 4), 0.9).unwrap();
    let light_ratio = light.expected_max(10_000.0) / light.expected_max(100.0);
    assert!(light_ratio < ratio);
}

#[test]
fn pwm_on_exact_gpd_quantiles() {
    // Exceedances at evenly spread exact quantiles of a GPD recover its parameters.
    for (xi, sigma) in [(-0.3, 2.0), (0.0, 1.0), (0.2, 5.0)] {
        let n = 20_000;
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let s = 1.0 - (i as f64 + 0.5) / n as f64;
                scale_model::tail::gpd_exceedance(xi, sigma, s)
            })
            .collect();
        let (x, s, clamped) = gpd_pwm(&y);
        assert!(!clamped);
        assert!((x - xi).abs() < 0.01, "xi {x} vs {xi}");
        assert!(rel(s, sigma) < 0.01, "sigma {s} vs {sigma}");
    }
}

#[test]
fn straggler_term_is_relative_to_the_fitted_rank_count() {
    // Per-rank times: 500 us plus exponential noise of mean 20 us, measured at 4 ranks.
    let mut rng = SplitMix64::new(5);
    let ms: Vec<Measurement> = (0..20)
        .map(|k| {
            let mut m = Measurement::new(Algorithm::Ring, 4, 1 << (10 + k % 10), 600.0);
            m.samples_us = (0..4000).map(|_| 500.0 + rng.exponential(20.0)).collect();
            m
        })
        .collect();
    let model = StragglerModel::from_measurements(&ms, &StragglerOptions::default()).unwrap();
    assert_eq!(model.reference_ranks, 4);
    assert_eq!(model.estimate(4).delay_us, 0.0);
    assert_eq!(model.estimate(2).delay_us, 0.0);
    for p in [64usize, 1024, 131_072] {
        let e = model.estimate(p);
        // Deviations from the median of an exponential: the max of p minus the max of 4 is
        // mean x (H_p - H_4).
        let want = 20.0 * (harmonic(p) - harmonic(4));
        assert!(
            rel(e.delay_us, want) < 0.1,
            "p = {p}: {} vs {want}",
            e.delay_us
        );
        assert!(e.low_us <= e.delay_us && e.delay_us <= e.high_us);
        assert!(e.high_us > e.low_us, "a bootstrap interval has width");
        assert!(
            e.high_us - e.low_us < e.delay_us,
            "and is not absurdly wide"
        );
    }
    assert!(
        model.describe().contains("exponential"),
        "{}",
        model.describe()
    );
}

#[test]
fn straggler_model_needs_samples() {
    let ms = vec![Measurement::new(Algorithm::Ring, 4, 1024, 100.0)];
    assert!(StragglerModel::from_measurements(&ms, &StragglerOptions::default()).is_err());
    assert!(TailFit::fit(&[1.0, 2.0, 3.0], 0.9).is_err());
    assert!(TailFit::fit(&exponential(1000, 1.0, 1), 0.2).is_err());
}
