//! Faults in virtual time: the real run state machine against simulated nodes (`sim`), one fault
//! per case at a moment drawn over the whole run (registration, channels, every barrier, step
//! and report of the sweep, the ping-pong), for every algorithm and 2 to 16 ranks.
//!
//! Each case says who is blamed, by when, and what is kept:
//! - a rank killed: that rank, as soon as its exit is seen;
//! - a rank stopped: that rank, within its silence limit (or the set-up limit before the sweep),
//!   and it is killed;
//! - a data-plane link silent: one of its two ends, within the progress limit or the link's idle
//!   timeout, or the run completes (the link was not needed any more);
//! - a rank slowed by up to 1,000x, the coordinator paused for up to 3.5 s: the run completes;
//! - the coordinator paused longer than a node waits for it: no rank is blamed;
//! - always: the rows written are a prefix of the sweep's order, and every row whose reports were
//!   all sent before the failure is among them.

mod sim;

use std::time::Duration;

use proptest::prelude::*;
use run_core::liveness::{MIN_SILENCE, SLOWEST_FILL_BYTES_PER_S};
use sim::links::{Micros, LATENCY_US};
use sim::{simulate, Case, Fault, Outcome, EXIT_DELAY_US, IDLE_US, TICK_US};
use topologies::{Algorithm, BuildOptions};

const SIZES: [u64; 2] = [1 << 10, 8 << 10];
/// Room for the messages in flight and the heartbeat schedule around a deadline.
const SLACK_US: Micros = 600_000;

fn builds(a: Algorithm, p: usize, sizes: &[u64]) -> bool {
    sizes.iter().all(|&s| {
        a.build(p, s as usize / 4, 4, &BuildOptions::default())
            .is_ok()
    })
}

/// A run without its fault: ranks, one or two algorithms that build for them, one or two sizes.
fn case() -> impl Strategy<Value = Case> {
    (
        2usize..=16,
        any::<u64>(),
        1usize..=3,
        0u32..=1,
        1u32..=3,
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(p, pick, sizes, warmup, iters, pingpong, short_stall, seed)| {
                let sizes: Vec<u64> = match sizes {
                    1 => vec![SIZES[0]],
                    2 => vec![SIZES[1]],
                    _ => SIZES.to_vec(),
                };
                let usable: Vec<Algorithm> = Algorithm::ALL_REDUCE
                    .into_iter()
                    .filter(|&a| builds(a, p, &sizes))
                    .collect();
                let first = usable[(pick % usable.len() as u64) as usize];
                let second = usable[((pick >> 32) % usable.len() as u64) as usize];
                let mut algorithms = vec![first];
                if pick & (1 << 20) != 0 && second != first {
                    algorithms.push(second);
                }
                Case {
                    nranks: p,
                    algorithms,
                    sizes,
                    warmup,
                    iters,
                    pingpong,
                    stall_timeout: Duration::from_secs(if short_stall { 5 } else { 60 }),
                    setup_timeout: Duration::from_secs(30),
                    fault: Fault::None,
                    seed,
                }
            },
        )
}

/// The case's fault-free run (which must complete), and the moment `fraction` of the way through
/// it (a little past its end at most).
fn baseline(case: &Case, fraction: f64) -> Micros {
    let out = simulate(case.clone());
    assert_complete(case, &out);
    (out.end as f64 * fraction * 1.05) as Micros
}

fn all_rows(case: &Case) -> Vec<(Algorithm, u64)> {
    case.algorithms
        .iter()
        .flat_map(|&a| case.sizes.iter().map(move |&s| (a, s)))
        .collect()
}

fn assert_complete(case: &Case, out: &Outcome) {
    assert!(
        out.done && out.failure.is_none(),
        "the run did not complete: {:?}",
        out.failure
    );
    assert_eq!(out.rows, all_rows(case));
    let pp = if case.pingpong { case.sizes.len() } else { 0 };
    assert_eq!(out.pingpong_rows, pp);
}

/// The rows written are a prefix of the sweep's order, and none measured before the failure is
/// missing.
fn assert_kept(case: &Case, out: &Outcome) {
    let order = all_rows(case);
    assert!(out.rows.len() <= order.len());
    assert_eq!(out.rows[..], order[..out.rows.len()], "rows out of order");
    let Some((_, failed_at)) = &out.failure else {
        return;
    };
    for row in &order {
        if let Some(&(sent, n)) = out.reports_sent.get(row) {
            if n == 2 * case.nranks && sent + LATENCY_US < *failed_at {
                assert!(
                    out.rows.contains(row),
                    "row {row:?} was measured at {sent} us, before the failure at {failed_at} us, \
                     and is not kept"
                );
            }
        }
    }
}

/// The run completed, or failed blaming one of `culprits` no later than `by`.
fn assert_blamed(case: &Case, out: &Outcome, culprits: &[usize], by: Micros) {
    assert_kept(case, out);
    let Some((f, at)) = &out.failure else {
        return assert_complete(case, out);
    };
    assert!(
        f.rank.is_some_and(|r| culprits.contains(&r)),
        "blamed {:?}, expected one of {culprits:?}: {}",
        f.rank,
        f.message
    );
    assert!(
        *at <= by,
        "blamed at {at} us, later than {by} us: {}",
        f.message
    );
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(900))]

    #[test]
    fn a_killed_rank_is_blamed_as_soon_as_it_exits(
        case in case(), victim in any::<usize>(), fraction in 0.0f64..1.0,
    ) {
        let at = baseline(&case, fraction);
        let rank = victim % case.nranks;
        let out = simulate(Case { fault: Fault::Kill { rank, at }, ..case.clone() });
        assert_blamed(&case, &out, &[rank], at + EXIT_DELAY_US);
    }

    #[test]
    fn a_stopped_rank_is_blamed_within_its_silence_limit_and_killed(
        case in case(), victim in any::<usize>(), fraction in 0.0f64..1.0,
    ) {
        let at = baseline(&case, fraction);
        let rank = victim % case.nranks;
        let out = simulate(Case { fault: Fault::Stop { rank, at }, ..case.clone() });
        let largest = case.sizes.iter().copied().max().unwrap_or(0);
        let silence = MIN_SILENCE.as_micros() as Micros
            + (largest as f64 / SLOWEST_FILL_BYTES_PER_S * 1e6) as Micros;
        let limit = match out.started {
            Some(started) if started <= at => silence,
            _ => (case.setup_timeout.as_micros() as Micros).max(silence),
        };
        assert_blamed(&case, &out, &[rank], at + limit + TICK_US + SLACK_US);
        if out.failure.is_some() {
            prop_assert!(out.killed.contains(&rank), "the stopped rank was not killed");
        }
    }

    #[test]
    fn a_silent_link_is_blamed_on_one_of_its_ends(
        case in case(), ends in any::<(usize, usize)>(), fraction in 0.0f64..1.0,
    ) {
        let at = baseline(&case, fraction);
        let a = ends.0 % case.nranks;
        let b = (a + 1 + ends.1 % (case.nranks - 1)) % case.nranks;
        let out = simulate(Case { fault: Fault::Cut { a, b, at }, ..case.clone() });
        let stall = (case.stall_timeout.as_micros() as Micros).min(IDLE_US);
        assert_blamed(&case, &out, &[a, b], at + stall + TICK_US + SLACK_US);
    }

    #[test]
    fn a_slow_rank_only_makes_the_run_slower(
        case in case(), victim in any::<usize>(), factor in 2u32..=1_000, fraction in 0.0f64..1.0,
    ) {
        let at = baseline(&case, fraction);
        let rank = victim % case.nranks;
        let out = simulate(Case { fault: Fault::Slow { rank, factor, at }, ..case.clone() });
        assert_complete(&case, &out);
    }

    #[test]
    fn a_coordinator_late_by_less_than_a_nodes_patience_loses_nothing(
        case in case(), pause_ms in 200u64..=3_500, fraction in 0.0f64..1.0,
    ) {
        let at = baseline(&case, fraction);
        let out = simulate(Case {
            fault: Fault::Pause { at, for_us: pause_ms * 1_000 },
            ..case.clone()
        });
        assert_complete(&case, &out);
    }

    #[test]
    fn a_coordinator_late_beyond_a_nodes_patience_blames_no_rank(
        case in case(), pause_ms in 4_500u64..=10_000, fraction in 0.0f64..1.0,
    ) {
        let at = baseline(&case, fraction);
        let out = simulate(Case {
            fault: Fault::Pause { at, for_us: pause_ms * 1_000 },
            ..case.clone()
        });
        assert_kept(&case, &out);
        match &out.failure {
            None => assert_complete(&case, &out),
            Some((f, _)) => {
                prop_assert_eq!(f.rank, None, "{}", f.message);
                prop_assert!(f.message.contains("coordinator was not scheduled"), "{}", f.message);
            }
        }
    }
}
