//! Properties every algorithm's schedule must have, for every p from 1 to 64.
//!
//! Correctness is checked by running the schedule on data in the in-memory executor:
//! `count_wrong_on_pattern` replays it in network order, so it also fails (with an error rather
//! than a count) when a send has no matching receive, lengths disagree, or the ranks deadlock.

use proptest::prelude::*;
use topologies::executor::count_wrong_on_pattern;
use topologies::{Algorithm, AlgorithmError, BuildOptions, ReduceOp};

const OPS: [ReduceOp; 5] = ReduceOp::ALL;

/// Outer algorithms `hier` accepts, and ones it must reject.
const OUTER_OK: [Algorithm; 5] = [
    Algorithm::Ring,
    Algorithm::Tree,
    Algorithm::DbTree,
    Algorithm::Rhd,
    Algorithm::Rd,
];

/// Pipelined trees and a pipelined ring, both in segments of `segment_bytes`.
fn with_segment(segment_bytes: usize) -> BuildOptions {
    BuildOptions {
        segment_bytes,
        ring_segment_bytes: segment_bytes,
        ..BuildOptions::default()
    }
}

/// A group size or grid side: usually a divisor of p, sometimes anything (including 0).
fn side(p: usize) -> impl Strategy<Value = usize> {
    let divisors: Vec<usize> = (1..=p).filter(|d| p.is_multiple_of(*d)).collect();
    prop_oneof![
        3 => proptest::sample::select(divisors),
        1 => 0..=p + 1,
    ]
}

fn p_and_side() -> impl Strategy<Value = (usize, usize)> {
    (1usize..=64).prop_flat_map(|p| (Just(p), side(p)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every algorithm with its default shape: every rank ends with the exact result; every
    /// send pairs with a receive; no deadlock. Segments of 1 to 16 elements make the trees
    /// pipeline (and not divide the buffer evenly).
    #[test]
    fn every_rank_gets_the_exact_result(
        p in 1usize..=64,
        count in 0usize..400,
        op_i in 0usize..OPS.len(),
        segment_bytes in 1usize..=64,
    ) {
        let opts = with_segment(segment_bytes);
        for algo in Algorithm::ALL_REDUCE {
            let s = algo.build(p, count, 4, &opts).unwrap();
            prop_assert_eq!(
                count_wrong_on_pattern(&s, OPS[op_i]), Ok(0),
                "{} p={} count={} segment_bytes={}", algo, p, count, segment_bytes
            );
        }
    }

    /// Counts below p leave some ranks without a chunk of their own.
    #[test]
    fn counts_smaller_than_p_are_exact(p in 2usize..=64, count in 0usize..8, segment_bytes in 1usize..=16) {
        for algo in Algorithm::ALL_REDUCE {
            let count = count.min(p - 1);
            let s = algo.build(p, count, 4, &with_segment(segment_bytes)).unwrap();
            prop_assert_eq!(count_wrong_on_pattern(&s, ReduceOp::Sum), Ok(0), "{} p={} count={}", algo, p, count);
        }
    }

    /// `hier` with any group size and every inner/outer pair: a group size that divides p gives
    /// an exact all-reduce, any other is rejected as a shape error that names it.
    #[test]
    fn hier_is_exact_for_every_group_size_that_divides_p(
        (p, g) in p_and_side(),
        count in 0usize..300,
        rhd_inside in any::<bool>(),
        outer_i in 0usize..OUTER_OK.len(),
        segment_bytes in 1usize..=32,
    ) {
        let opts = BuildOptions {
            segment_bytes,
            group_size: Some(g),
            hier_inner: if rhd_inside { Algorithm::Rhd } else { Algorithm::Ring },
            hier_outer: OUTER_OK[outer_i],
            ..BuildOptions::default()
        };
        match Algorithm::Hier.build(p, count, 4, &opts) {
            Ok(s) => {
                prop_assert!(g > 0 && p.is_multiple_of(g), "accepted group size {} for p={}", g, p);
                prop_assert_eq!(count_wrong_on_pattern(&s, ReduceOp::Sum), Ok(0), "{:?} p={} count={}", opts, p, count);
            }
            Err(e) => {
                prop_assert!(g == 0 || !p.is_multiple_of(g), "rejected group size {} for p={}: {}", g, p, e);
                let is_shape = matches!(e, AlgorithmError::Shape { algorithm: Algorithm::Hier, .. });
                prop_assert!(is_shape, "{:?}", e);
                prop_assert!(e.to_string().contains(&format!("group size {g}")), "{}", e);
            }
        }
    }

    /// `torus2d` with any grid: X x Y = p gives an exact all-reduce, anything else is rejected.
    #[test]
    fn torus2d_is_exact_for_every_grid_that_holds_p(
        (p, x) in p_and_side(),
        y_off in 0usize..3,
        count in 0usize..300,
    ) {
        // Usually the matching Y; sometimes one that does not multiply to p.
        let y = if x > 0 && p.is_multiple_of(x) && y_off == 0 { p / x } else { y_off + p / x.max(1) };
        let opts = BuildOptions { grid: Some((x, y)), ..BuildOptions::default() };
        match Algorithm::Torus2d.build(p, count, 4, &opts) {
            Ok(s) => {
                prop_assert_eq!(x * y, p);
                prop_assert_eq!(count_wrong_on_pattern(&s, ReduceOp::Sum), Ok(0), "{}x{} count={}", x, y, count);
            }
            Err(e) => {
                prop_assert_ne!(x * y, p);
                let is_shape = matches!(e, AlgorithmError::Shape { algorithm: Algorithm::Torus2d, .. });
                prop_assert!(is_shape, "{:?}", e);
                prop_assert!(e.to_string().contains(&format!("{x} x {y} grid")), "{}", e);
            }
        }
    }
}

#[test]
fn one_rank_and_empty_buffers_move_nothing() {
    for algo in Algorithm::ALL_REDUCE {
        for count in [0, 1, 1000] {
            let s = algo.build(1, count, 4, &BuildOptions::default()).unwrap();
            assert!(s.programs[0].is_empty(), "{algo} count={count}");
        }
        for p in 1..=20 {
            let s = algo.build(p, 0, 4, &with_segment(4)).unwrap();
            assert_eq!(s.max_steps(), 0, "{algo} p={p}");
            assert_eq!(count_wrong_on_pattern(&s, ReduceOp::Sum), Ok(0));
        }
    }
}

#[test]
fn zero_ranks_is_a_shape_error() {
    for algo in Algorithm::ALL_REDUCE {
        let e = algo.build(0, 10, 4, &BuildOptions::default()).unwrap_err();
        assert!(e.to_string().contains("at least one rank"), "{e}");
        assert!(algo.cost(0, 10.0, &BuildOptions::default()).bytes.is_nan());
    }
}

#[test]
fn every_element_type_size_works() {
    for algo in Algorithm::ALL_REDUCE {
        for elem_size in [1, 2, 4, 8, 16] {
            let s = algo.build(6, 100, elem_size, &with_segment(20)).unwrap();
            assert_eq!(count_wrong_on_pattern(&s, ReduceOp::Max), Ok(0), "{algo}");
        }
    }
}

#[test]
fn hier_and_torus_reject_what_they_cannot_run() {
    let hier = |group_size, inner, outer| BuildOptions {
        group_size,
        hier_inner: inner,
        hier_outer: outer,
        ..BuildOptions::default()
    };
    let ring = Algorithm::Ring;
    let e = Algorithm::Hier
        .build(12, 100, 4, &hier(Some(5), ring, ring))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "hier cannot run on 12 ranks: group size 5 does not divide the ranks into whole groups; \
         use a divisor of 12"
    );
    assert!(Algorithm::Hier
        .build(12, 100, 4, &hier(Some(0), ring, ring))
        .is_err());
    for inner in [
        Algorithm::Tree,
        Algorithm::DbTree,
        Algorithm::Rd,
        Algorithm::Hier,
    ] {
        let e = Algorithm::Hier
            .build(8, 100, 4, &hier(None, inner, ring))
            .unwrap_err();
        assert!(
            matches!(
                e,
                AlgorithmError::Unsupported {
                    option: "inner algorithm",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("ring, rhd"), "{e}");
    }
    for outer in [Algorithm::Hier, Algorithm::Torus2d] {
        let e = Algorithm::Hier
            .build(8, 100, 4, &hier(None, ring, outer))
            .unwrap_err();
        assert!(
            matches!(
                e,
                AlgorithmError::Unsupported {
                    option: "outer algorithm",
                    ..
                }
            ),
            "{e}"
        );
    }
    let grid = |x, y| BuildOptions {
        grid: Some((x, y)),
        ..BuildOptions::default()
    };
    let e = Algorithm::Torus2d
        .build(12, 100, 4, &grid(5, 2))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "torus2d cannot run on 12 ranks: a 5 x 2 grid does not hold 12 ranks; X x Y must equal 12"
    );
    assert!(Algorithm::Torus2d.build(12, 100, 4, &grid(0, 12)).is_err());
    assert!(Algorithm::Torus2d
        .build(12, 100, 4, &grid(usize::MAX, 2))
        .is_err());
    // A rejected shape has no cost either: NaN from `cost`, the reason from `try_cost`.
    assert!(Algorithm::Torus2d
        .cost(12, 100.0, &grid(5, 2))
        .latency_steps
        .is_nan());
    assert_eq!(
        Algorithm::Hier.try_cost(12, 100.0, &hier(Some(5), ring, ring)),
        Err(Algorithm::Hier
            .build(12, 100, 4, &hier(Some(5), ring, ring))
            .unwrap_err())
    );
}

#[test]
fn default_shapes() {
    use topologies::{hier, torus2d};
    let cases = [
        (1, 1, (1, 1)),
        (2, 1, (2, 1)),
        (7, 1, (7, 1)),
        (8, 2, (4, 2)),
        (12, 3, (4, 3)),
        (16, 4, (4, 4)),
        (64, 8, (8, 8)),
        (96, 8, (12, 8)),
        (131_072, 256, (512, 256)),
    ];
    for (p, g, grid) in cases {
        assert_eq!(hier::default_group_size(p), g, "p={p}");
        assert_eq!(torus2d::default_grid(p), grid, "p={p}");
    }
    // The defaults always fit, so the cost of every algorithm is defined at any scale.
    for p in [1usize, 7, 1000, 100_000, 131_072] {
        for algo in Algorithm::ALL_REDUCE {
            let c = algo.cost(p, 1e9, &BuildOptions::default());
            assert!(
                c.latency_steps.is_finite() && c.bytes.is_finite(),
                "{algo} p={p}"
            );
        }
    }
}

#[test]
fn torus2d_is_hier_with_rings_and_rows_as_groups() {
    for (p, x, y) in [(12, 4, 3), (12, 3, 4), (8, 8, 1), (8, 1, 8), (30, 5, 6)] {
        let torus = Algorithm::Torus2d
            .build(
                p,
                101,
                4,
                &BuildOptions {
                    grid: Some((x, y)),
                    ..BuildOptions::default()
                },
            )
            .unwrap();
        let hier = Algorithm::Hier
            .build(
                p,
                101,
                4,
                &BuildOptions {
                    group_size: Some(x),
                    ..BuildOptions::default()
                },
            )
            .unwrap();
        assert_eq!(torus, hier, "{x}x{y}");
    }
}

#[test]
fn algorithm_lists_parse_and_reject_unknown_names() {
    assert_eq!(Algorithm::parse_list("ring"), Ok(vec![Algorithm::Ring]));
    assert_eq!(
        Algorithm::parse_list("all").unwrap(),
        Algorithm::ALL_REDUCE.to_vec()
    );
    let names: Vec<&str> = Algorithm::ALL_REDUCE.iter().map(|a| a.name()).collect();
    assert_eq!(
        names,
        ["ring", "tree", "dbtree", "rhd", "rd", "hier", "torus2d", "rail"]
    );
    assert_eq!(
        Algorithm::parse_list("torus2d, DBTREE,rd,ring,rd"),
        Ok(vec![
            Algorithm::Torus2d,
            Algorithm::DbTree,
            Algorithm::Rd,
            Algorithm::Ring
        ])
    );
    let e = Algorithm::parse_list("ring,bogus").unwrap_err();
    assert!(e.to_string().contains("unknown algorithm 'bogus'"), "{e}");
    assert!(
        e.to_string()
            .contains("ring, tree, dbtree, rhd, rd, hier, torus2d"),
        "{e}"
    );
}
