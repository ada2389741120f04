//! The 16-bit floating types, half (IEEE binary16) and bfloat16, as reduction elements.
//!
//! Every pairwise combine converts both operands to f32, combines in f32 and rounds the result
//! back once, to nearest even. That is what NCCL's reduction kernels do per reduction step for
//! these types on GPUs without native 16-bit arithmetic; the native instructions (`__hadd`,
//! `__hmul`) round the exact result once, and the two agree: f32's 24-bit significand is at least
//! 2p + 2 bits for p = 11 (half) and p = 8 (bfloat16), so rounding first to f32 and then to the
//! narrow type gives the same value as rounding the exact result once (double rounding is
//! innocuous for +, x and / at that width).
//!
//! half's aligned slices are staged a block at a time through f32 arrays with the `half` crate's
//! slice conversions, which use F16C where the CPU has it, and combined with f32's vectorised
//! loops: about 6x the speed of converting element by element. bfloat16's conversions are
//! shifts and a rounding, cheaper element by element than staged (about 3 GB/s against 1.7 GB/s
//! for a 1 MiB sum on the development machine). Both run well below float's 18-20 GB/s: the
//! baseline x86-64 target lacks the wide conversions that would let the loops vectorise.

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use super::element::{Element, Exact};
use crate::ReduceOp;

/// Elements converted to f32 at a time on half's aligned path (2 KiB of f32 stages: stays in
/// L1).
const BLOCK: usize = 256;

/// The pairwise combines, each in f32 and rounded back once, shared by both types.
macro_rules! via_f32 {
    ($t:ty) => {
        fn sum(self, o: Self) -> Self {
            <$t>::from_f32(self.to_f32() + o.to_f32())
        }
        fn prod(self, o: Self) -> Self {
            <$t>::from_f32(self.to_f32() * o.to_f32())
        }
        fn min(self, o: Self) -> Self {
            <$t>::from_f32(self.to_f32().min(o.to_f32()))
        }
        fn max(self, o: Self) -> Self {
            <$t>::from_f32(self.to_f32().max(o.to_f32()))
        }
        fn from_exact(v: Exact) -> Self {
            <$t>::from_f64(v.to_f64())
        }
        fn div_ranks(self, nranks: usize) -> Self {
            // In f32, rounded once to the type.
            <$t>::from_f32(self.to_f32() / nranks as f32)
        }
    };
}

impl Element for f16 {
    via_f32!(f16);

    fn reduce_slice(op: ReduceOp, d: &mut [Self], s: &[Self]) {
        let (mut wd, mut ws) = ([0f32; BLOCK], [0f32; BLOCK]);
        for (d, s) in d.chunks_mut(BLOCK).zip(s.chunks(BLOCK)) {
            let (wd, ws) = (&mut wd[..d.len()], &mut ws[..d.len()]);
            d.convert_to_f32_slice(wd);
            s.convert_to_f32_slice(ws);
            f32::reduce_slice(op, wd, ws);
            d.convert_from_f32_slice(wd);
        }
    }

    fn reduce3_slice(op: ReduceOp, d: &mut [Self], a: &[Self], b: &[Self]) {
        let (mut wa, mut wb) = ([0f32; BLOCK], [0f32; BLOCK]);
        for ((d, a), b) in d
            .chunks_mut(BLOCK)
            .zip(a.chunks(BLOCK))
            .zip(b.chunks(BLOCK))
        {
            let (wa, wb) = (&mut wa[..d.len()], &mut wb[..d.len()]);
            a.convert_to_f32_slice(wa);
            b.convert_to_f32_slice(wb);
            f32::reduce_slice(op, wa, wb);
            d.convert_from_f32_slice(wa);
        }
    }
}

impl Element for bf16 {
    via_f32!(bf16);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reduce::combine;
    use proptest::prelude::*;

    #[test]
    fn bf16_sums_round_to_nearest_even() {
        let v = |x: f32| bf16::from_f32(x);
        // 257 lies halfway between 256 and 258: the tie goes to 256, whose significand is even.
        assert_eq!(v(256.0).sum(v(1.0)), v(256.0));
        // 259 lies halfway between 258 and 260: to 260 (even), not 258.
        assert_eq!(v(256.0).sum(v(3.0)), v(260.0));
        // 256 + 1.5 = 257.5 is nearer 258.
        assert_eq!(v(256.0).sum(v(1.5)), v(258.0));
    }

    #[test]
    fn half_sums_and_products_round_to_nearest_even() {
        let v = |x: f32| f16::from_f32(x);
        assert_eq!(v(2048.0).sum(v(1.0)), v(2048.0));
        assert_eq!(v(2048.0).sum(v(3.0)), v(2052.0));
        // 3 x 683 = 2049, a tie between 2048 and 2050: to 2048.
        assert_eq!(v(3.0).prod(v(683.0)), v(2048.0));
        // Past half's largest finite value (65504) is infinity.
        assert_eq!(v(65504.0).sum(v(65504.0)), f16::INFINITY);
    }

    #[test]
    fn averages_divide_in_f32_and_round_once() {
        // f32(10 / 3) = 3.3333333; bfloat16's 8 significant bits give 1.1010101b x 2 = 3.328125.
        assert_eq!(bf16::from_f32(10.0).div_ranks(3), bf16::from_f32(3.328125));
        // half keeps 11 bits: 1/3 is 0.333251953125.
        assert_eq!(f16::from_f32(1.0).div_ranks(3).to_f32(), 0.333_251_95);
    }

    /// Same bits, with every NaN alike (their payloads are not part of the result).
    fn same<T: Element + Into<f32>>(a: T, b: T) -> bool {
        let (fa, fb): (f32, f32) = (a.into(), b.into());
        (fa.is_nan() && fb.is_nan()) || bytemuck::bytes_of(&a) == bytemuck::bytes_of(&b)
    }

    proptest! {
        /// Half's f32 sum of two halves rounded back equals the exact sum (in f64, where every
        /// sum of two halves is exact) rounded once: the double rounding is innocuous.
        #[test]
        fn half_sum_is_the_exact_sum_rounded_once(a: u16, b: u16) {
            let (a, b) = (f16::from_bits(a), f16::from_bits(b));
            let once = f16::from_f64(a.to_f64() + b.to_f64());
            prop_assert!(same(a.sum(b), once), "{a} + {b}: {} vs {once}", a.sum(b));
            let once = f16::from_f64(a.to_f64() * b.to_f64());
            prop_assert!(same(a.prod(b), once), "{a} x {b}: {} vs {once}", a.prod(b));
        }

        /// The slice paths (half's staged through the crate's slice conversions) give the same
        /// bits as the element-by-element path, for arbitrary bit patterns and every operator.
        #[test]
        fn staged_slices_agree_with_single_elements(
            pairs in proptest::collection::vec((any::<u16>(), any::<u16>()), 1..600),
        ) {
            for op in ReduceOp::ALL {
                let h: Vec<(f16, f16)> =
                    pairs.iter().map(|&(a, b)| (f16::from_bits(a), f16::from_bits(b))).collect();
                let mut d: Vec<f16> = h.iter().map(|p| p.0).collect();
                let s: Vec<f16> = h.iter().map(|p| p.1).collect();
                f16::reduce_slice(op, &mut d, &s);
                for (got, (a, b)) in d.iter().zip(&h) {
                    prop_assert!(same(*got, combine(op, *a, *b)), "{op} {a} {b}");
                }
                let b16: Vec<(bf16, bf16)> =
                    pairs.iter().map(|&(a, b)| (bf16::from_bits(a), bf16::from_bits(b))).collect();
                let (a, b): (Vec<bf16>, Vec<bf16>) = b16.iter().copied().unzip();
                let mut d = vec![bf16::ZERO; a.len()];
                bf16::reduce3_slice(op, &mut d, &a, &b);
                for (got, (a, b)) in d.iter().zip(&b16) {
                    prop_assert!(same(*got, combine(op, *a, *b)), "{op} {a} {b}");
                }
            }
        }
    }
}
