//! Properties every collective's schedules must have, for every algorithm and p from 1 to 64:
//! run on data in the in-memory executor (which also fails on an unmatched send, a length
//! mismatch or a deadlock), every rank ends with what the collective defines, on one channel and
//! on several; and a schedule spoiled on purpose is caught.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

use proptest::prelude::*;
use topologies::executor::count_wrong_on_layout;
use topologies::layout::Layout;
use topologies::{BuildOptions, Collective, CollectiveError, RecvAction, ReduceOp, Schedule};

const OPS: [ReduceOp; 5] = ReduceOp::ALL;

fn options(segment_bytes: usize) -> BuildOptions {
    BuildOptions {
        segment_bytes,
        ..BuildOptions::default()
    }
}

fn layout(collective: Collective, nranks: usize, count: usize, root: usize) -> Layout {
    Layout {
        collective,
        nranks,
        count,
        root,
    }
}

/// `blocks` blocks per rank for the blocked collectives, `blocks` elements otherwise.
fn count_of(c: Collective, p: usize, blocks: usize) -> usize {
    if c.blocked() {
        blocks * p
    } else {
        blocks
    }
}

fn wrong(c: Collective, s: &Schedule, op: ReduceOp, l: &Layout) -> u64 {
    count_wrong_on_layout(s, op, l, &l.channel_runs(1, 0)).unwrap_or_else(|e| panic!("{c}: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_rank_ends_with_what_the_collective_defines(
        p in 1usize..=64,
        blocks in 0usize..40,
        op_i in 0usize..OPS.len(),
        segment_bytes in 1usize..=64,
        root_seed in 0usize..1000,
    ) {
        let root = root_seed % p;
        for c in Collective::ALL {
            let count = count_of(c, p, blocks);
            let l = layout(c, p, count, root);
            for &a in c.algorithms() {
                let s = c.build(a, p, count, 4, &options(segment_bytes), root).unwrap();
                prop_assert_eq!(wrong(c, &s, OPS[op_i], &l), 0, "{} {} p={} count={} root={}", c, a, p, count, root);
            }
        }
    }

    #[test]
    fn channels_each_run_the_collective_on_their_runs(
        p in 1usize..=12,
        blocks in 0usize..60,
        channels in 1usize..=5,
        root_seed in 0usize..100,
    ) {
        let root = root_seed % p;
        for c in Collective::ALL {
            let count = count_of(c, p, blocks);
            let l = layout(c, p, count, root);
            let mut covered = vec![0u32; count];
            for k in 0..channels {
                let runs = l.channel_runs(channels, k);
                for g in runs.iter().flat_map(|r| r.clone()) {
                    covered[g] += 1;
                }
                let n = l.channel_count(channels, k);
                for &a in c.algorithms() {
                    let s = c.build(a, p, n, 4, &options(8), root).unwrap();
                    let w = count_wrong_on_layout(&s, ReduceOp::Sum, &l, &runs).unwrap();
                    prop_assert_eq!(w, 0, "{} {} p={} count={} channel {}/{}", c, a, p, count, k, channels);
                }
            }
            prop_assert!(covered.iter().all(|&n| n == 1), "{} runs cover the buffer once", c);
        }
    }
}

/// Each way of spoiling a schedule: a copy that reduces, a reduce that copies, a receive moved
/// to the wrong place.
fn spoiled(s: &Schedule, how: usize) -> Option<Schedule> {
    let mut s = s.clone();
    let recv = s
        .programs
        .iter_mut()
        .flat_map(|p| p.iter_mut())
        .flat_map(|st| st.recvs.iter_mut())
        .last()?;
    match how {
        0 => {
            recv.action = match recv.action {
                RecvAction::Copy => RecvAction::Reduce,
                RecvAction::Reduce => RecvAction::Copy,
            }
        }
        _ => {
            let len = recv.range.len();
            let start = if recv.range.start >= len {
                0
            } else {
                s.count - len
            };
            if start == recv.range.start {
                return None;
            }
            recv.range = start..start + len;
        }
    }
    Some(s)
}

#[test]
fn a_spoiled_schedule_is_caught() {
    for c in Collective::ALL {
        for &a in c.algorithms() {
            for p in [2, 3, 4, 5, 8] {
                let count = count_of(c, p, 6);
                let root = p - 1;
                let l = layout(c, p, count, root);
                let s = c.build(a, p, count, 4, &options(8), root).unwrap();
                for how in 0..2 {
                    let Some(bad) = spoiled(&s, how) else {
                        continue;
                    };
                    let caught =
                        count_wrong_on_layout(&bad, ReduceOp::Sum, &l, &l.channel_runs(1, 0))
                            .map_or(true, |w| w > 0);
                    // A copy that becomes a reduce into an undefined block may go unseen; the
                    // receive that lands elsewhere never does.
                    if how == 1 || !matches!(c, Collective::ReduceScatter | Collective::Reduce) {
                        assert!(caught, "{c} {a} p={p} spoiled {how}");
                    }
                }
            }
        }
    }
}

#[test]
fn shapes_that_do_not_fit_are_refused_with_the_reason() {
    let o = BuildOptions::default();
    let e = Collective::AllGather
        .build(topologies::Algorithm::Ring, 4, 10, 4, &o, 0)
        .unwrap_err();
    assert!(
        matches!(
            e,
            CollectiveError::Blocks {
                count: 10,
                nranks: 4,
                ..
            }
        ),
        "{e}"
    );
    let e = Collective::Broadcast
        .build(topologies::Algorithm::Chain, 4, 10, 4, &o, 4)
        .unwrap_err();
    assert_eq!(e.to_string(), "root 4 is not a rank of 4");
    let e = Collective::Reduce
        .build(topologies::Algorithm::Rd, 4, 10, 4, &o, 0)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "rd is not an algorithm of reduce; reduce has: chain, tree"
    );
}

proptest! {
    /// What an average divides: the same elements, run by run, as the check calls reduced.
    #[test]
    fn reduced_parts_are_the_reduced_elements(
        p in 1usize..=9,
        blocks in 0usize..20,
        channels in 1usize..=4,
        rank_seed in 0usize..100,
    ) {
        let me = rank_seed % p;
        for c in Collective::ALL {
            let l = layout(c, p, count_of(c, p, blocks), p - 1);
            for k in 0..channels {
                let runs = l.channel_runs(channels, k);
                let parts = l.reduced_parts(me, &runs);
                let global: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
                for (local, &g) in global.iter().enumerate() {
                    let reduced = l.expect(me, g) == topologies::pattern::Expect::Reduced;
                    let inside = parts.iter().any(|r| r.contains(&local));
                    prop_assert_eq!(reduced, inside, "{} p={} rank {} element {}", c, p, me, g);
                }
            }
        }
    }
}
