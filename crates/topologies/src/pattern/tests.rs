use super::*;
use crate::executor::count_wrong_on_pattern;
use crate::reduce::{finish_avg, reduce_into};
use crate::{Algorithm, BuildOptions, Schedule};

/// Elements per test buffer: two periods, so every residue occurs twice.
const COUNT: usize = 2 * PERIOD;

/// The rank counts the exhaustive test walks: every one up to the limit, capped to keep the
/// test quick (the larger limits are argued in `inputs` and checked at the limit below).
const WALK: usize = 14_000;

/// The result of an all-reduce over `ranks`' inputs computed by [`reduce_into`] in that order,
/// then finished as the operator needs for a collective of `ranks.len()` ranks.
fn reduce_in_order(dtype: DataType, op: ReduceOp, ranks: &[usize]) -> Vec<u8> {
    reduce_over(dtype, op, ranks, ranks.len())
}

/// Like [`reduce_in_order`] for a collective that believes it has `nranks` ranks.
fn reduce_over(dtype: DataType, op: ReduceOp, ranks: &[usize], nranks: usize) -> Vec<u8> {
    let mut acc = fill(dtype, op, ranks[0], COUNT);
    let mut input = Vec::new();
    for &r in &ranks[1..] {
        fill_into(dtype, op, r, COUNT, &mut input);
        reduce_into(dtype, op, &mut acc, &input);
    }
    if op == ReduceOp::Avg {
        finish_avg(dtype, nranks, &mut acc);
    }
    acc
}

#[test]
fn every_type_and_op_is_exact_for_every_rank_count_up_to_its_limit() {
    for dtype in DataType::ALL {
        for op in ReduceOp::ALL {
            let limit = max_exact_ranks(dtype, op).min(WALK);
            let mut sum = fill(dtype, op, 0, COUNT);
            let mut input = Vec::new();
            for k in 1..=limit {
                if k > 1 {
                    fill_into(dtype, op, k - 1, COUNT, &mut input);
                    reduce_into(dtype, op, &mut sum, &input);
                }
                let mut result = sum.clone();
                if op == ReduceOp::Avg {
                    finish_avg(dtype, k, &mut result);
                }
                assert_eq!(count_wrong(dtype, op, k, &result), 0, "{dtype} {op} p={k}");
            }
        }
    }
}

#[test]
fn worst_orders_at_the_limit_are_exact() {
    for dtype in DataType::ALL {
        for op in ReduceOp::ALL {
            let limit = max_exact_ranks(dtype, op);
            if limit > 3_000_000 {
                continue;
            }
            // Ranks sorted by their input at element 0: the partial results there reach both
            // extremes (all negative inputs first, or all positive ones).
            let mut ranks: Vec<usize> = (0..limit).collect();
            ranks.sort_by_key(|&r| value(dtype, op, r, 0));
            let ascending = reduce_in_order(dtype, op, &ranks);
            assert_eq!(
                count_wrong(dtype, op, limit, &ascending),
                0,
                "{dtype} {op} p={limit}"
            );
            ranks.reverse();
            let descending = reduce_in_order(dtype, op, &ranks);
            assert_eq!(
                count_wrong(dtype, op, limit, &descending),
                0,
                "{dtype} {op} p={limit}"
            );
        }
    }
}

#[test]
fn a_period_past_the_limit_a_16_bit_float_sum_rounds_and_is_caught() {
    for dtype in [DataType::Half, DataType::Bfloat16] {
        let p = max_exact_ranks(dtype, ReduceOp::Sum) + PERIOD;
        // All -1 inputs at element 0 first: the partial sum passes the exact range and sticks
        // there (-2048 - 1 rounds back to -2048 in half).
        let mut ranks: Vec<usize> = (0..p).collect();
        ranks.sort_by_key(|&r| value(dtype, ReduceOp::Sum, r, 0));
        let result = reduce_in_order(dtype, ReduceOp::Sum, &ranks);
        assert!(count_wrong(dtype, ReduceOp::Sum, p, &result) > 0, "{dtype}");
    }
}

#[test]
fn a_flipped_element_is_caught_for_every_type_and_op() {
    for dtype in DataType::ALL {
        for op in ReduceOp::ALL {
            for p in [1, 2, 5, 13, 40] {
                let ranks: Vec<usize> = (0..p).collect();
                let mut result = reduce_in_order(dtype, op, &ranks);
                result[dtype.size() * 7] ^= 0x40;
                assert_eq!(count_wrong(dtype, op, p, &result), 1, "{dtype} {op} p={p}");
            }
        }
    }
}

#[test]
fn a_dropped_rank_is_caught_for_every_type_and_op() {
    for dtype in DataType::ALL {
        for op in ReduceOp::ALL {
            let p = 7;
            let without_rank_3: Vec<usize> = (0..p).filter(|&r| r != 3).collect();
            let result = reduce_over(dtype, op, &without_rank_3, p);
            let wrong = count_wrong(dtype, op, p, &result);
            // An 8-bit average truncates sums of 0s, 1s and 2s by 7 to 0 or 1 nearly
            // everywhere, which hides the drop; every other pair catches it somewhere.
            let hidden = op == ReduceOp::Avg && dtype.size() == 1;
            assert!(hidden || wrong > 0, "{dtype} {op}");
        }
    }
}

#[test]
fn a_part_is_the_same_as_the_whole_cut_there() {
    for dtype in DataType::ALL {
        for op in ReduceOp::ALL {
            let e = dtype.size();
            let whole = fill(dtype, op, 3, 40);
            let mut part = Vec::new();
            fill_part_into(dtype, op, 3, 11..29, &mut part);
            assert_eq!(part, whole[11 * e..29 * e]);
            // A part checked from its own start is right; checked as if at 0, mostly wrong.
            let mut sum = fill(dtype, op, 0, 40);
            reduce_into(dtype, op, &mut sum, &fill(dtype, op, 1, 40));
            if op == ReduceOp::Avg {
                finish_avg(dtype, 2, &mut sum);
            }
            let cut = &sum[11 * e..29 * e];
            assert_eq!(count_wrong_from(dtype, op, 2, 11, cut), 0, "{dtype} {op}");
            assert!(count_wrong(dtype, op, 2, cut) > 0, "{dtype} {op}");
        }
    }
}

#[test]
fn a_single_rank_is_its_own_answer_and_a_partial_element_is_wrong() {
    for dtype in DataType::ALL {
        for op in ReduceOp::ALL {
            let mut buf = fill(dtype, op, 0, 100);
            assert_eq!(count_wrong(dtype, op, 1, &buf), 0, "{dtype} {op}");
            // One byte more is a partial element (where an element is wider than a byte).
            if dtype.size() > 1 {
                buf.push(0);
                assert_eq!(count_wrong(dtype, op, 1, &buf), 1, "{dtype} {op}");
            }
        }
    }
}

#[test]
fn moved_inputs_are_checked_and_unchecked_elements_are_not() {
    for dtype in DataType::ALL {
        for op in ReduceOp::ALL {
            // Elements 0..13 hold rank 2's input, 13..20 garbage, 20..30 the reduction.
            let mut result = fill(dtype, op, 2, 13);
            result.extend(std::iter::repeat_n(0xA5, 7 * dtype.size()));
            let mut reduced = fill(dtype, op, 0, 30);
            reduce_into(dtype, op, &mut reduced, &fill(dtype, op, 1, 30));
            if op == ReduceOp::Avg {
                finish_avg(dtype, 2, &mut reduced);
            }
            result.extend_from_slice(&reduced[20 * dtype.size()..]);
            let expect = |i: usize| match i {
                0..13 => Expect::Input { rank: 2, index: i },
                13..20 => Expect::Unchecked,
                _ => Expect::Reduced,
            };
            assert_eq!(count_wrong_expected(dtype, op, 2, 0, &result, expect), 0);
            // Rank 2's input is not rank 1's (the pattern shifts by one per rank).
            let other = |i: usize| match i {
                0..13 => Expect::Input { rank: 1, index: i },
                _ => Expect::Unchecked,
            };
            assert!(
                count_wrong_expected(dtype, op, 2, 0, &result, other) > 0,
                "{dtype} {op}"
            );
        }
    }
}

#[test]
fn the_executor_checks_every_op_on_real_schedules() {
    for op in ReduceOp::ALL {
        for algo in [Algorithm::Ring, Algorithm::Tree, Algorithm::Rhd] {
            for p in [2, 5, 8, 14] {
                let s = algo
                    .build(p, 3 * PERIOD + 1, 8, &BuildOptions::default())
                    .expect("a valid schedule");
                assert_eq!(count_wrong_on_pattern(&s, op), Ok(0), "{algo} {op} p={p}");
            }
        }
        // With no messages every rank keeps its own input: wrong for every operator.
        let idle = Schedule::empty(5, 3 * PERIOD);
        assert!(
            count_wrong_on_pattern(&idle, op).expect("replays") > 0,
            "{op}"
        );
    }
}
