//! Each collective's schedules, replayed in virtual time (alpha, beta and gamma counted one at a
//! time, as in `cost_forms.rs`), against the cost form the model uses: exact where the form is
//! (p a power of two for rhd, and everywhere for the others), an upper bound otherwise.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

use topologies::timing_model::{completion_time, LinkModel};
use topologies::{BuildOptions, Collective, CostTerms, Schedule};

const ELEM: usize = 4;

fn replay(s: &Schedule) -> [f64; 3] {
    let unit = |alpha, beta, gamma| LinkModel { alpha, beta, gamma };
    let t = |m| completion_time(s, ELEM, m).expect("the schedule replays");
    [
        t(unit(1.0, 0.0, 0.0)),
        t(unit(0.0, 1.0, 0.0)),
        t(unit(0.0, 0.0, 1.0)),
    ]
}

fn terms(c: CostTerms) -> [f64; 3] {
    [c.latency_steps, c.bytes, c.reduced_bytes]
}

/// Replay against form for every collective and algorithm at p; `exact` says which must agree
/// exactly (the others: replay at most the form).
fn check(p: usize, blocks: usize, opts: &BuildOptions, exact: impl Fn(Collective, &str) -> bool) {
    for c in Collective::ALL {
        let count = if c.blocked() { blocks * p } else { blocks };
        for &a in c.algorithms() {
            if c == Collective::AllReduce {
                continue; // cost_forms.rs holds the all-reduces
            }
            let s = c.build(a, p, count, ELEM, opts, p / 2).unwrap();
            let got = replay(&s);
            let want = terms(c.try_cost(a, p, (count * ELEM) as f64, opts).unwrap());
            for (g, w) in got.into_iter().zip(want) {
                let ok = if exact(c, a.name()) {
                    (g - w).abs() < 1e-6
                } else {
                    g <= w + 1e-6
                };
                assert!(
                    ok,
                    "{c} {a} p={p} count={count}: replay {got:?}, form {want:?}"
                );
            }
        }
    }
}

#[test]
fn forms_are_exact_at_powers_of_two_and_bounds_elsewhere() {
    // Segments of 64 bytes: the rooted collectives pipeline 6 blocks x 16 elements in 6 pieces.
    let opts = BuildOptions {
        segment_bytes: 64,
        ..BuildOptions::default()
    };
    for p in [1, 2, 4, 8, 16, 32] {
        check(p, 16, &opts, |_, _| true);
    }
    for p in [3, 5, 6, 7, 12, 13, 24] {
        check(p, 16, &opts, |c, a| {
            !(a == "rhd" || (c == Collective::Broadcast || c == Collective::Reduce) && a == "tree")
        });
    }
}

/// A loop of back-to-back calls, replayed: for broadcast and reduce each call past the first
/// few costs exactly what the looped form says, less than one call's own form (the root starts
/// the next call while this one still travels); elsewhere a call in the loop costs what one
/// call alone does where p is a power of two (at most that elsewhere: uneven blocks let a call
/// start a little early), so the looped form is one call's, except dbtree all-reduce, whose
/// loop costs at most one call (its two trees' pipelines overlap a little across calls).
#[test]
fn looped_forms_are_the_replayed_steady_state() {
    let per_call = |s: &Schedule| {
        let (few, many) = (s.back_to_back(4), s.back_to_back(12));
        let (a, b) = (replay(&few), replay(&many));
        [0, 1, 2].map(|i| (b[i] - a[i]) / 8.0)
    };
    for p in [2usize, 3, 5, 8, 13] {
        for segment_bytes in [64usize, 256, 1 << 20] {
            let opts = BuildOptions {
                segment_bytes,
                ..BuildOptions::default()
            };
            for c in Collective::ALL {
                let count = if c.blocked() { 32 * p } else { 256 };
                let bytes = (count * ELEM) as f64;
                for &a in c.algorithms() {
                    let Ok(s) = c.build(a, p, count, ELEM, &opts, p / 2) else {
                        continue;
                    };
                    let looped = terms(c.try_cost_looped(a, p, bytes, &opts).unwrap());
                    let one = terms(c.try_cost(a, p, bytes, &opts).unwrap());
                    let (got, alone) = (per_call(&s), replay(&s));
                    let (want, exact) = match (c.rooted(), a.name()) {
                        (true, _) => (looped, true),
                        (false, "dbtree") => (alone, false),
                        // Uneven blocks let a call start a little early.
                        (false, _) => (alone, p.is_power_of_two()),
                    };
                    for (g, w) in got.into_iter().zip(want) {
                        let ok = if exact {
                            (g - w).abs() < 1e-6
                        } else {
                            g <= w + 1e-6
                        };
                        assert!(
                            ok,
                            "{c} {a} p={p} segment {segment_bytes}: loop {got:?}, want {want:?}"
                        );
                    }
                    if c.rooted() {
                        assert!(looped[0] < one[0], "{c} {a} p={p}: {looped:?} {one:?}");
                    } else {
                        assert_eq!(looped, one, "{c} {a} p={p}");
                    }
                }
            }
        }
    }
}
