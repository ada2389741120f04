//! Element-wise reduction of byte buffers, the kernel every receive with
//! [`RecvAction::Reduce`](crate::RecvAction::Reduce) runs.
//!
//! Buffers are byte slices in native endianness. When both slices are aligned for the element
//! type the loop runs over typed slices, which the compiler vectorises; otherwise (a network
//! chunk can start anywhere) it decodes element by element.

use bytemuck::Pod;

use crate::{DataType, ReduceOp};

/// An element type the kernels know how to combine. Integer sums wrap (as NCCL's do), so bytes
/// from a peer can never make the kernel panic on overflow.
pub trait Element: Pod + PartialEq {
    fn sum(self, other: Self) -> Self;
    fn min(self, other: Self) -> Self;
    fn max(self, other: Self) -> Self;
    fn from_small(v: u32) -> Self;
}

macro_rules! float_element {
    ($t:ty) => {
        impl Element for $t {
            fn sum(self, o: Self) -> Self {
                self + o
            }
            fn min(self, o: Self) -> Self {
                <$t>::min(self, o)
            }
            fn max(self, o: Self) -> Self {
                <$t>::max(self, o)
            }
            fn from_small(v: u32) -> Self {
                v as $t
            }
        }
    };
}
macro_rules! int_element {
    ($t:ty) => {
        impl Element for $t {
            fn sum(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn min(self, o: Self) -> Self {
                Ord::min(self, o)
            }
            fn max(self, o: Self) -> Self {
                Ord::max(self, o)
            }
            fn from_small(v: u32) -> Self {
                v as $t
            }
        }
    };
}
float_element!(f32);
float_element!(f64);
int_element!(i32);
int_element!(i64);

fn combine<T: Element>(op: ReduceOp, a: T, b: T) -> T {
    match op {
        ReduceOp::Sum => a.sum(b),
        ReduceOp::Min => a.min(b),
        ReduceOp::Max => a.max(b),
    }
}

/// Elements of an unaligned source staged at a time (2-4 KiB: stays in L1, and the stage is
/// cheap to zero).
const STAGE: usize = 512;

fn reduce_aligned<T: Element>(op: ReduceOp, d: &mut [T], s: &[T]) {
    // One loop per operator so each inner loop is branch-free and vectorises.
    match op {
        ReduceOp::Sum => d.iter_mut().zip(s).for_each(|(d, s)| *d = d.sum(*s)),
        ReduceOp::Min => d.iter_mut().zip(s).for_each(|(d, s)| *d = d.min(*s)),
        ReduceOp::Max => d.iter_mut().zip(s).for_each(|(d, s)| *d = d.max(*s)),
    }
}

fn reduce3_aligned<T: Element>(op: ReduceOp, d: &mut [T], a: &[T], b: &[T]) {
    let pairs = a.iter().zip(b);
    match op {
        ReduceOp::Sum => d
            .iter_mut()
            .zip(pairs)
            .for_each(|(d, (a, b))| *d = a.sum(*b)),
        ReduceOp::Min => d
            .iter_mut()
            .zip(pairs)
            .for_each(|(d, (a, b))| *d = a.min(*b)),
        ReduceOp::Max => d
            .iter_mut()
            .zip(pairs)
            .for_each(|(d, (a, b))| *d = a.max(*b)),
    }
}

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
            reduce_aligned(op, &mut d[at..at + s.len()], s)
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
    match dtype {
        DataType::Float => reduce_typed::<f32>(op, dst, src),
        DataType::Double => reduce_typed::<f64>(op, dst, src),
        DataType::Int32 => reduce_typed::<i32>(op, dst, src),
        DataType::Int64 => reduce_typed::<i64>(op, dst, src),
    }
}

fn reduce3_typed<T: Element>(op: ReduceOp, dst: &mut [u8], a: &[u8], b: &[u8]) {
    if let (Ok(d), Ok(a)) = (
        bytemuck::try_cast_slice_mut::<u8, T>(dst),
        bytemuck::try_cast_slice::<u8, T>(a),
    ) {
        for_aligned_blocks(b, |at, b: &[T]| {
            let end = at + b.len();
            reduce3_aligned(op, &mut d[at..end], &a[at..end], b)
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
    match dtype {
        DataType::Float => reduce3_typed::<f32>(op, dst, a, b),
        DataType::Double => reduce3_typed::<f64>(op, dst, a, b),
        DataType::Int32 => reduce3_typed::<i32>(op, dst, a, b),
        DataType::Int64 => reduce3_typed::<i64>(op, dst, a, b),
    }
}

/// Typed reduction for the in-memory executor and tests.
pub fn reduce_elements<T: Element>(op: ReduceOp, dst: &mut [T], src: &[T]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = combine(op, *d, *s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern;

    #[test]
    fn aligned_and_unaligned_paths_agree() {
        // 2,500 elements: more than one staged block, and not a whole number of them.
        for (dtype, count) in DataType::ALL
            .into_iter()
            .flat_map(|d| [(d, 37), (d, 2_500)])
        {
            for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
                let a = pattern::fill(dtype, 3, count);
                let b = pattern::fill(dtype, 5, count);
                let mut aligned = a.clone();
                reduce_into(dtype, op, &mut aligned, &b);
                // Shift the source by one byte so it cannot be cast to a typed slice.
                let mut shifted = vec![0u8; b.len() + 1];
                shifted[1..].copy_from_slice(&b);
                let mut unaligned = a.clone();
                reduce_into(dtype, op, &mut unaligned, &shifted[1..]);
                assert_eq!(aligned, unaligned, "{dtype} {op} {count}");
                assert_ne!(aligned, a, "{dtype} {op} {count} changed nothing");
            }
        }
    }

    #[test]
    fn reduce_from_equals_copy_then_reduce_at_any_alignment() {
        for (dtype, count) in DataType::ALL
            .into_iter()
            .flat_map(|d| [(d, 37), (d, 1_500)])
        {
            for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
                let a = pattern::fill(dtype, 3, count);
                let b = pattern::fill(dtype, 5, count);
                let mut want = a.clone();
                reduce_into(dtype, op, &mut want, &b);
                for (shift_a, shift_b) in [(0, 0), (0, 1), (1, 0), (3, 5)] {
                    let shifted = |v: &[u8], by: usize| {
                        let mut s = vec![0u8; v.len() + by];
                        s[by..].copy_from_slice(v);
                        s
                    };
                    let (sa, sb) = (shifted(&a, shift_a), shifted(&b, shift_b));
                    // Stale bytes in the destination must not count.
                    let mut dst = pattern::fill(dtype, 7, count);
                    reduce_from(dtype, op, &mut dst, &sa[shift_a..], &sb[shift_b..]);
                    assert_eq!(dst, want, "{dtype} {op} {count} shifts {shift_a} {shift_b}");
                }
            }
        }
    }

    #[test]
    fn integer_sums_wrap_instead_of_panicking() {
        let mut d = i32::MAX.to_ne_bytes().to_vec();
        reduce_into(DataType::Int32, ReduceOp::Sum, &mut d, &1i32.to_ne_bytes());
        assert_eq!(d, i32::MIN.to_ne_bytes());
    }
}
