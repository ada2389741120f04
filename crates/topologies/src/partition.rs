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
    }
}
