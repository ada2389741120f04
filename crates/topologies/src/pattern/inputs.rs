//! Which small integer rank r holds at element i, per type and operator, the exact reduction of
//! those integers over the ranks, and up to how many ranks that reduction is exact in the type.
//!
//! Every input is a function of the residue `(r + i) mod PERIOD` only, so a rank's input and
//! every expected result repeat with period [`PERIOD`] in the index (bench-node fills large
//! buffers by copying one block).
//!
//! # Why the results are exact, and up to how many ranks
//!
//! Among ranks 0..p, a residue occurs at one index for at most `ceil(p / PERIOD)` ranks. So any
//! partial result, over any subset of the ranks (any schedule's order), of a sum is at most
//! `ceil(p / PERIOD)` times the sum of the positive inputs of one period, and at least that many
//! times the sum of the negative ones. While those bounds are integers the type holds exactly
//! (int8: -128..=127; half: |x| <= 2048; bfloat16: 256; float: 2^24; double: 2^53), every
//! partial sum is exact and so is the result, in any order. A product's magnitude is at most
//! 2^ceil(p / PERIOD) (one input in a period is 2, the rest are 1 or -1), exact while that power
//! of two is representable. [`max_exact_ranks`] computes the limit from these bounds:
//!
//! | type | sum, avg | prod |
//! |---|---|---|
//! | int8 | 325 | 78 |
//! | uint8 | 273 | 91 |
//! | int32 | 357,913,933 | 390 |
//! | uint32 | 715,827,879 | 403 |
//! | int64 | 1,537,228,672,809,129,300 | 806 |
//! | uint64 | 3,074,457,345,618,258,600 | 819 |
//! | half | 5,317 | 195 |
//! | float | 2,796,196 | 1,651 |
//! | double | 1,501,199,875,790,160 | 13,299 |
//! | bfloat16 | 663 | 1,651 |
//!
//! min and max select one of the inputs, so they are exact for any number of ranks. An average
//! is exact wherever its sum is: the check divides the exact sum as [`finish_avg`] does.
//!
//! # The inputs
//!
//! - min, max: the residue itself, 0..=12, for every type.
//! - sum, avg: the residue for the wide types (int32 and wider, float, double). The narrow types
//!   would leave their exact range within 13 (int8), 39 (bfloat16) or 338 (half) ranks with
//!   that, so int8, half and bfloat16 take `residue mod 3 - 1` (-1, 0 or 1) and uint8
//!   `residue mod 3` (0, 1 or 2).
//! - prod: 2 where the residue is 0, -1 where it is odd and 1 elsewhere; unsigned types take 1
//!   instead of -1 (their -1 would be the type's maximum, whose products overflow).
//!
//! Ranks' inputs differ, so a dropped or doubled contribution changes most elements: every
//! nonzero input of a sum (8, 9 or 12 of 13 residues), every input that is not 1 in a signed
//! product (7 of 13; a dropped -1 flips the sign), but only 1 of 13 in an unsigned product.
//! An integer average truncates, which hides most single-contribution errors, as it does in
//! nccl-tests.
//!
//! [`finish_avg`]: crate::reduce::finish_avg

pub use crate::reduce::Exact;
use crate::{DataType, ReduceOp};

/// The inputs and expected results repeat with this period in the element index.
pub const PERIOD: usize = 13;

/// Rank `rank`'s input element `index` for `op` on `dtype`, as the exact integer it stands for
/// (each type holds it exactly).
pub fn value(dtype: DataType, op: ReduceOp, rank: usize, index: usize) -> i64 {
    input_table(dtype, op)[(rank + index) % PERIOD]
}

/// The input for each residue `(rank + index) mod PERIOD`.
pub fn input_table(dtype: DataType, op: ReduceOp) -> [i64; PERIOD] {
    let unsigned = matches!(dtype, DataType::Uint8 | DataType::Uint32 | DataType::Uint64);
    std::array::from_fn(|v| {
        let v = v as i64;
        match op {
            ReduceOp::Min | ReduceOp::Max => v,
            ReduceOp::Sum | ReduceOp::Avg => match dtype {
                DataType::Int8 | DataType::Half | DataType::Bfloat16 => v % 3 - 1,
                DataType::Uint8 => v % 3,
                _ => v,
            },
            ReduceOp::Prod if v == 0 => 2,
            ReduceOp::Prod if v % 2 == 1 && !unsigned => -1,
            ReduceOp::Prod => 1,
        }
    })
}

/// How many ranks among 0..nranks hold each residue at an element of residue `j`.
fn residue_counts(nranks: usize, j: usize) -> [u128; PERIOD] {
    let (full, rest) = ((nranks / PERIOD) as u128, nranks % PERIOD);
    // Ranks r < rest add one more to residue (r + j) mod PERIOD.
    std::array::from_fn(|v| full + u128::from((v + PERIOD - j) % PERIOD < rest))
}

/// The exact reduction, over the integers, of `nranks` ranks' inputs, for each residue
/// `index mod PERIOD`. For avg it is the sum: the division is the type's, applied to the sum as
/// [`finish_avg`](crate::reduce::finish_avg) applies it. Past [`max_exact_ranks`] a sum keeps
/// its low 128 bits (integer types still see the wrapped result their kernels make).
pub fn expected_table(dtype: DataType, op: ReduceOp, nranks: usize) -> [Exact; PERIOD] {
    let inputs = input_table(dtype, op);
    std::array::from_fn(|j| {
        let counts = residue_counts(nranks, j);
        // How many ranks hold an input with property `f` at this element.
        let holding = |f: fn(i64) -> bool| -> u128 {
            (0..PERIOD)
                .filter(|&v| f(inputs[v]))
                .map(|v| counts[v])
                .sum()
        };
        let held = || (0..PERIOD).filter(|&v| counts[v] > 0).map(|v| inputs[v]);
        let int = |int: i128| Exact { int, shift: 0 };
        match op {
            ReduceOp::Sum | ReduceOp::Avg => int((0..PERIOD)
                .map(|v| (counts[v] as i128).wrapping_mul(i128::from(inputs[v])))
                .fold(0, i128::wrapping_add)),
            // The inputs are 1, -1 and 2 (see `input_table`).
            ReduceOp::Prod => Exact {
                int: if holding(|x| x == -1) % 2 == 1 { -1 } else { 1 },
                shift: u32::try_from(holding(|x| x == 2)).unwrap_or(u32::MAX),
            },
            ReduceOp::Min => int(held().min().map_or(0, i128::from)),
            ReduceOp::Max => int(held().max().map_or(0, i128::from)),
        }
    })
}

/// The integers the type holds exactly: all of `-below..=above`.
fn exact_integers(dtype: DataType) -> (u128, u128) {
    match dtype {
        DataType::Int8 => (128, 127),
        DataType::Uint8 => (0, u8::MAX.into()),
        DataType::Int32 => (1 << 31, (1 << 31) - 1),
        DataType::Uint32 => (0, u32::MAX.into()),
        DataType::Int64 => (1 << 63, (1 << 63) - 1),
        DataType::Uint64 => (0, u64::MAX.into()),
        DataType::Half => (1 << 11, 1 << 11),
        DataType::Float => (1 << 24, 1 << 24),
        DataType::Double => (1 << 53, 1 << 53),
        DataType::Bfloat16 => (1 << 8, 1 << 8),
    }
}

/// The largest k such that 2^k is an integer the type holds.
fn largest_power_of_two(dtype: DataType) -> u128 {
    match dtype {
        DataType::Int8 => 6,
        DataType::Uint8 => 7,
        DataType::Int32 => 30,
        DataType::Uint32 => 31,
        DataType::Int64 => 62,
        DataType::Uint64 => 63,
        DataType::Half => 15,
        DataType::Float | DataType::Bfloat16 => 127,
        DataType::Double => 1023,
    }
}

/// Up to how many ranks every partial and final result of `op` over the inputs is exact in
/// `dtype`, in any order of combination (the module doc's table); `usize::MAX` for min and max,
/// which have no limit.
pub fn max_exact_ranks(dtype: DataType, op: ReduceOp) -> usize {
    let inputs = input_table(dtype, op);
    // How many whole periods of ranks fit: each adds at most `load` to a bound of `room`.
    let fit = |room: u128, load: u128| room.checked_div(load).unwrap_or(u128::MAX);
    let periods = match op {
        ReduceOp::Min | ReduceOp::Max => u128::MAX,
        ReduceOp::Sum | ReduceOp::Avg => {
            let (below, above) = exact_integers(dtype);
            let load = |sign: i64| -> u128 {
                inputs
                    .iter()
                    .map(|&x| u128::from((x * sign).max(0).unsigned_abs()))
                    .sum()
            };
            fit(below, load(-1)).min(fit(above, load(1)))
        }
        ReduceOp::Prod => {
            let twos = inputs.iter().filter(|&&x| x == 2).count() as u128;
            fit(largest_power_of_two(dtype), twos)
        }
    };
    usize::try_from(periods.saturating_mul(PERIOD as u128)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_force(dtype: DataType, op: ReduceOp, nranks: usize, j: usize) -> i128 {
        let vals = (0..nranks).map(|r| i128::from(value(dtype, op, r, j)));
        // Products here stay under 2^(400 / 13 + 1): i128 holds them.
        match op {
            ReduceOp::Sum | ReduceOp::Avg => vals.sum(),
            ReduceOp::Prod => vals.product(),
            ReduceOp::Min => vals.min().unwrap_or(0),
            ReduceOp::Max => vals.max().unwrap_or(0),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn table_matches_brute_force(nranks in 0usize..400, j in 0usize..PERIOD) {
            for dtype in DataType::ALL {
                for op in ReduceOp::ALL {
                    let e = expected_table(dtype, op, nranks)[j];
                    prop_assert_eq!(
                        e.int << e.shift,
                        brute_force(dtype, op, nranks, j),
                        "{} {} p={}", dtype, op, nranks
                    );
                }
            }
        }

        /// The limit holds what the module doc argues: at any rank count up to it, the largest
        /// and smallest partial results over any subset of ranks (all the positive inputs, all
        /// the negative ones, or every factor of 2) are integers the type holds.
        #[test]
        fn worst_partial_results_stay_exact_up_to_the_limit(
            p in 1usize..14_000, j in 0usize..PERIOD,
        ) {
            for dtype in DataType::ALL {
                let (below, above) = exact_integers(dtype);
                for op in [ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Prod] {
                    let limit = max_exact_ranks(dtype, op);
                    let vals: Vec<i64> = (0..p).map(|r| value(dtype, op, r, j)).collect();
                    let exact = if op == ReduceOp::Prod {
                        let twos = vals.iter().filter(|&&x| x == 2).count() as u128;
                        twos <= largest_power_of_two(dtype)
                    } else {
                        let pos: u128 = vals.iter().map(|&x| x.max(0) as u128).sum();
                        let neg: u128 = vals.iter().map(|&x| (-x).max(0) as u128).sum();
                        pos <= above && neg <= below
                    };
                    prop_assert!(p > limit || exact, "{} {} p={} limit={}", dtype, op, p, limit);
                }
            }
        }
    }

    /// The limits the module doc's table states.
    #[test]
    fn limits_are_as_documented() {
        let want = [
            (DataType::Int8, 325, 78),
            (DataType::Uint8, 273, 91),
            (DataType::Int32, 357_913_933, 390),
            (DataType::Uint32, 715_827_879, 403),
            (DataType::Int64, 1_537_228_672_809_129_300, 806),
            (DataType::Uint64, 3_074_457_345_618_258_600, 819),
            (DataType::Half, 5_317, 195),
            (DataType::Float, 2_796_196, 1_651),
            (DataType::Double, 1_501_199_875_790_160, 13_299),
            (DataType::Bfloat16, 663, 1_651),
        ];
        for (dtype, sum, prod) in want {
            assert_eq!(max_exact_ranks(dtype, ReduceOp::Sum), sum, "{dtype} sum");
            assert_eq!(max_exact_ranks(dtype, ReduceOp::Avg), sum, "{dtype} avg");
            assert_eq!(max_exact_ranks(dtype, ReduceOp::Prod), prod, "{dtype} prod");
            assert_eq!(max_exact_ranks(dtype, ReduceOp::Min), usize::MAX);
            assert_eq!(max_exact_ranks(dtype, ReduceOp::Max), usize::MAX);
        }
    }

    /// One rank past a sum's limit, some element's worst partial sum leaves the exact range:
    /// the limit is tight, not just safe.
    #[test]
    fn one_period_past_the_limit_is_inexact() {
        for dtype in [
            DataType::Int8,
            DataType::Uint8,
            DataType::Half,
            DataType::Bfloat16,
        ] {
            let p = max_exact_ranks(dtype, ReduceOp::Sum) + PERIOD;
            let (below, above) = exact_integers(dtype);
            let past = (0..PERIOD).any(|j| {
                let vals = (0..p).map(|r| value(dtype, ReduceOp::Sum, r, j));
                let pos: u128 = vals.clone().map(|x| x.max(0) as u128).sum();
                let neg: u128 = vals.map(|x| (-x).max(0) as u128).sum();
                pos > above || neg > below
            });
            assert!(past, "{dtype} p={p}");
        }
    }
}
