//! Deterministic inputs whose all-reduce is known exactly, and the check of a result against
//! them (nccl-tests' #wrong).
//!
//! Rank r's element i is a small integer chosen by the residue `(r + i) mod PERIOD`, by the
//! element type and by the operator ([`inputs`] says which and why), so that every partial and
//! final result is exact up to [`max_exact_ranks`] ranks: for every type at least 78 ranks for
//! prod and 273 for sum and avg, and any number for min and max (the table is in [`inputs`]).
//! The expected result of element i depends only on `i mod PERIOD`. Ranks' inputs differ, so a
//! schedule that drops or doubles a contribution is caught (on how many elements, [`inputs`]
//! says per operator).

pub mod inputs;

use std::ops::Range;

pub use inputs::{expected_table, input_table, max_exact_ranks, value, Exact, PERIOD};

use crate::reduce::{with_element, Element};
use crate::{DataType, ReduceOp};

/// The inputs of one residue period as elements of type `T`.
fn typed_inputs<T: Element>(dtype: DataType, op: ReduceOp) -> [T; PERIOD] {
    input_table(dtype, op).map(|v| T::from_exact(Exact::from(v)))
}

fn typed_fill<T: Element>(
    dtype: DataType,
    op: ReduceOp,
    rank: usize,
    part: Range<usize>,
    out: &mut Vec<u8>,
) {
    let inputs = typed_inputs::<T>(dtype, op);
    out.reserve(part.len() * std::mem::size_of::<T>());
    for i in part {
        out.extend_from_slice(bytemuck::bytes_of(&inputs[(rank + i) % PERIOD]));
    }
}

/// Rank `rank`'s input of `count` elements for `op` on `dtype`, as native-endian bytes.
pub fn fill(dtype: DataType, op: ReduceOp, rank: usize, count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    fill_into(dtype, op, rank, count, &mut out);
    out
}

/// Like [`fill`] into an existing vector (cleared first), to reuse its allocation.
pub fn fill_into(dtype: DataType, op: ReduceOp, rank: usize, count: usize, out: &mut Vec<u8>) {
    fill_part_into(dtype, op, rank, 0..count, out);
}

/// Elements `part` of rank `rank`'s input (a channel's part of the buffer) into `out`, cleared
/// first.
pub fn fill_part_into(
    dtype: DataType,
    op: ReduceOp,
    rank: usize,
    part: Range<usize>,
    out: &mut Vec<u8>,
) {
    out.clear();
    with_element!(dtype, typed_fill(dtype, op, rank, part, out));
}

/// What one element of a rank's result must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The reduction, over every rank, of the inputs at this element's index (for avg, their sum
    /// divided as [`finish_avg`](crate::reduce::finish_avg) divides).
    Reduced,
    /// Rank `rank`'s input element `index`, moved here unchanged.
    Input { rank: usize, index: usize },
    /// Nothing: the collective leaves this element undefined (a reduce-scatter's other blocks).
    Unchecked,
}

fn typed_wrong<T: Element>(
    dtype: DataType,
    op: ReduceOp,
    nranks: usize,
    first: usize,
    bytes: &[u8],
    expect: &impl Fn(usize) -> Expect,
) -> u64 {
    let mut reduced = expected_table(dtype, op, nranks).map(T::from_exact);
    if op == ReduceOp::Avg {
        // No ranks cannot average; the sum (0) stands for it rather than a division by zero.
        reduced = reduced.map(|x| x.div_ranks(nranks.max(1)));
    }
    let inputs = typed_inputs::<T>(dtype, op);
    let n = std::mem::size_of::<T>();
    bytes
        .chunks_exact(n)
        .enumerate()
        .filter(|(i, c)| {
            let want = match expect(first + i) {
                Expect::Reduced => reduced[(first + i) % PERIOD],
                Expect::Input { rank, index } => inputs[(rank + index) % PERIOD],
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
/// wrong. Elements compare as values of the type: a NaN is always wrong, and -0.0 equals 0.0.
pub fn count_wrong_expected(
    dtype: DataType,
    op: ReduceOp,
    nranks: usize,
    first: usize,
    result: &[u8],
    expect: impl Fn(usize) -> Expect,
) -> u64 {
    let partial = u64::from(!result.len().is_multiple_of(dtype.size()));
    partial
        + with_element!(
            dtype,
            typed_wrong(dtype, op, nranks, first, result, &expect)
        )
}

#[cfg(test)]
mod tests;
