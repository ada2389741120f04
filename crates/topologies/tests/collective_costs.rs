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
