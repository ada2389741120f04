//! Element-wise reduction of byte buffers, the kernel every receive with
//! [`RecvAction::Reduce`](crate::RecvAction::Reduce) runs, and [`finish_avg`], the division that
//! ends an average.
//!
//! Buffers are byte slices in native endianness. When both slices are aligned for the element
//! type the loop runs over typed slices, which the compiler vectorises; otherwise (a network
//! chunk can start anywhere) the source is staged through an aligned buffer, or, when the
//! destination itself is unaligned, decoded element by element.
//!
//! Integer sums and products wrap. half and bfloat16 convert both operands of each pairwise
//! combine to f32, combine in f32 and round the result back once, to nearest even: what NCCL's
//! reduction kernels do per reduction step for these types (and the same value as its native
//! 16-bit instructions give, since f32 is wide enough for the double rounding to be innocuous).
//! `Avg` combines as `Sum`; see [`finish_avg`] for its division.

mod element;
mod half_float;

pub(crate) use element::with_element;
pub use element::{combine, Element, Exact};

use crate::{DataType, ReduceOp};

/// Elements of an unaligned source staged at a time (0.5-4 KiB: stays in L1, and the stage is
/// cheap to zero).
const STAGE: usize = 512;

/// Calls `f(first_element, elements)` over `src` as typed elements: the slice itself when it is
/// aligned, else consecutive copies of it staged through an aligned buffer. A network chunk can
/// start at any byte; staging keeps the vectorised loops running on it (decoding element by
/// element ran at about half their speed).
fn for_aligned_blocks<T: Element>(src: &[u8], mut f: impl FnMut(usize, &[T])) {
    if let Ok(s) = bytemuck::try_cast_slice::<u8, T>(src) {
        f(0, s);
        return;
    }
    let n = std::mem::size_of::<T>();
    let mut stage = [T::zeroed(); STAGE];
    for (i, block) in src.chunks(STAGE * n).enumerate() {
        let staged = &mut stage[..block.len() / n];
        bytemuck::cast_slice_mut::<T, u8>(staged).copy_from_slice(block);
        f(i * STAGE, staged);
    }
}

fn reduce_typed<T: Element>(op: ReduceOp, dst: &mut [u8], src: &[u8]) {
    if let Ok(d) = bytemuck::try_cast_slice_mut::<u8, T>(dst) {
        for_aligned_blocks(src, |at, s: &[T]| {
            T::reduce_slice(op, &mut d[at..at + s.len()], s)
        });
        return;
    }
    let n = std::mem::size_of::<T>();
    for (d, s) in dst.chunks_exact_mut(n).zip(src.chunks_exact(n)) {
        let a: T = bytemuck::pod_read_unaligned(d);
        let b: T = bytemuck::pod_read_unaligned(s);
        d.copy_from_slice(bytemuck::bytes_of(&combine(op, a, b)));
    }
}

/// `dst[i] = dst[i] op src[i]` for every element.
///
/// Both slices must have the same length, a multiple of the element size; callers derive the
/// lengths from a validated schedule, so a mismatch is a bug and panics.
pub fn reduce_into(dtype: DataType, op: ReduceOp, dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len(), "reduce of unequal lengths");
    assert_eq!(dst.len() % dtype.size(), 0, "reduce of a partial element");
    with_element!(dtype, reduce_typed(op, dst, src));
}

fn reduce3_typed<T: Element>(op: ReduceOp, dst: &mut [u8], a: &[u8], b: &[u8]) {
    if let (Ok(d), Ok(a)) = (
        bytemuck::try_cast_slice_mut::<u8, T>(dst),
        bytemuck::try_cast_slice::<u8, T>(a),
    ) {
        for_aligned_blocks(b, |at, b: &[T]| {
            let end = at + b.len();
            T::reduce3_slice(op, &mut d[at..end], &a[at..end], b)
        });
        return;
    }
    dst.copy_from_slice(a);
    reduce_typed::<T>(op, dst, b);
}

/// `dst[i] = a[i] op b[i]` for every element: a reduction that reads one operand from elsewhere
/// than its destination (an out-of-place iteration's input), in one pass.
///
/// All three slices must have the same length, a multiple of the element size, as for
/// [`reduce_into`].
pub fn reduce_from(dtype: DataType, op: ReduceOp, dst: &mut [u8], a: &[u8], b: &[u8]) {
    assert!(
        dst.len() == a.len() && a.len() == b.len(),
        "reduce of unequal lengths"
    );
    assert_eq!(dst.len() % dtype.size(), 0, "reduce of a partial element");
    with_element!(dtype, reduce3_typed(op, dst, a, b));
}

fn finish_avg_typed<T: Element>(nranks: usize, buf: &mut [u8]) {
    if let Ok(b) = bytemuck::try_cast_slice_mut::<u8, T>(buf) {
        b.iter_mut().for_each(|x| *x = x.div_ranks(nranks));
        return;
    }
    for c in buf.chunks_exact_mut(std::mem::size_of::<T>()) {
        let x: T = bytemuck::pod_read_unaligned(c);
        c.copy_from_slice(bytemuck::bytes_of(&x.div_ranks(nranks)));
    }
}

/// Ends an average: divides every element of a rank's result (the sum over `nranks` ranks, which
/// is how `Avg` combines) by `nranks`, in place.
///
/// Integers divide truncating toward zero, as NCCL's `SumPostDiv` does for integer `ncclAvg`.
/// float and double divide in the type; half and bfloat16 divide in f32 and round once.
///
/// NCCL computes a floating-point `ncclAvg` differently: as `PreMulSum`, each rank's input is
/// multiplied by 1/nranks before the sum, which rounds differently (1/nranks is inexact for most
/// rank counts, and every partial sum of the scaled values can round). collbench sums first and
/// divides once, so that the result of the pattern inputs is exact up to
/// [`max_exact_ranks`](crate::pattern::max_exact_ranks) and the check can demand it bit for bit.
///
/// `buf` must be whole elements and `nranks` at least 1; both come from a validated run, so
/// anything else is a bug and panics.
pub fn finish_avg(dtype: DataType, nranks: usize, buf: &mut [u8]) {
    assert!(nranks >= 1, "an average over no ranks");
    assert_eq!(buf.len() % dtype.size(), 0, "average of a partial element");
    with_element!(dtype, finish_avg_typed(nranks, buf));
}

/// Typed reduction for the in-memory executor and tests.
pub fn reduce_elements<T: Element>(op: ReduceOp, dst: &mut [T], src: &[T]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = combine(op, *d, *s);
    }
}

#[cfg(test)]
mod tests;
