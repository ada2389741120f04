//! Which parts of the work buffer an out-of-place iteration has not written yet.
//!
//! An out-of-place all-reduce reads its input and writes its output. Copying the whole input
//! into the work buffer before every iteration (as Gloo does) streams the buffer through memory
//! once more than the algorithm needs; instead the executor remembers which element ranges it
//! has not written this iteration, and reads those from the input: a send takes them from the
//! input, the first reduction into them computes `input op received`, and whatever no step
//! wrote is copied from the input when the program ends. This type is that bookkeeping, pure
//! logic over element ranges.

use std::ops::Range;

/// The element ranges of a buffer not yet written, sorted, disjoint and non-empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwritten {
    ranges: Vec<Range<usize>>,
}

impl Unwritten {
    /// Nothing of a buffer of `len` elements written yet.
    pub fn all(len: usize) -> Self {
        Unwritten {
            ranges: std::iter::once(0..len).filter(|r| !r.is_empty()).collect(),
        }
    }

    /// `range` cut into consecutive pieces, each with whether it is still unwritten. The pieces
    /// cover `range` exactly, in order.
    pub fn split(&self, range: Range<usize>) -> Vec<(Range<usize>, bool)> {
        let mut pieces = Vec::new();
        if range.is_empty() {
            return pieces;
        }
        let mut at = range.start;
        for r in self.overlapping(&range) {
            let start = r.start.max(range.start);
            let end = r.end.min(range.end);
            if at < start {
                pieces.push((at..start, false));
            }
            pieces.push((start..end, true));
            at = end;
        }
        if at < range.end {
            pieces.push((at..range.end, false));
        }
        pieces
    }

    /// The unwritten parts of `range`, in order.
    pub fn within(&self, range: Range<usize>) -> Vec<Range<usize>> {
        self.split(range)
            .into_iter()
            .filter_map(|(r, unwritten)| unwritten.then_some(r))
            .collect()
    }

    /// Records that `range` has been written.
    pub fn mark_written(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(self.ranges.len() + 1);
        for r in self.ranges.drain(..) {
            if r.end <= range.start || r.start >= range.end {
                kept.push(r);
                continue;
            }
            if r.start < range.start {
                kept.push(r.start..range.start);
            }
            if range.end < r.end {
                kept.push(range.end..r.end);
            }
        }
        self.ranges = kept;
    }

    /// The ranges still unwritten.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    fn overlapping<'a>(
        &'a self,
        range: &'a Range<usize>,
    ) -> impl Iterator<Item = &'a Range<usize>> {
        // The ranges are sorted: skip those that end before `range` starts.
        let first = self.ranges.partition_point(|r| r.end <= range.start);
        self.ranges[first..]
            .iter()
            .take_while(move |r| r.start < range.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The model: one flag per element.
    fn model_split(written: &[bool], range: Range<usize>) -> Vec<(Range<usize>, bool)> {
        let mut pieces: Vec<(Range<usize>, bool)> = Vec::new();
        for i in range {
            let unwritten = !written[i];
            match pieces.last_mut() {
                Some((r, u)) if *u == unwritten && r.end == i => r.end = i + 1,
                _ => pieces.push((i..i + 1, unwritten)),
            }
        }
        pieces
    }

    fn range_in(len: usize) -> impl Strategy<Value = Range<usize>> {
        (0..=len, 0..=len).prop_map(|(a, b)| a.min(b)..a.max(b))
    }

    proptest! {
        #[test]
        fn agrees_with_a_flag_per_element(
            len in 0usize..64,
            writes in proptest::collection::vec(range_in(64), 0..12),
            probe in range_in(64),
        ) {
            let mut set = Unwritten::all(len);
            let mut written = vec![false; len];
            for w in writes {
                let w = w.start.min(len)..w.end.min(len);
                set.mark_written(w.clone());
                for flag in &mut written[w] {
                    *flag = true;
                }
                // The ranges stay sorted, disjoint and non-empty.
                for pair in set.ranges().windows(2) {
                    prop_assert!(pair[0].end < pair[1].start);
                }
                prop_assert!(set.ranges().iter().all(|r| !r.is_empty()));
            }
            let probe = probe.start.min(len)..probe.end.min(len);
            prop_assert_eq!(set.split(probe.clone()), model_split(&written, probe.clone()));
            let unwritten_count: usize = set.ranges().iter().map(|r| r.len()).sum();
            prop_assert_eq!(unwritten_count, written.iter().filter(|w| !**w).count());
        }
    }

    #[test]
    fn a_fresh_buffer_is_all_unwritten_and_writes_cut_it() {
        let mut u = Unwritten::all(10);
        assert_eq!(u.split(2..5), vec![(2..5, true)]);
        u.mark_written(3..6);
        assert_eq!(u.ranges(), &[0..3, 6..10]);
        assert_eq!(
            u.split(1..8),
            vec![(1..3, true), (3..6, false), (6..8, true)]
        );
        assert_eq!(u.within(1..8), vec![1..3, 6..8]);
        u.mark_written(0..10);
        assert!(u.ranges().is_empty());
        assert_eq!(u.split(0..4), vec![(0..4, false)]);
        assert!(Unwritten::all(0).ranges().is_empty());
        assert!(Unwritten::all(10).split(5..5).is_empty());
    }
}
