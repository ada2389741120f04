//! Each schedule's critical path, replayed in virtual time, against its analytic cost form.
//!
//! `completion_time` with alpha = 1 (and beta = gamma = 0) counts the messages on the critical
//! path; with beta = 1 the bytes that cross a link on it (each rank has one link out and one
//! in, so a rank that several ranks send to takes their bytes one message after another); with
//! gamma = 1 the bytes reduced on it. Each is compared with the matching coefficient of the algorithm's `CostTerms`: exactly
//! where the textbook form is exact (p a power of two where the form assumes one, buffers that
//! divide evenly), as a bound elsewhere, and within a stated tolerance for the pipelined double
//! binary tree.

use proptest::prelude::*;
use topologies::timing_model::{completion_time, LinkModel};
use topologies::{Algorithm, BuildOptions, CostTerms, Schedule};

const ELEM: usize = 4;

/// The three coefficients of the schedule's replay.
fn replay(s: &Schedule) -> CostTerms {
    let unit = |alpha, beta, gamma| LinkModel { alpha, beta, gamma };
    let t = |m| completion_time(s, ELEM, m).expect("the schedule replays");
    CostTerms {
        latency_steps: t(unit(1.0, 0.0, 0.0)),
        bytes: t(unit(0.0, 1.0, 0.0)),
        reduced_bytes: t(unit(0.0, 0.0, 1.0)),
    }
}

fn terms(c: CostTerms) -> [f64; 3] {
    [c.latency_steps, c.bytes, c.reduced_bytes]
}

fn assert_exact(algo: Algorithm, p: usize, count: usize, opts: &BuildOptions) {
    let s = algo
        .build(p, count, ELEM, opts)
        .expect("the shape is valid");
    let got = replay(&s);
    let want = algo.cost(p, (count * ELEM) as f64, opts);
    for (g, w) in terms(got).into_iter().zip(terms(want)) {
        assert!(
            (g - w).abs() < 1e-6,
            "{algo} p={p} count={count} {opts:?}: replay {got:?}, form {want:?}"
        );
    }
}

/// `lower <= replay <= upper`, term by term.
fn assert_between(what: &str, lower: CostTerms, got: CostTerms, upper: CostTerms) {
    for ((l, g), u) in terms(lower).into_iter().zip(terms(got)).zip(terms(upper)) {
        assert!(
            l - 1e-6 <= g && g <= u + 1e-6,
            "{what}: replay {got:?} not within {lower:?} ..= {upper:?}"
        );
    }
}

fn segment(segment_bytes: usize) -> BuildOptions {
    BuildOptions {
        segment_bytes,
        ..BuildOptions::default()
    }
}

fn pow2s() -> impl Iterator<Item = usize> {
    (0..=6).map(|i| 1usize << i)
}

#[test]
fn ring_schedule_matches_its_cost_form() {
    for p in 1..=32usize {
        assert_exact(Algorithm::Ring, p, p * 64, &BuildOptions::default());
        let s = Algorithm::Ring
            .build(p, p * 64, ELEM, &BuildOptions::default())
            .unwrap();
        assert_eq!(s.max_steps(), if p > 1 { 2 * (p - 1) } else { 0 });
    }
}

/// Forwarding pieces adds messages, which overlap on the links: the replay matches the textbook
/// form in beta and gamma whatever the number of pieces per chunk, and the pipelined form (the
/// textbook one while every piece of a chunk can be in flight) in alpha too.
#[test]
fn pipelined_ring_keeps_the_ring_form() {
    for p in 2..=16usize {
        for pieces in [2usize, 3, 7, 12] {
            let opts = BuildOptions {
                ring_segment_bytes: 8 * ELEM,
                ..BuildOptions::default()
            };
            let count = p * 8 * pieces;
            assert_exact(Algorithm::Ring, p, count, &opts);
            let s = Algorithm::Ring.build(p, count, ELEM, &opts).unwrap();
            // One step per piece, but the first few pieces go out together.
            let ahead = (pieces - 1).min(topologies::ring::PIECES_AHEAD);
            assert_eq!(s.max_steps(), 2 * (p - 1) * pieces - ahead, "p={p}");
        }
    }
}

#[test]
fn recursive_doubling_matches_for_powers_of_two_and_is_bounded_otherwise() {
    for p in pow2s() {
        assert_exact(Algorithm::Rd, p, 3 * p + 1, &BuildOptions::default());
        let s = Algorithm::Rd
            .build(p, 10, ELEM, &BuildOptions::default())
            .unwrap();
        assert_eq!(s.max_steps(), p.ilog2() as usize);
    }
    // Otherwise the bytes are exact, but the fold's first message overlaps the core's first
    // round among the ranks that did not fold, so up to one message fewer is on the path.
    for p in (3..=64usize).filter(|p| !p.is_power_of_two()) {
        let count = 37;
        let s = Algorithm::Rd
            .build(p, count, ELEM, &BuildOptions::default())
            .unwrap();
        let form = Algorithm::Rd.cost(p, (count * ELEM) as f64, &BuildOptions::default());
        let lower = CostTerms {
            latency_steps: form.latency_steps - 1.0,
            ..form
        };
        assert_between(&format!("rd p={p}"), lower, replay(&s), form);
        assert_eq!(s.max_steps(), p.ilog2() as usize + 2);
    }
}

#[test]
fn halving_doubling_matches_when_the_chunks_divide_evenly() {
    for p in 1..=64usize {
        // The core runs on p' = 2^floor(lg p) chunks; the fold moves whole buffers.
        let p2 = 1usize << p.ilog2();
        assert_exact(Algorithm::Rhd, p, p2 * 12, &BuildOptions::default());
        let s = Algorithm::Rhd
            .build(p, p2 * 12, ELEM, &BuildOptions::default())
            .unwrap();
        let fold = if p.is_power_of_two() { 0 } else { 2 };
        assert_eq!(s.max_steps(), 2 * p.ilog2() as usize + fold, "p={p}");
    }
}

/// The root takes D n through its one incoming link in the reduce and sends D n through its one
/// outgoing link in the broadcast, for any p and any segments (see `tree::cost`), so the
/// bandwidth and reduction terms are exact for every p. So is the latency term for powers of
/// two; otherwise the tree is floor(lg p) = D - 1 deep, not D, so two messages fewer.
#[test]
fn binomial_tree_matches_for_every_p() {
    for k in [1usize, 2, 3, 8] {
        let seg = 5;
        let opts = segment(seg * ELEM);
        for p in 1..=64usize {
            assert_exact(Algorithm::Tree, p, k * seg, &opts);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same for any buffer and segment size, including a short last segment and buffers of
    /// fewer elements than ranks: the root's two links, 2D n beta, and its reductions, D n gamma.
    #[test]
    fn binomial_tree_bandwidth_is_the_roots_two_links(
        p in 2usize..=40,
        count in 1usize..200,
        seg in 1usize..=40,
    ) {
        let opts = segment(seg * ELEM);
        let s = Algorithm::Tree.build(p, count, ELEM, &opts).unwrap();
        let got = replay(&s);
        let form = Algorithm::Tree.cost(p, (count * ELEM) as f64, &opts);
        prop_assert!((got.bytes - form.bytes).abs() < 1e-6, "p={} {:?} {:?}", p, got, form);
        prop_assert!((got.reduced_bytes - form.reduced_bytes).abs() < 1e-6, "p={} {:?}", p, got);
        prop_assert!(got.latency_steps <= form.latency_steps + 1e-6, "p={} {:?}", p, got);
    }
}

/// The binomial tree replayed by hand, beta = 1 (times in bytes), n = 400, D = lg p.
#[test]
fn binomial_tree_by_hand() {
    let beta_only = LinkModel {
        alpha: 0.0,
        beta: 1.0,
        gamma: 0.0,
    };
    let time = |p, segment_bytes| {
        let s = Algorithm::Tree
            .build(p, 100, ELEM, &segment(segment_bytes))
            .unwrap();
        completion_time(&s, ELEM, beta_only).unwrap()
    };
    // p = 2, one segment: rank 1's 400 bytes are in at 400; the root sends them back by 800.
    assert_eq!(time(2, 400), 800.0);
    // Four segments of 100: rank 1 is the root's only sender, so its segments are in at 100,
    // 200, 300, 400, and the root sends four back from 400 to 800: 2D n = 800 either way.
    assert_eq!(time(2, 100), 800.0);
    // p = 4, one segment: rank 1's buffer is in at 400; rank 2 reduces rank 3's by 400 and
    // sends it on, in at 800 (the root's incoming link is free from 400). The root sends to
    // rank 2 (800..1200), which forwards to rank 3 (1200..1600), and to rank 1 (1200..1600).
    assert_eq!(time(4, 400), 1600.0);
    // Four segments of 100. Rank 1's segment j could be in at 100 (j + 1), rank 2's (which
    // waits for rank 3's) at 100 (j + 2), but one link takes them in, alternately 1, 2, 1, 2:
    // at 100, 200, 300, ..., 800 = D n, where a link per sender would have had them all by
    // 500. The broadcast, eight sends of 100 from the root, ends at 1600 = 2D n; segment j
    // reaches rank 2 at 900 + 200 j, rank 3 and rank 1 at 1000 + 200 j.
    assert_eq!(time(4, 100), 1600.0);
    // All three terms at once, p = 4, one segment (alpha = 10, beta = 1, gamma = 0.5): rank 2
    // has rank 3's buffer reduced at 10 + 400 + 200 = 610, and the root rank 2's at 610 + 10 +
    // 400 + 200 = 1220 (rank 1's was reduced at 610). Rank 2 gets the result at 1220 + 410 and
    // passes it to rank 3 by 1630 + 410 = 2040; rank 1, sent to second, has it at 1220 + 400 +
    // 410 = 2030. 2040 = 4 alpha + 4n beta + 2n gamma, the form.
    let m = LinkModel {
        alpha: 10.0,
        beta: 1.0,
        gamma: 0.5,
    };
    let s = Algorithm::Tree.build(4, 100, ELEM, &segment(400)).unwrap();
    assert_eq!(completion_time(&s, ELEM, m).unwrap(), 2040.0);
    let form = Algorithm::Tree.cost(4, 400.0, &segment(400));
    assert_eq!(form.time(m), 2040.0);
}

/// The double binary tree's latency term is exact for every p. For p a power of two the whole
/// form is exact for every segment count, one (unsegmented) included: the busiest rank's load,
/// the n/4 its two links lose to each other, a pipeline fill of (4D - 7) segment-times and the
/// start-up transient of `dbtree::cost`. For other p the trees' uneven last levels make the
/// rounds less regular: the bandwidth term is within D segment-times either way for the k here,
/// but the steady state of some such p is a few percent slower than the power-of-two one, so no
/// bound in segment-times holds for every k; the reduction term carries the fill of complete
/// trees, and the replay may be up to one segment-time faster.
#[test]
fn double_binary_tree_matches_within_its_pipeline_fill() {
    let seg = 4;
    let opts = segment(seg * ELEM);
    let s_bytes = (seg * ELEM) as f64;
    for p in (2..=64usize).filter(|p| !p.is_power_of_two()) {
        let d = p.next_power_of_two().ilog2() as f64;
        for k in [1usize, 2, 3, 8, 16] {
            let count = 2 * seg * k;
            let s = Algorithm::DbTree.build(p, count, ELEM, &opts).unwrap();
            let got = replay(&s);
            let form = Algorithm::DbTree.cost(p, (count * ELEM) as f64, &opts);
            let lower = CostTerms {
                latency_steps: form.latency_steps,
                bytes: form.bytes - d * s_bytes,
                reduced_bytes: form.reduced_bytes - s_bytes,
            };
            let upper = CostTerms {
                bytes: form.bytes + d * s_bytes,
                ..form
            };
            assert_between(&format!("dbtree p={p} k={k}"), lower, got, upper);
        }
    }
    for p in (1..=10).map(|e| 1usize << e) {
        let d = p.ilog2() as usize;
        for k in (1..=2 * d + 4).chain([3 * d + 1, 4 * d + 2]) {
            assert_exact(Algorithm::DbTree, p, 2 * seg * k, &opts);
        }
    }
}

/// Unsegmented (one segment per tree, `segment_bytes` at its largest): exact for p a power of
/// two, within one segment-time (half the buffer) otherwise.
#[test]
fn unsegmented_double_binary_tree() {
    let opts = segment(usize::MAX);
    for p in 2..=130usize {
        let count = 64;
        let n = (count * ELEM) as f64;
        let s = Algorithm::DbTree.build(p, count, ELEM, &opts).unwrap();
        let got = replay(&s);
        let form = Algorithm::DbTree.cost(p, n, &opts);
        if p.is_power_of_two() {
            // (2D - 1) n: D levels up and down at n a level, but the root's single child.
            let d = p.ilog2() as f64;
            assert!((got.bytes - (2.0 * d - 1.0) * n).abs() < 1e-6, "p={p}");
            assert_exact(Algorithm::DbTree, p, count, &opts);
        } else {
            assert!((got.bytes - form.bytes).abs() <= n / 2.0 + 1e-6, "p={p}");
        }
    }
}

#[test]
fn two_level_forms_add_up_exactly() {
    let levels = |inner, outer, group_size| BuildOptions {
        group_size: Some(group_size),
        hier_inner: inner,
        hier_outer: outer,
        segment_bytes: 3 * ELEM,
        ..BuildOptions::default()
    };
    use Algorithm::{Rd, Rhd, Ring, Tree};
    for p in 1..=64usize {
        for g in (1..=p).filter(|g| p.is_multiple_of(*g)) {
            // Rings at both levels: exact for any shape once the buffer divides into p chunks.
            assert_exact(Algorithm::Hier, p, p * 6, &levels(Ring, Ring, g));
            let grid = BuildOptions {
                grid: Some((g, p / g)),
                ..BuildOptions::default()
            };
            assert_exact(Algorithm::Torus2d, p, p * 6, &grid);
            // Power-of-two levels: exact with halving-doubling or doubling across, and with
            // halving-doubling inside; a segmented binomial tree across when its shard divides
            // into whole segments (shard = 6 x 3 elements = six segments).
            if g.is_power_of_two() && (p / g).is_power_of_two() {
                for (inner, outer) in [
                    (Ring, Rhd),
                    (Ring, Rd),
                    (Rhd, Ring),
                    (Rhd, Rhd),
                    (Rhd, Tree),
                ] {
                    assert_exact(Algorithm::Hier, p, p * 18, &levels(inner, outer, g));
                }
            }
        }
    }
}

#[test]
fn cost_forms_by_hand() {
    let check = |algo: Algorithm, p, n, opts: &BuildOptions, want: [f64; 3]| {
        assert_eq!(terms(algo.cost(p, n, opts)), want, "{algo} p={p} n={n}");
    };
    let plain = BuildOptions::default();
    // Ring, p = 4, n = 400: 6 alpha, 2 x 3/4 x 400 = 600 beta, 300 gamma.
    check(Algorithm::Ring, 4, 400.0, &plain, [6.0, 600.0, 300.0]);
    // Binomial tree, p = 4 (D = 2), unsegmented: 2D = 4, 2Dn = 1600, Dn = 800.
    check(Algorithm::Tree, 4, 400.0, &plain, [4.0, 1600.0, 800.0]);
    // ...in k = 4 segments of 100 the same: the root's links carry D n each way however the
    // buffer is cut.
    check(
        Algorithm::Tree,
        4,
        400.0,
        &segment(100),
        [4.0, 1600.0, 800.0],
    );
    // ...p = 5: the root has D = 3 children (1, 2, 4), as at p = 8, so its links carry 3n each
    // way; but the tree is floor(lg 5) = 2 deep (0 -> 2 -> 3): 4 messages on the path.
    check(Algorithm::Tree, 5, 400.0, &plain, [4.0, 2400.0, 1200.0]);
    // Double binary tree, p = 8 (D = 3), n = 800: halves of 400 in k = 4 segments of s = 100:
    // 2D + k - 1 = 9; 2n + n/4 + (4D - 7) s = 1600 + 200 + 500, less the start-up's one
    // segment-time at k = D + 1 (1/2 - D/2); n + (2D - 3) s = 800 + 300.
    check(
        Algorithm::DbTree,
        8,
        800.0,
        &segment(100),
        [9.0, 2200.0, 1100.0],
    );
    // p = 3 (D = 2): the busiest rank sends 3n/2: 1200 + 200 + (4D - 7) s = 1500.
    check(
        Algorithm::DbTree,
        3,
        800.0,
        &segment(100),
        [7.0, 1500.0, 900.0],
    );
    // p = 2: each rank sends n/2 up one tree and n/2 down the other; reduces n/2.
    check(
        Algorithm::DbTree,
        2,
        800.0,
        &segment(100),
        [5.0, 800.0, 400.0],
    );
    // Halving-doubling, p = 8, n = 800: 2 lg p = 6, 2 x 7/8 x 800 = 1400, 700.
    check(Algorithm::Rhd, 8, 800.0, &plain, [6.0, 1400.0, 700.0]);
    // p = 6 runs on p' = 4 plus the fold: 4 + 2; 2 x 3/4 x 800 + 2 x 800; 3/4 x 800 + 800.
    check(Algorithm::Rhd, 6, 800.0, &plain, [6.0, 2800.0, 1400.0]);
    // Recursive doubling, p = 8: lg p (alpha + n beta + n gamma).
    check(Algorithm::Rd, 8, 800.0, &plain, [3.0, 2400.0, 2400.0]);
    // p = 6: 2 rounds plus the fold's two messages, of which the first is reduced.
    check(Algorithm::Rd, 6, 800.0, &plain, [4.0, 3200.0, 2400.0]);
    // Hierarchical, p = 16 in groups of 4, n = 1600: ring inside 6, 2400, 1200; ring across 4
    // groups on 400 bytes 6, 600, 300.
    let g4 = BuildOptions {
        group_size: Some(4),
        ..plain
    };
    check(Algorithm::Hier, 16, 1600.0, &g4, [12.0, 3000.0, 1500.0]);
    // The same with recursive doubling across: 2 rounds of 400 bytes.
    let g4_rd = BuildOptions {
        hier_outer: Algorithm::Rd,
        ..g4
    };
    check(Algorithm::Hier, 16, 1600.0, &g4_rd, [8.0, 3200.0, 2000.0]);
    // 2D torus, 4 x 3, n = 1200: rows ring(4, 1200) = 6, 1800, 900; columns ring(3, 300) =
    // 4, 400, 200.
    let g43 = BuildOptions {
        grid: Some((4, 3)),
        ..plain
    };
    check(Algorithm::Torus2d, 12, 1200.0, &g43, [10.0, 2200.0, 1100.0]);
    let (rows, columns) = topologies::torus2d::cost_by_dimension(4, 3, 1200.0);
    assert_eq!(terms(rows), [6.0, 1800.0, 900.0]);
    assert_eq!(terms(columns), [4.0, 400.0, 200.0]);
    // One rank costs nothing.
    for algo in Algorithm::ALL_REDUCE {
        assert_eq!(terms(algo.cost(1, 1e6, &plain)), [0.0; 3], "{algo}");
    }
}

/// Groups that are nodes (`groups_are_nodes`): hier's phases inside them keep their messages and
/// reductions and cross no network link, in every collective that has hier; the schedule is the
/// same.
#[test]
fn groups_that_are_nodes_take_the_inner_phases_off_the_network() {
    use topologies::Collective;
    let flat = BuildOptions {
        group_size: Some(4),
        ..BuildOptions::default()
    };
    let nodes = BuildOptions {
        groups_are_nodes: true,
        ..flat
    };
    let (p, n) = (16, 1.6e6);
    // All-reduce: ring reduce-scatter and all-gather inside groups of 4 (3/4 n each), ring across
    // the 4 groups on n/4.
    let across = Algorithm::Ring.cost(4, n / 4.0, &flat);
    let hier = Algorithm::Hier.cost(p, n, &nodes);
    assert_eq!(hier.bytes, across.bytes);
    let whole = Algorithm::Hier.cost(p, n, &flat);
    assert!((whole.bytes - across.bytes - 2.0 * 0.75 * n).abs() < 1e-6);
    assert_eq!(hier.latency_steps, whole.latency_steps);
    assert_eq!(hier.reduced_bytes, whole.reduced_bytes);
    for c in [Collective::AllGather, Collective::ReduceScatter] {
        let whole = c.try_cost(Algorithm::Hier, p, n, &flat).unwrap();
        let inside = c.try_cost(Algorithm::Hier, p, n, &nodes).unwrap();
        assert!(inside.bytes < whole.bytes, "{c}");
        assert_eq!(inside.latency_steps, whole.latency_steps, "{c}");
        assert_eq!(
            c.build(Algorithm::Hier, p, 1600, 4, &flat, 0),
            c.build(Algorithm::Hier, p, 1600, 4, &nodes, 0),
            "{c}"
        );
    }
}
