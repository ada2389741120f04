//! Rail rings: exact on every shape, each rank's link out of its group carries one ring's bytes,
//! and the cost form counts exactly those.

use proptest::prelude::*;
use topologies::executor::count_wrong_on_pattern;
use topologies::{rail, ring, Algorithm, AlgorithmError, BuildOptions, ReduceOp};

fn grouped(group: usize, ring_segment_bytes: usize) -> BuildOptions {
    BuildOptions {
        group_size: Some(group),
        ring_segment_bytes,
        groups_are_nodes: true,
        ..BuildOptions::default()
    }
}

/// Elements rank `r` sends to, and receives from, ranks outside its group of `g`.
fn crossing(s: &topologies::schedule::Schedule, r: usize, g: usize) -> (usize, usize) {
    let outside = |peer: usize| peer / g != r / g;
    let steps = &s.programs[r];
    let sent = steps.iter().flat_map(|st| &st.sends);
    let received = steps.iter().flat_map(|st| &st.recvs);
    (
        sent.filter(|x| outside(x.peer))
            .map(|x| x.range.len())
            .sum(),
        received
            .filter(|x| outside(x.peer))
            .map(|x| x.range.len())
            .sum(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any number of groups of any size, any count, whole chunks or pieces: every rank ends
    /// with the exact result and every message pairs up.
    #[test]
    fn rail_rings_are_exact(
        groups in 1usize..=8, g in 1usize..=8, count in 0usize..400,
        op_i in 0usize..4, ring_segment_bytes in 0usize..=64,
    ) {
        let ops = [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Min, ReduceOp::Max];
        let p = groups * g;
        let s = Algorithm::Rail.build(p, count, 4, &grouped(g, ring_segment_bytes)).unwrap();
        prop_assert!(s.validate().is_ok());
        prop_assert_eq!(count_wrong_on_pattern(&s, ops[op_i]), Ok(0), "p={} g={} count={}", p, g, count);
    }

    /// Ring k visits every rank once, each group's ranks together, and leaves every group from
    /// the group's k-th rank into the next group's (k + 1)-th.
    #[test]
    fn each_ring_leaves_every_group_from_its_own_rank(groups in 1usize..=8, g in 1usize..=8) {
        let p = groups * g;
        for k in 0..g {
            let order = rail::ring_order(p, g, k);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..p).collect::<Vec<_>>());
            for i in 0..p {
                let (a, b) = (order[i], order[(i + 1) % p]);
                if a / g != b / g {
                    prop_assert_eq!(a % g, k);
                    prop_assert_eq!(b % g, (k + 1) % g);
                }
            }
        }
    }

    /// With two groups or more and chunks that divide evenly, every rank sends and receives
    /// exactly 2(p - 1)/p x n/g across groups (one ring's share), which is the form's bandwidth
    /// term, and the form's latency is one ring's on n/g.
    #[test]
    fn each_link_out_of_a_group_carries_one_rings_bytes(
        groups in 2usize..=6, g in 1usize..=6, blocks in 1usize..4, ring_segment_bytes in 0usize..=64,
    ) {
        let p = groups * g;
        let count = p * g * blocks;
        let opts = grouped(g, ring_segment_bytes);
        let s = Algorithm::Rail.build(p, count, 4, &opts).unwrap();
        let share = 2 * (p - 1) * count / p / g;
        for r in 0..p {
            prop_assert_eq!(crossing(&s, r, g), (share, share), "rank {} p={} g={}", r, p, g);
        }
        let bytes = (count * 4) as f64;
        let c = Algorithm::Rail.cost(p, bytes, &opts);
        prop_assert!((c.bytes - (share * 4) as f64).abs() < 1e-6);
        let one = ring::pipelined_cost(p, bytes / g as f64, ring_segment_bytes);
        prop_assert_eq!(c.latency_steps, one.latency_steps);
        prop_assert!((c.reduced_bytes - (p - 1) as f64 / p as f64 * bytes).abs() < 1e-6);
        // Groups that are not nodes: every hop on the rank's one link, all it sends.
        let flat = BuildOptions { groups_are_nodes: false, ..opts };
        let sent: usize = s.elements_sent()[0];
        let c = Algorithm::Rail.cost(p, bytes, &flat);
        prop_assert!((c.bytes - (sent * 4) as f64).abs() < 1e-6, "{} vs {}", c.bytes, sent * 4);
    }
}

#[test]
fn one_group_each_is_the_ring_and_one_group_crosses_nothing() {
    for p in 1..=12 {
        for (count, segment) in [(240, 0), (240, 16), (7, 4), (1000, 12)] {
            let ring = Algorithm::Ring
                .build(p, count, 4, &grouped(1, segment))
                .unwrap();
            let rail = Algorithm::Rail
                .build(p, count, 4, &grouped(1, segment))
                .unwrap();
            assert_eq!(rail, ring, "p={p} count={count} segment={segment}");
        }
        assert_eq!(
            Algorithm::Rail.cost(p, 960.0, &grouped(1, 0)),
            Algorithm::Ring.cost(p, 960.0, &grouped(1, 0))
        );
    }
    let inside = Algorithm::Rail.cost(4, 1e6, &grouped(4, 0));
    assert_eq!(inside.bytes, 0.0);
    assert!(inside.latency_steps > 0.0);
}

#[test]
fn a_group_size_that_does_not_divide_the_ranks_is_refused() {
    let e = Algorithm::Rail
        .build(6, 100, 4, &grouped(4, 0))
        .unwrap_err();
    assert!(
        matches!(
            e,
            AlgorithmError::Shape {
                algorithm: Algorithm::Rail,
                nranks: 6,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("group size 4"), "{e}");
    assert!(Algorithm::Rail.cost(6, 1e3, &grouped(4, 0)).bytes.is_nan());
}
