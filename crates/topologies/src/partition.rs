//! Splitting a buffer into nearly equal contiguous pieces.

use std::ops::Range;

/// Splits `count` elements into `parts` contiguous ranges whose lengths differ by at most one;
/// the first `count % parts` ranges are the longer ones. Ranges may be empty when
/// `count < parts`. `parts` must be at least one.
pub fn split(count: usize, parts: usize) -> Vec<Range<usize>> {
    assert!(parts > 0, "split into zero parts");
    let base = count / parts;
    let extra = count % parts;
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

/// Splits `range` into `parts` nearly equal sub-ranges (see [`split`]).
pub fn split_range(range: Range<usize>, parts: usize) -> Vec<Range<usize>> {
    split(range.len(), parts)
        .into_iter()
        .map(|r| range.start + r.start..range.start + r.end)
        .collect()
}

/// Cuts `range` into consecutive segments of `seg` elements (the last may be shorter), the unit
/// that pipelined algorithms forward. An empty range has no segments. `seg` must be at least one.
pub fn segments(range: Range<usize>, seg: usize) -> Vec<Range<usize>> {
    assert!(seg > 0, "segments of zero elements");
    (range.start..range.end)
        .step_by(seg)
        .map(|start| start..(start + seg).min(range.end))
        .collect()
}

/// Elements per pipeline segment: `segment_bytes` rounded down to whole elements, at least one.
pub fn segment_elems(segment_bytes: usize, elem_size: usize) -> usize {
    (segment_bytes / elem_size.max(1)).max(1)
}

/// Block `b` of a buffer of equal blocks of `m` elements.
pub fn block(b: usize, m: usize) -> Range<usize> {
    b * m..(b + 1) * m
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pieces_cover_the_buffer_in_order(count in 0usize..10_000, parts in 1usize..100) {
            let pieces = split(count, parts);
            prop_assert_eq!(pieces.len(), parts);
            let mut next = 0;
            for p in &pieces {
                prop_assert_eq!(p.start, next);
                next = p.end;
            }
            prop_assert_eq!(next, count);
            let min = pieces.iter().map(|p| p.len()).min().unwrap_or(0);
            let max = pieces.iter().map(|p| p.len()).max().unwrap_or(0);
            prop_assert!(max - min <= 1);
        }

        #[test]
        fn segments_cover_the_range_in_order(start in 0usize..100, len in 0usize..1000, seg in 1usize..64) {
            let pieces = segments(start..start + len, seg);
            prop_assert_eq!(pieces.len(), len.div_ceil(seg));
            let mut next = start;
            for p in &pieces {
                prop_assert_eq!(p.start, next);
                prop_assert!(!p.is_empty() && p.len() <= seg);
                next = p.end;
            }
            prop_assert_eq!(next, start + len);
        }
    }

    #[test]
    fn segment_size_rounds_down_to_whole_elements_and_never_to_zero() {
        assert_eq!(segment_elems(1 << 20, 4), 1 << 18);
        assert_eq!(segment_elems(10, 4), 2);
        assert_eq!(segment_elems(3, 8), 1);
        assert_eq!(segment_elems(0, 0), 1);
    }
}
