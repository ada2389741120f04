//! The lab's noise fitted back from runs that carried a known one: per-iteration times of
//! schedules replayed in the timing model with links and exponential delays, as a lab's
//! histograms hold them.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

use proptest::prelude::*;
use scale_model::noise_fit::{fit_noise, MIN_SAMPLES};
use scale_model::noise_form::Noise;
use scale_model::Measurement;
use topologies::noise::Delay;
use topologies::rng::SplitMix64;
use topologies::timing_model::{iteration_times_with_jitter, LinkModel};
use topologies::{Algorithm, BuildOptions, Case, Collective};

/// A measured point of `case` over `ranks` ranks whose every step's sends waited a draw from
/// `delay`, on links of 20 us and 1 GB/s: 400 back-to-back iterations, every rank's times (as
/// many as a lab's latency-bound rows time, so that each point's quartiles are steady).
fn run(case: Case, ranks: usize, delay: Delay, seed: u64) -> Measurement {
    run_on(case, ranks, delay, seed, 20.0)
}

/// [`run`] on links of `alpha_us` per message.
fn run_on(case: Case, ranks: usize, delay: Delay, seed: u64, alpha_us: f64) -> Measurement {
    let count = ranks * 64;
    let one = case
        .collective
        .build(case.algorithm, ranks, count, 4, &BuildOptions::default(), 0)
        .unwrap();
    let link = LinkModel {
        alpha: alpha_us,
        beta: 1e-3,
        gamma: 1e-4,
    };
    let mut rng = SplitMix64::new(seed);
    let mut draw = || delay.quantile_us(rng.next_f64());
    let times = iteration_times_with_jitter(&one, 400, 4, link, &mut draw).unwrap();
    let mut m = Measurement::of(case, ranks, (count * 4) as u64, 0.0);
    m.samples_us = times
        .into_iter()
        .flat_map(|r| r.into_iter().skip(5))
        .collect();
    m.time_us = m.samples_us.iter().sum::<f64>() / m.samples_us.len() as f64;
    m
}

/// Ring, rhd and tree at 2-4 ranks on links of 10 to 640 us per message, each step's delay
/// `delay_of(alpha)`: steps of different lengths, as a lab's sizes and link rates give.
fn steps_lab(delay_of: impl Fn(f64) -> Delay, seed: u64) -> Vec<Measurement> {
    let mut out = Vec::new();
    for (i, algorithm) in [Algorithm::Ring, Algorithm::Rhd, Algorithm::Tree]
        .into_iter()
        .enumerate()
    {
        for ranks in [2, 4] {
            for alpha in [10.0, 40.0, 160.0, 640.0] {
                let s = seed ^ (i as u64 * 31 + ranks as u64 * 7 + alpha as u64);
                out.push(run_on(
                    Case::all_reduce(algorithm),
                    ranks,
                    delay_of(alpha),
                    s,
                    alpha,
                ));
            }
        }
    }
    out
}

fn lab(delay: Delay, seed: u64) -> Vec<Measurement> {
    let mut out = Vec::new();
    for (i, algorithm) in [Algorithm::Ring, Algorithm::Rhd, Algorithm::Tree]
        .into_iter()
        .enumerate()
    {
        for ranks in [2, 3, 4] {
            out.push(run(
                Case::all_reduce(algorithm),
                ranks,
                delay,
                seed ^ (i as u64 * 31 + ranks as u64),
            ));
        }
    }
    out.push(run(
        Case {
            collective: Collective::AllGather,
            algorithm: Algorithm::Ring,
        },
        4,
        delay,
        seed ^ 977,
    ));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// Any exponential's mean comes back within 15% from the points' median.
    #[test]
    fn an_exponentials_mean_comes_back(mean in 20.0f64..2000.0, seed in any::<u64>()) {
        let fit = fit_noise(&lab(Delay::Exp { mean_us: mean }, seed), &BuildOptions::default(), u64::MAX)
            .expect("fits");
        let Noise::Fixed(Delay::Exp { mean_us }) = fit.noise else { panic!("a fixed exponential: {}", fit.noise) };
        prop_assert!((mean_us / mean - 1.0).abs() < 0.15, "{mean_us} for {mean}: {:?}", fit.points);
        prop_assert_eq!(fit.points.len(), 10);
    }
}

/// Without noise the links alone do not spread the times: no fit, or a negligible one.
#[test]
fn no_noise_fits_nothing_or_almost_nothing() {
    let quiet = Delay::Exp { mean_us: 1e-9 };
    match fit_noise(&lab(quiet, 7), &BuildOptions::default(), u64::MAX) {
        None => {}
        Some(f) => {
            let Delay::Exp { mean_us } = f.fixed.delay() else {
                panic!("an exponential")
            };
            assert!(mean_us < 1e-3, "{mean_us}");
        }
    }
}

/// A heavier tail than an exponential's shows as a larger mean from the standard deviations
/// than from the quartiles; points without samples are left out and said.
#[test]
fn a_pareto_tail_shows_and_thin_points_are_skipped() {
    let pareto = Delay::Pareto {
        scale_us: 100.0,
        shape: 2.2,
    };
    let mut ms = lab(pareto, 3);
    let mut thin = Measurement::of(Case::all_reduce(Algorithm::Ring), 8, 1024, 10.0);
    thin.samples_us = vec![10.0; MIN_SAMPLES - 1];
    ms.push(thin);
    let fit = fit_noise(&ms, &BuildOptions::default(), u64::MAX).unwrap();
    let Delay::Exp { mean_us } = fit.fixed.delay() else {
        panic!("an exponential")
    };
    assert!(fit.mean_from_std_us > 1.2 * mean_us, "{fit:?}");
    assert_eq!(fit.skipped.len(), 1, "{:?}", fit.skipped);
    assert!(
        fit.skipped[0].contains("19 per-iteration samples"),
        "{:?}",
        fit.skipped
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    /// A delay in proportion to the step comes back as that share, and is told from a fixed
    /// one on the same steps.
    #[test]
    fn a_share_of_the_step_is_told_from_a_fixed_delay(percent in 10.0f64..60.0, seed in any::<u64>()) {
        let build = BuildOptions::default();
        let scaled = fit_noise(
            &steps_lab(|alpha| Delay::Exp { mean_us: percent / 100.0 * alpha }, seed),
            &build,
            u64::MAX,
        )
        .expect("fits");
        let Noise::Scaled(Delay::Exp { mean_us: share }) = scaled.noise else {
            panic!("a share of the step: {scaled:?}")
        };
        prop_assert!((share / percent - 1.0).abs() < 0.25, "{share}% for {percent}%");
        prop_assert!(scaled.slope.unwrap() > 0.7, "{:?}", scaled.slope);

        let mean = percent / 100.0 * 160.0;
        let fixed = fit_noise(&steps_lab(|_| Delay::Exp { mean_us: mean }, seed), &build, u64::MAX)
            .expect("fits");
        let Noise::Fixed(Delay::Exp { mean_us }) = fixed.noise else {
            panic!("a fixed delay: {fixed:?}")
        };
        prop_assert!((mean_us / mean - 1.0).abs() < 0.15, "{mean_us} for {mean}");
        prop_assert!(fixed.slope.unwrap().abs() < 0.3, "{:?}", fixed.slope);
    }
}
