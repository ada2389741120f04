//! What one element type does in a reduction: its pairwise combines, the division that ends an
//! average, and the exact small integers the input pattern is made of.

use bytemuck::Pod;

use crate::ReduceOp;

/// An exact number, `int x 2^shift`, that the check converts to each element type. Sums, minima
/// and maxima of the pattern's inputs have shift 0. Their products are +-2^k, held as `int` +-1
/// and `shift` k: double's (up to 2^1023) outgrow any integer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exact {
    pub int: i128,
    pub shift: u32,
}

impl From<i64> for Exact {
    fn from(v: i64) -> Self {
        Exact {
            int: v.into(),
            shift: 0,
        }
    }
}

impl Exact {
    /// The value as an f64: exact while `int` has at most 53 significant bits and the power of
    /// two is in range (infinite past 2^1023, as a kernel's overflowing product is).
    pub(crate) fn to_f64(self) -> f64 {
        let pow2 = match self.shift {
            0..=1023 => f64::from_bits(u64::from(self.shift + 1023) << 52),
            _ => f64::INFINITY,
        };
        self.int as f64 * pow2
    }
}

/// An element type the kernels know how to combine.
///
/// Integer sums and products wrap (as NCCL's do), so bytes from a peer can never make a kernel
/// panic on overflow. `Avg` combines as `Sum`: its division by the number of ranks happens once,
/// after the collective ([`finish_avg`](super::finish_avg)).
pub trait Element: Pod + PartialEq {
    fn sum(self, other: Self) -> Self;
    fn prod(self, other: Self) -> Self;
    fn min(self, other: Self) -> Self;
    fn max(self, other: Self) -> Self;
    /// The element nearest to `v`: exact for the pattern's inputs and for results within
    /// [`max_exact_ranks`](crate::pattern::max_exact_ranks). Integers keep the low bits, as a
    /// wrapping kernel would; floating types round once, to nearest.
    fn from_exact(v: Exact) -> Self;
    /// `self / nranks` as [`finish_avg`](super::finish_avg) divides. `nranks` is at least 1.
    fn div_ranks(self, nranks: usize) -> Self;

    /// `d[i] = d[i] op s[i]` over aligned typed slices of equal length. The default runs one
    /// branch-free loop per operator, which the compiler vectorises.
    fn reduce_slice(op: ReduceOp, d: &mut [Self], s: &[Self]) {
        let each = |f: fn(Self, Self) -> Self, d: &mut [Self]| {
            d.iter_mut().zip(s).for_each(|(d, s)| *d = f(*d, *s))
        };
        match op {
            ReduceOp::Sum | ReduceOp::Avg => each(Self::sum, d),
            ReduceOp::Prod => each(Self::prod, d),
            ReduceOp::Min => each(Self::min, d),
            ReduceOp::Max => each(Self::max, d),
        }
    }

    /// `d[i] = a[i] op b[i]` over aligned typed slices of equal length.
    fn reduce3_slice(op: ReduceOp, d: &mut [Self], a: &[Self], b: &[Self]) {
        let each = |f: fn(Self, Self) -> Self, d: &mut [Self]| {
            d.iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(d, (a, b))| *d = f(*a, *b))
        };
        match op {
            ReduceOp::Sum | ReduceOp::Avg => each(Self::sum, d),
            ReduceOp::Prod => each(Self::prod, d),
            ReduceOp::Min => each(Self::min, d),
            ReduceOp::Max => each(Self::max, d),
        }
    }
}

/// `a op b` for one pair of elements.
pub fn combine<T: Element>(op: ReduceOp, a: T, b: T) -> T {
    match op {
        ReduceOp::Sum | ReduceOp::Avg => a.sum(b),
        ReduceOp::Prod => a.prod(b),
        ReduceOp::Min => a.min(b),
        ReduceOp::Max => a.max(b),
    }
}

macro_rules! int_element {
    ($t:ty) => {
        impl Element for $t {
            fn sum(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn prod(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn min(self, o: Self) -> Self {
                Ord::min(self, o)
            }
            fn max(self, o: Self) -> Self {
                Ord::max(self, o)
            }
            fn from_exact(v: Exact) -> Self {
                // The low bits of int x 2^shift, as a wrapping kernel computes them (none are
                // left once the shift passes the width).
                (v.int as $t).checked_shl(v.shift).unwrap_or(0)
            }
            fn div_ranks(self, nranks: usize) -> Self {
                // Truncating division (toward zero), as NCCL's SumPostDiv. In i128 so that
                // neither operand is cut to the type (a rank count above 127 as an i8).
                (i128::from(self) / nranks as i128) as $t
            }
        }
    };
}
int_element!(i8);
int_element!(u8);
int_element!(i32);
int_element!(u32);
int_element!(i64);
int_element!(u64);

macro_rules! float_element {
    ($t:ty) => {
        impl Element for $t {
            fn sum(self, o: Self) -> Self {
                self + o
            }
            fn prod(self, o: Self) -> Self {
                self * o
            }
            fn min(self, o: Self) -> Self {
                <$t>::min(self, o)
            }
            fn max(self, o: Self) -> Self {
                <$t>::max(self, o)
            }
            fn from_exact(v: Exact) -> Self {
                v.to_f64() as $t
            }
            fn div_ranks(self, nranks: usize) -> Self {
                self / nranks as $t
            }
        }
    };
}
float_element!(f32);
float_element!(f64);

/// Runs `$f::<T>(args)` with `T` the Rust type of the [`DataType`](crate::DataType) `$dtype`.
macro_rules! with_element {
    ($dtype:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $dtype {
            $crate::DataType::Int8 => $f::<i8>($($arg),*),
            $crate::DataType::Uint8 => $f::<u8>($($arg),*),
            $crate::DataType::Int32 => $f::<i32>($($arg),*),
            $crate::DataType::Uint32 => $f::<u32>($($arg),*),
            $crate::DataType::Int64 => $f::<i64>($($arg),*),
            $crate::DataType::Uint64 => $f::<u64>($($arg),*),
            $crate::DataType::Half => $f::<half::f16>($($arg),*),
            $crate::DataType::Float => $f::<f32>($($arg),*),
            $crate::DataType::Double => $f::<f64>($($arg),*),
            $crate::DataType::Bfloat16 => $f::<half::bf16>($($arg),*),
        }
    };
}
pub(crate) use with_element;
