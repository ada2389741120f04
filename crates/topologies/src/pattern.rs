//! Deterministic inputs whose all-reduce is known exactly.
//!
//! Rank r's element i is `(r + i) mod PERIOD`: small integers, so float sums are exact for any
//! realistic rank count (PERIOD x ranks < 2^24 up to about 1.3 million ranks) and the expected
//! result of element i depends only on `i mod PERIOD`. Ranks differ, so a schedule that drops or
//! doubles a contribution is caught.

use std::ops::Range;

use crate::reduce::Element;
use crate::{DataType, ReduceOp};

pub const PERIOD: usize = 13;

pub fn value(rank: usize, index: usize) -> u32 {
    ((rank + index) % PERIOD) as u32
}

/// The expected result for each residue `index mod PERIOD`.
pub fn expected_table(nranks: usize, op: ReduceOp) -> [u64; PERIOD] {
    let mut table = [0u64; PERIOD];
    for (j, slot) in table.iter_mut().enumerate() {
        // Only PERIOD distinct values exist; count how often each occurs among the ranks.
        let full = (nranks / PERIOD) as u64;
        let rest = nranks % PERIOD;
        let counts: Vec<u64> = (0..PERIOD)
            .map(|v| full + u64::from((0..rest).any(|r| (r + j) % PERIOD == v)))
            .collect();
        *slot = match op {
            ReduceOp::Sum => counts.iter().enumerate().map(|(v, c)| v as u64 * c).sum(),
            ReduceOp::Min => counts.iter().position(|&c| c > 0).unwrap_or(0) as u64,
            ReduceOp::Max => counts.iter().rposition(|&c| c > 0).unwrap_or(0) as u64,
        };
    }
    table
}

fn typed_fill<T: Element>(rank: usize, first: usize, count: usize, out: &mut Vec<u8>) {
    out.reserve(count * std::mem::size_of::<T>());
    for i in first..first + count {
        out.extend_from_slice(bytemuck::bytes_of(&T::from_small(value(rank, i))));
    }
}

/// Rank `rank`'s input of `count` elements, as native-endian bytes.
pub fn fill(dtype: DataType, rank: usize, count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    fill_into(dtype, rank, count, &mut out);
    out
}

/// Like [`fill`] into an existing vector (cleared first), to reuse its allocation.
pub fn fill_into(dtype: DataType, rank: usize, count: usize, out: &mut Vec<u8>) {
    fill_part_into(dtype, rank, 0..count, out);
}

/// Elements `part` of rank `rank`'s input (a channel's part of the buffer) into `out`, cleared
/// first.
pub fn fill_part_into(dtype: DataType, rank: usize, part: Range<usize>, out: &mut Vec<u8>) {
    out.clear();
    let (first, count) = (part.start, part.len());
    match dtype {
        DataType::Float => typed_fill::<f32>(rank, first, count, out),
        DataType::Double => typed_fill::<f64>(rank, first, count, out),
        DataType::Int32 => typed_fill::<i32>(rank, first, count, out),
        DataType::Int64 => typed_fill::<i64>(rank, first, count, out),
    }
}

/// What one element of a rank's result must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The reduction, over every rank, of the inputs at this element's index.
    Reduced,
    /// Rank `rank`'s input element `index`, moved here unchanged.
    Input { rank: usize, index: usize },
    /// Nothing: the collective leaves this element undefined (a reduce-scatter's other blocks).
    Unchecked,
}

fn typed_wrong<T: Element>(
    bytes: &[u8],
    first: usize,
    table: &[u64; PERIOD],
    expect: &impl Fn(usize) -> Expect,
) -> u64 {
    let reduced: Vec<T> = table.iter().map(|&v| T::from_small(v as u32)).collect();
    let n = std::mem::size_of::<T>();
    bytes
        .chunks_exact(n)
        .enumerate()
        .filter(|(i, c)| {
            let want = match expect(first + i) {
                Expect::Reduced => reduced[(first + i) % PERIOD],
                Expect::Input { rank, index } => T::from_small(value(rank, index)),
                Expect::Unchecked => return false,
            };
            bytemuck::pod_read_unaligned::<T>(c) != want
        })
        .count() as u64
}

/// How many elements of an all-reduce result differ from the exact answer (nccl-tests' #wrong).
/// A trailing partial element counts as wrong.
pub fn count_wrong(dtype: DataType, op: ReduceOp, nranks: usize, result: &[u8]) -> u64 {
    count_wrong_from(dtype, op, nranks, 0, result)
}

/// Like [`count_wrong`] for the part of a result that starts at element `first` (a channel's).
pub fn count_wrong_from(
    dtype: DataType,
    op: ReduceOp,
    nranks: usize,
    first: usize,
    result: &[u8],
) -> u64 {
    count_wrong_expected(dtype, op, nranks, first, result, |_| Expect::Reduced)
}

/// The wrong elements of a result whose element i (counted from `first`) must hold what
/// `expect(first + i)` says, over `nranks` ranks' inputs. A trailing partial element counts as
/// wrong.
pub fn count_wrong_expected(
    dtype: DataType,
    op: ReduceOp,
    nranks: usize,
    first: usize,
    result: &[u8],
    expect: impl Fn(usize) -> Expect,
) -> u64 {
    let table = expected_table(nranks, op);
    let partial = u64::from(!result.len().is_multiple_of(dtype.size()));
    partial
        + match dtype {
            DataType::Float => typed_wrong::<f32>(result, first, &table, &expect),
            DataType::Double => typed_wrong::<f64>(result, first, &table, &expect),
            DataType::Int32 => typed_wrong::<i32>(result, first, &table, &expect),
            DataType::Int64 => typed_wrong::<i64>(result, first, &table, &expect),
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reduce::reduce_into;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn table_matches_brute_force(nranks in 1usize..200, j in 0usize..PERIOD) {
            let vals: Vec<u64> = (0..nranks).map(|r| value(r, j) as u64).collect();
            prop_assert_eq!(expected_table(nranks, ReduceOp::Sum)[j], vals.iter().sum::<u64>());
            prop_assert_eq!(expected_table(nranks, ReduceOp::Min)[j], *vals.iter().min().unwrap());
            prop_assert_eq!(expected_table(nranks, ReduceOp::Max)[j], *vals.iter().max().unwrap());
        }
    }

    #[test]
    fn a_part_is_the_same_as_the_whole_cut_there() {
        for dtype in DataType::ALL {
            let e = dtype.size();
            let whole = fill(dtype, 3, 40);
            let mut part = Vec::new();
            fill_part_into(dtype, 3, 11..29, &mut part);
            assert_eq!(part, whole[11 * e..29 * e]);
            // A part checked from its own start is right; checked as if at 0, mostly wrong.
            let mut sum = fill(dtype, 0, 40);
            reduce_into(dtype, ReduceOp::Sum, &mut sum, &fill(dtype, 1, 40));
            let cut = &sum[11 * e..29 * e];
            assert_eq!(count_wrong_from(dtype, ReduceOp::Sum, 2, 11, cut), 0);
            assert!(count_wrong(dtype, ReduceOp::Sum, 2, cut) > 0);
        }
    }

    #[test]
    fn a_single_rank_is_its_own_answer_and_a_flip_is_caught() {
        for dtype in DataType::ALL {
            let mut buf = fill(dtype, 0, 100);
            assert_eq!(count_wrong(dtype, ReduceOp::Sum, 1, &buf), 0);
            buf[dtype.size() * 7] ^= 0x40;
            assert_eq!(count_wrong(dtype, ReduceOp::Sum, 1, &buf), 1);
        }
    }
}
