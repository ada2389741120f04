//! Channels: every algorithm, run as C independent all-reduces over C parts of the buffer (one
//! per channel, see `topologies::channels`), gives every rank the exact result over the whole
//! buffer, for any C, any count (divisible by C or not) and any p.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

use proptest::prelude::*;
use topologies::channels::{channels_for, parts};
use topologies::executor::count_wrong_on_pattern_from;
use topologies::{Algorithm, BuildOptions, ReduceOp};

const OPS: [ReduceOp; 5] = ReduceOp::ALL;

/// Wrong elements over every rank and channel when `channels` channels each run `algo` over
/// their part of `count` elements.
fn wrong_over_channels(
    algo: Algorithm,
    p: usize,
    count: usize,
    channels: usize,
    op: ReduceOp,
    opts: &BuildOptions,
) -> u64 {
    parts(count, channels)
        .into_iter()
        .map(|part| {
            let s = algo.build(p, part.len(), 4, opts).unwrap();
            count_wrong_on_pattern_from(&s, op, part.start).unwrap()
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_algorithm_over_any_channels_is_exact(
        p in 1usize..=16,
        count in 0usize..600,
        max_channels in 1usize..=8,
        min_bytes in 0usize..256,
        op_i in 0usize..OPS.len(),
        segment_bytes in 1usize..=64,
    ) {
        let opts = BuildOptions {
            segment_bytes,
            ring_segment_bytes: segment_bytes,
            ..BuildOptions::default()
        };
        let channels = channels_for(count, 4, max_channels, min_bytes);
        for algo in Algorithm::ALL_REDUCE {
            prop_assert_eq!(
                wrong_over_channels(algo, p, count, channels, OPS[op_i], &opts), 0,
                "{} p={} count={} channels={}", algo, p, count, channels
            );
        }
    }
}

/// The check is not vacuous: a channel that moves nothing leaves its part unreduced, and that
/// part, checked where it lies in the buffer, is wrong.
#[test]
fn a_channel_that_skips_its_part_is_caught() {
    let (p, count, channels) = (4, 1000, 3);
    let opts = BuildOptions::default();
    let cut = parts(count, channels);
    let skipped = &cut[1];
    let idle = topologies::Schedule::empty(p, skipped.len());
    let wrong = count_wrong_on_pattern_from(&idle, ReduceOp::Sum, skipped.start).unwrap();
    assert!(wrong > 0);
    assert_eq!(
        wrong_over_channels(Algorithm::Ring, p, count, channels, ReduceOp::Sum, &opts),
        0
    );
}
