//! Channels: one rank's data plane over several independent lanes, as collective libraries run
//! it (NCCL's channels).
//!
//! The buffer is cut into C contiguous parts and channel k runs the whole all-reduce over part
//! k: a schedule of its own, built for the part's element count, over the same ranks. The parts
//! are disjoint, so no channel ever reads what another writes: inside an iteration the channels
//! never wait for each other, and each can run on its own thread with its own sockets. Every
//! message of the one-channel schedule becomes C messages of about 1/C of its size, one per
//! channel, so the bytes moved are the same and the per-message costs are paid by the C
//! channels side by side.
//!
//! (Cutting each message of the one-channel schedule into C slices instead would tie the
//! channels together wherever a later step's message spans the slices of an earlier one, as
//! recursive halving's and the two-level algorithms' do: a barrier between the channels'
//! threads at every such step.)
//!
//! Small buffers use fewer channels ([`channels_for`]): below a minimum part size a message's
//! fixed cost dominates, and more lanes only add per-message costs.

use std::ops::Range;

use crate::partition;

/// How many channels a buffer of `count` elements of `elem_size` bytes uses, with `max` channels
/// open: as many as give every channel at least `min_bytes` (rounded up to whole elements),
/// at most `max` and at most `count`, and always at least one.
pub fn channels_for(count: usize, elem_size: usize, max: usize, min_bytes: usize) -> usize {
    let min_elements = min_bytes.div_ceil(elem_size.max(1)).max(1);
    (count / min_elements).clamp(1, max.max(1))
}

/// The element range of each of `channels` channels over `count` elements: contiguous, in order,
/// covering the buffer, lengths differing by at most one element (the first ones longer).
/// `channels` at least one; more channels than elements leaves the last ones empty, which
/// [`channels_for`] never asks for.
pub fn parts(count: usize, channels: usize) -> Vec<Range<usize>> {
    partition::split(count, channels.max(1))
}

/// Channel `k`'s part of `count` elements split over `channels` channels (see [`parts`]),
/// without building the others.
pub fn part(count: usize, channels: usize, k: usize) -> Range<usize> {
    let channels = channels.max(1);
    let (base, extra) = (count / channels, count % channels);
    let start = k * base + k.min(extra);
    start..start + base + usize::from(k < extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parts_cover_the_buffer_and_part_agrees(count in 0usize..5000, channels in 1usize..=16) {
            let ps = parts(count, channels);
            prop_assert_eq!(ps.len(), channels);
            let mut next = 0;
            for (k, p) in ps.iter().enumerate() {
                prop_assert_eq!(p.start, next);
                prop_assert_eq!(p.clone(), part(count, channels, k));
                next = p.end;
            }
            prop_assert_eq!(next, count);
            let lens: Vec<usize> = ps.iter().map(|p| p.len()).collect();
            prop_assert!(lens.iter().max().unwrap_or(&0) - lens.iter().min().unwrap_or(&0) <= 1);
        }

        #[test]
        fn channels_are_bounded_and_each_carries_the_minimum(
            count in 0usize..100_000,
            elem_size in proptest::sample::select(vec![1usize, 2, 4, 8]),
            max in 1usize..=16,
            min_bytes in 0usize..100_000,
        ) {
            let c = channels_for(count, elem_size, max, min_bytes);
            prop_assert!((1..=max).contains(&c));
            if c > 1 {
                // No channel empty, and every part at least the minimum.
                let shortest = count / c;
                prop_assert!(shortest >= 1);
                prop_assert!(shortest * elem_size >= min_bytes);
            }
            // One more channel would break the minimum.
            if c < max {
                let min_elements = min_bytes.div_ceil(elem_size).max(1);
                prop_assert!(count / (c + 1) < min_elements);
            }
        }
    }

    #[test]
    fn small_buffers_use_one_channel_and_large_ones_all() {
        assert_eq!(channels_for(256, 4, 8, 64 << 10), 1);
        assert_eq!(channels_for(16 << 20, 4, 8, 64 << 10), 8);
        // 256 KiB of floats with 64 KiB per channel: four.
        assert_eq!(channels_for(64 << 10, 4, 8, 64 << 10), 4);
        // A minimum of zero bytes still means at least one element per channel.
        assert_eq!(channels_for(3, 4, 8, 0), 3);
        assert_eq!(channels_for(0, 4, 8, 0), 1);
        assert_eq!(parts(10, 3), vec![0..4, 4..7, 7..10]);
    }
}
