//! Size regimes: the fit splits an algorithm's sizes in two where one form cannot serve both
//! (and only there), recovers each side's parameters, and predict and validate price each size
//! with its own side.

mod common;

use common::{lab_params, rel, synthetic};
use proptest::prelude::*;
use scale_model::regime::{bic, candidate_splits};
use scale_model::{
    fit_all, fit_regimes, validate, AlgorithmFit, CostParams, FitOptions, FitReport, Measurement,
    Mode, PredictInput, PredictOptions, RegimeChoice, Scenario, SizeRange, Strategy,
    ValidateOptions,
};
use topologies::{Algorithm, BuildOptions};

/// Half the per-byte cost below the split (a shaper's burst), the lab's above it; the same
/// per-message cost (the regimes share alpha).
fn burst_params() -> CostParams {
    let lab = lab_params();
    CostParams {
        beta_us_per_byte: lab.beta_us_per_byte / 2.0,
        gamma_us_per_byte: 0.0,
        ..lab
    }
}

/// Points timed by `small` up to `split` bytes and by `large` above it.
fn two_regimes(
    algorithm: Algorithm,
    ranks: &[usize],
    split: u64,
    small: CostParams,
    large: CostParams,
    noise: f64,
) -> Vec<Measurement> {
    let below = synthetic(algorithm, ranks, small, noise, 11);
    let above = synthetic(algorithm, ranks, large, noise, 12);
    below
        .into_iter()
        .filter(|m| m.bytes <= split)
        .chain(above.into_iter().filter(|m| m.bytes > split))
        .collect()
}

fn fits_of(report: &FitReport, a: Algorithm) -> Vec<&AlgorithmFit> {
    report.fits.iter().filter(|f| f.algorithm == a).collect()
}

#[test]
fn size_ranges_contain_and_describe() {
    let small = SizeRange {
        above: None,
        up_to: Some(128 << 10),
    };
    let large = SizeRange {
        above: Some(128 << 10),
        up_to: None,
    };
    assert!(small.contains(1024.0) && small.contains(131072.0) && !small.contains(131073.0));
    assert!(!large.contains(131072.0) && large.contains(131072.5) && large.contains(1e12));
    assert!(SizeRange::ALL.contains(0.0) && SizeRange::ALL.is_all());
    assert_eq!(small.describe(), "<= 128K");
    assert_eq!(large.describe(), "> 128K");
    assert_eq!(small.label(Algorithm::Tree), "tree (<= 128K)");
    assert_eq!(SizeRange::ALL.label(Algorithm::Ring), "ring");
}

#[test]
fn splits_leave_three_sizes_on_each_side() {
    let sizes: Vec<u64> = (10..=16).map(|k| 1u64 << k).collect(); // 1K .. 64K
    assert_eq!(candidate_splits(&sizes), vec![4 << 10, 8 << 10]);
    assert_eq!(candidate_splits(&sizes[..6]), vec![4 << 10]);
    assert!(candidate_splits(&sizes[..5]).is_empty());
    assert!(candidate_splits(&[]).is_empty());
}

#[test]
fn bic_charges_for_parameters_and_ignores_rounding() {
    // The same residuals with more parameters score worse.
    assert!(bic(1.0, 100.0, 50, 7) > bic(1.0, 100.0, 50, 3));
    // Two exact fits differ only by rounding: the one with fewer parameters wins.
    assert!(bic(1e-31, 100.0, 50, 3) < bic(1e-33, 100.0, 50, 7));
    // A real improvement pays for its parameters.
    assert!(bic(0.1, 100.0, 50, 7) < bic(1.0, 100.0, 50, 3));
}

#[test]
fn a_burst_below_a_size_is_found_and_each_side_recovered() {
    let split = 128 << 10;
    for a in [Algorithm::Ring, Algorithm::Tree, Algorithm::Rhd] {
        let ms = two_regimes(a, &[2, 3, 4], split, burst_params(), lab_params(), 0.01);
        let report = fit_all(&ms, &FitOptions::default());
        let fits = fits_of(&report, a);
        assert_eq!(fits.len(), 2, "{a}: {report:?}");
        assert_eq!(fits[0].sizes.up_to, Some(split), "{a}");
        assert_eq!(fits[1].sizes.above, Some(split), "{a}");
        // Each side's bandwidth cost is its own (gamma folds into beta where the form cannot
        // tell them apart, so compare the time of a large buffer).
        let build = BuildOptions::default();
        let t_small = fits[0].time_us(4, 64e3, &build);
        let want_small = burst_params().time_us(&a.cost(4, 64e3, &build));
        assert!(
            rel(t_small, want_small) < 0.05,
            "{a}: {t_small} vs {want_small}"
        );
        let t_large = fits[1].time_us(4, 16e6, &build);
        let want_large = lab_params().time_us(&a.cost(4, 16e6, &build));
        assert!(
            rel(t_large, want_large) < 0.02,
            "{a}: {t_large} vs {want_large}"
        );
        assert!(fits
            .iter()
            .all(|f| f.notes.iter().any(|n| n.contains("information"))));
        // The report finds the right side for each size.
        assert_eq!(report.get_at(a, 1024.0).unwrap().sizes, fits[0].sizes);
        assert_eq!(report.get_at(a, 1e9).unwrap().sizes, fits[1].sizes);
    }
}

#[test]
fn one_form_is_kept_where_one_form_holds() {
    for (seed, a) in [
        (1, Algorithm::Ring),
        (2, Algorithm::Tree),
        (3, Algorithm::Rd),
    ] {
        let ms = synthetic(a, &[2, 3, 4], lab_params(), 0.02, seed);
        let report = fit_all(&ms, &FitOptions::default());
        let fits = fits_of(&report, a);
        assert_eq!(fits.len(), 1, "{a}: {fits:?}");
        assert!(fits[0].sizes.is_all());
    }
}

#[test]
fn single_and_a_given_split_are_obeyed() {
    let split = 128 << 10;
    let ms = two_regimes(
        Algorithm::Tree,
        &[2, 4],
        split,
        burst_params(),
        lab_params(),
        0.0,
    );
    let refs: Vec<&Measurement> = ms.iter().collect();
    let single = FitOptions {
        regimes: RegimeChoice::Single,
        ..FitOptions::default()
    };
    let f = fit_regimes(Algorithm::Tree, &refs, &single).unwrap();
    assert_eq!(f.len(), 1);
    assert!(f[0].sizes.is_all());
    assert!(
        f[0].max_abs_rel_error > 0.1,
        "one form cannot fit both: {:?}",
        f[0]
    );
    let given = FitOptions {
        regimes: RegimeChoice::SplitAt(1 << 20),
        ..FitOptions::default()
    };
    let f = fit_regimes(Algorithm::Tree, &refs, &given).unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].sizes.up_to, Some(1 << 20));
    // A split with nothing above it names the empty side.
    let beyond = FitOptions {
        regimes: RegimeChoice::SplitAt(1 << 40),
        ..FitOptions::default()
    };
    let e = fit_regimes(Algorithm::Tree, &refs, &beyond).unwrap_err();
    assert!(e.to_string().contains("> 1T"), "{e}");
}

/// Eight nodes of eight GPUs under one switch.
const EIGHT_NODES: &str = "name = \"eight-nodes\"\n[cluster]\ngpus = 64\ngpus_per_node = 8\n\
    [intra_node]\nbandwidth_gb_per_s = 100\nlatency_us = 1\n\
    [network]\nnic_gbit_per_s = 8\nlatency_us = 5\n\
    [[network.tiers]]\nname = \"top\"\ngpus = 64\noversubscription = 1\nhop_latency_us = 0\n";

/// Predict prices each part of a composition with the regime of the buffer it all-reduces:
/// with a split at 128K, 1 MiB over 8 nodes of 8 GPUs is a 1 MiB ring inside each node (the
/// large regime) and a 128 KiB all-reduce across nodes (the small one).
#[test]
fn predict_prices_each_part_by_its_own_regime() {
    let split = 128 << 10;
    let small = burst_params();
    let large = lab_params();
    let fit = |a: Algorithm, p: CostParams, sizes: SizeRange| AlgorithmFit {
        sizes,
        ..AlgorithmFit::from_params(a, p, Some(500e6))
    };
    let below = SizeRange {
        above: None,
        up_to: Some(split),
    };
    let above = SizeRange {
        above: Some(split),
        up_to: None,
    };
    let fits = FitReport {
        fits: vec![
            fit(Algorithm::Ring, small, below),
            fit(Algorithm::Ring, large, above),
        ],
        skipped: Vec::new(),
    };
    let scenario = Scenario::parse(EIGHT_NODES, "eight-nodes.toml").unwrap();
    let input = PredictInput {
        fits: &fits,
        scenario: &scenario,
        lab: Default::default(),
        stragglers: None,
    };
    let opts = PredictOptions {
        mode: Mode::Lab,
        strategies: vec![
            Strategy::Flat(Algorithm::Ring),
            Strategy::HierNode(Algorithm::Ring),
        ],
        stragglers: false,
        ..PredictOptions::default()
    };
    let build = BuildOptions::default();
    let p = scale_model::predict(&input, &[64], &[16 << 10, 1 << 20], &opts).unwrap();
    let time = |name: &str, size: u64| {
        p.rows
            .iter()
            .find(|r| r.algorithm == name && r.size == size)
            .unwrap()
            .time_us
    };
    let ring = |params: CostParams, ranks: usize, bytes: f64| {
        params.time_us(&Algorithm::Ring.cost(ranks, bytes, &build))
    };
    assert!(rel(time("ring", 16 << 10), ring(small, 64, 16384.0)) < 1e-9);
    assert!(rel(time("ring", 1 << 20), ring(large, 64, 1048576.0)) < 1e-9);
    let want = ring(large, 8, 1048576.0) + ring(small, 8, 131072.0);
    assert!(rel(time("hier-node:ring", 1 << 20), want) < 1e-9);
    assert_eq!(p.carried.len(), 2);
}

#[test]
fn validate_predicts_each_size_from_its_regime() {
    let split = 128 << 10;
    let ms = two_regimes(
        Algorithm::Tree,
        &[2, 3, 4, 8],
        split,
        burst_params(),
        lab_params(),
        0.0,
    );
    let mut opts = ValidateOptions::new(4);
    opts.stragglers = false;
    let r = validate(&ms, &opts).unwrap();
    let worst = r.rows.iter().map(|r| r.error.abs()).fold(0.0, f64::max);
    assert!(worst < 1e-6, "{worst}");
    opts.fit.regimes = RegimeChoice::Single;
    let r = validate(&ms, &opts).unwrap();
    let worst = r.rows.iter().map(|r| r.error.abs()).fold(0.0, f64::max);
    assert!(
        worst > 0.2,
        "one form over both regimes should miss: {worst}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Exact two-regime data: the split is found where it is and both sides are reproduced.
    #[test]
    fn any_split_is_found_in_exact_data(
        k in 12u32..=23,
        alpha in 1.0f64..100.0,
        speedup in 1.5f64..4.0,
    ) {
        let split = 1u64 << k;
        let large = CostParams { alpha_us: alpha, ..lab_params() };
        let small = CostParams {
            alpha_us: alpha,
            beta_us_per_byte: large.beta_us_per_byte / speedup,
            gamma_us_per_byte: 0.0,
        };
        let ms = two_regimes(Algorithm::Tree, &[2, 3, 4], split, small, large, 0.0);
        let report = fit_all(&ms, &FitOptions::default());
        let fits = fits_of(&report, Algorithm::Tree);
        prop_assert_eq!(fits.len(), 2);
        prop_assert_eq!(fits[0].sizes.up_to, Some(split));
        for f in fits {
            prop_assert!(f.max_abs_rel_error < 1e-6, "{}", f.max_abs_rel_error);
        }
    }
}

/// ASTRA-sim takes one latency and one bandwidth: the smallest sizes' per-message cost and the
/// largest sizes' per-byte cost.
#[test]
fn one_parameter_set_across_regimes_takes_latency_small_and_bandwidth_large() {
    use scale_model::predict::{Carried, LabReference};
    let lab = LabReference {
        link_rate_bps: Some(500e6),
        latency_us: 0.0,
    };
    let mut notes = Vec::new();
    let fit = |p: CostParams, sizes: SizeRange| AlgorithmFit {
        sizes,
        ..AlgorithmFit::from_params(Algorithm::Tree, p, Some(500e6))
    };
    let small = fit(
        burst_params(),
        SizeRange {
            above: None,
            up_to: Some(1 << 17),
        },
    );
    let large = fit(
        lab_params(),
        SizeRange {
            above: Some(1 << 17),
            up_to: None,
        },
    );
    let carried: Vec<Carried> = [small, large]
        .iter()
        .map(|f| Carried::new(f, &lab, None, None, &mut notes))
        .collect();
    let one = Carried::across_regimes(&carried, Algorithm::Tree).unwrap();
    assert!(one.sizes.is_all());
    assert_eq!(one.fitted.alpha_us, burst_params().alpha_us);
    assert_eq!(one.overhead_us, carried[0].overhead_us);
    assert_eq!(one.fitted.beta_us_per_byte, lab_params().beta_us_per_byte);
    assert_eq!(one.efficiency, carried[1].efficiency);
    assert!(Carried::across_regimes(&carried, Algorithm::Ring).is_none());
}
