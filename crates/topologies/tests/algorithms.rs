//! Properties every algorithm's schedule must have, for every p from 1 to 64.

use proptest::prelude::*;
use topologies::executor::count_wrong_on_pattern;
use topologies::timing_model::{completion_time, LinkModel};
use topologies::{Algorithm, BuildOptions, ReduceOp};

const OPS: [ReduceOp; 3] = [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every rank ends with the exact result; every send pairs with a receive; no deadlock.
    #[test]
    fn every_rank_gets_the_exact_result(p in 1usize..=64, count in 0usize..400, op_i in 0usize..3) {
        let opts = BuildOptions::default();
        for algo in Algorithm::ALL {
            let s = algo.build(p, count, 4, &opts).unwrap();
            prop_assert_eq!(count_wrong_on_pattern(&s, OPS[op_i]), Ok(0), "{} p={} count={}", algo, p, count);
        }
    }

    /// Counts below p leave some ranks without a chunk of their own.
    #[test]
    fn counts_smaller_than_p_are_exact(p in 2usize..=64, count in 0usize..8) {
        for algo in Algorithm::ALL {
            let s = algo.build(p, count.min(p - 1), 4, &BuildOptions::default()).unwrap();
            prop_assert_eq!(count_wrong_on_pattern(&s, ReduceOp::Sum), Ok(0));
        }
    }
}

/// The schedule's critical path in virtual time equals its cost form, term by term, when the
/// buffer divides evenly.
#[test]
fn ring_schedule_matches_its_cost_form() {
    let unit = |a: f64, b: f64, g: f64| LinkModel {
        alpha: a,
        beta: b,
        gamma: g,
    };
    for p in 1..=32usize {
        let count = p * 64;
        let bytes = (count * 4) as f64;
        let s = Algorithm::Ring
            .build(p, count, 4, &BuildOptions::default())
            .unwrap();
        let c = Algorithm::Ring.cost(p, bytes, &BuildOptions::default());
        for (m, want) in [
            (unit(1.0, 0.0, 0.0), c.latency_steps),
            (unit(0.0, 1.0, 0.0), c.bytes),
            (unit(0.0, 0.0, 1.0), c.reduced_bytes),
        ] {
            let got = completion_time(&s, 4, m).unwrap();
            assert!(
                (got - want).abs() < 1e-9,
                "p={p} {m:?}: schedule {got}, form {want}"
            );
        }
        assert_eq!(s.max_steps(), if p > 1 { 2 * (p - 1) } else { 0 });
    }
}

#[test]
fn ring_cost_by_hand() {
    // p = 4, n = 400 bytes: 6 alpha, 2 * 3/4 * 400 = 600 beta, 300 gamma.
    let c = Algorithm::Ring.cost(4, 400.0, &BuildOptions::default());
    assert_eq!(
        (c.latency_steps, c.bytes, c.reduced_bytes),
        (6.0, 600.0, 300.0)
    );
}

#[test]
fn algorithm_lists_parse_and_reject_unknown_names() {
    assert_eq!(Algorithm::parse_list("ring"), Ok(vec![Algorithm::Ring]));
    assert_eq!(
        Algorithm::parse_list("all").unwrap(),
        Algorithm::ALL.to_vec()
    );
    let e = Algorithm::parse_list("ring,bogus").unwrap_err();
    assert!(e.to_string().contains("unknown algorithm 'bogus'"), "{e}");
}
