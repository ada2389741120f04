use super::*;
use crate::pattern;
use half::{bf16, f16};
use proptest::prelude::*;

/// `v` with its bytes shifted one byte off, so it cannot be cast to a typed slice.
fn shifted(v: &[u8], by: usize) -> Vec<u8> {
    let mut s = vec![0u8; v.len() + by];
    s[by..].copy_from_slice(v);
    s
}

#[test]
fn aligned_and_unaligned_paths_agree() {
    // 2,500 elements: more than one staged block, and not a whole number of them.
    for (dtype, count) in DataType::ALL
        .into_iter()
        .flat_map(|d| [(d, 37), (d, 2_500)])
    {
        for op in ReduceOp::ALL {
            let a = pattern::fill(dtype, op, 3, count);
            let b = pattern::fill(dtype, op, 5, count);
            let mut aligned = a.clone();
            reduce_into(dtype, op, &mut aligned, &b);
            let src = shifted(&b, 1);
            let mut unaligned = a.clone();
            reduce_into(dtype, op, &mut unaligned, &src[1..]);
            assert_eq!(aligned, unaligned, "{dtype} {op} {count}");
            // An unaligned destination takes the element-by-element path.
            let mut dst = shifted(&a, 1);
            reduce_into(dtype, op, &mut dst[1..], &b);
            assert_eq!(aligned, dst[1..], "{dtype} {op} {count}");
            assert_ne!(aligned, a, "{dtype} {op} {count} changed nothing");
        }
    }
}

proptest! {
    /// The three paths agree on arbitrary bytes too (the pattern's inputs never round).
    #[test]
    fn paths_agree_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 2..2_000),
        dtype in proptest::sample::select(DataType::ALL.to_vec()),
        op in proptest::sample::select(ReduceOp::ALL.to_vec()),
    ) {
        let e = dtype.size();
        let n = bytes.len() / 2 / e * e;
        let (a, b) = (&bytes[..n], &bytes[n..2 * n]);
        let mut aligned = a.to_vec();
        reduce_into(dtype, op, &mut aligned, b);
        let src = shifted(b, 1);
        let mut staged = a.to_vec();
        reduce_into(dtype, op, &mut staged, &src[1..]);
        let mut dst = shifted(a, 1);
        reduce_into(dtype, op, &mut dst[1..], b);
        // NaNs may differ in payload between paths; compare as the check does, not as bytes,
        // by requiring the same bytes wherever the aligned result is not a NaN.
        let nan = |chunk: &[u8]| match dtype {
            DataType::Half => f16::from_ne_bytes([chunk[0], chunk[1]]).is_nan(),
            DataType::Bfloat16 => bf16::from_ne_bytes([chunk[0], chunk[1]]).is_nan(),
            DataType::Float => f32::from_ne_bytes(chunk.try_into().unwrap_or_default()).is_nan(),
            DataType::Double => f64::from_ne_bytes(chunk.try_into().unwrap_or_default()).is_nan(),
            _ => false,
        };
        for ((x, y), z) in aligned.chunks(e).zip(staged.chunks(e)).zip(dst[1..].chunks(e)) {
            prop_assert!(nan(x) || (x == y && x == z), "{} {}: {:?} {:?} {:?}", dtype, op, x, y, z);
            prop_assert_eq!(nan(x), nan(y) && nan(z));
        }
    }
}

#[test]
fn reduce_from_equals_copy_then_reduce_at_any_alignment() {
    for (dtype, count) in DataType::ALL
        .into_iter()
        .flat_map(|d| [(d, 37), (d, 1_500)])
    {
        for op in ReduceOp::ALL {
            let a = pattern::fill(dtype, op, 3, count);
            let b = pattern::fill(dtype, op, 5, count);
            let mut want = a.clone();
            reduce_into(dtype, op, &mut want, &b);
            for (shift_a, shift_b) in [(0, 0), (0, 1), (1, 0), (3, 5)] {
                let (sa, sb) = (shifted(&a, shift_a), shifted(&b, shift_b));
                // Stale bytes in the destination must not count.
                let mut dst = pattern::fill(dtype, op, 7, count);
                reduce_from(dtype, op, &mut dst, &sa[shift_a..], &sb[shift_b..]);
                assert_eq!(dst, want, "{dtype} {op} {count} shifts {shift_a} {shift_b}");
            }
        }
    }
}

#[test]
fn integer_sums_and_products_wrap_instead_of_panicking() {
    let mut d = i32::MAX.to_ne_bytes().to_vec();
    reduce_into(DataType::Int32, ReduceOp::Sum, &mut d, &1i32.to_ne_bytes());
    assert_eq!(d, i32::MIN.to_ne_bytes());
    let mut d = vec![127u8];
    reduce_into(DataType::Int8, ReduceOp::Sum, &mut d, &[1]);
    assert_eq!(d, (-128i8).to_ne_bytes());
    let mut d = vec![200u8];
    reduce_into(DataType::Uint8, ReduceOp::Prod, &mut d, &[3]);
    assert_eq!(d, [(600 % 256) as u8]);
    let mut d = u64::MAX.to_ne_bytes().to_vec();
    reduce_into(
        DataType::Uint64,
        ReduceOp::Prod,
        &mut d,
        &u64::MAX.to_ne_bytes(),
    );
    assert_eq!(d, 1u64.to_ne_bytes());
    let mut d = i64::MIN.to_ne_bytes().to_vec();
    reduce_into(
        DataType::Int64,
        ReduceOp::Prod,
        &mut d,
        &(-1i64).to_ne_bytes(),
    );
    assert_eq!(d, i64::MIN.to_ne_bytes());
}

#[test]
fn sixteen_bit_floats_round_each_pairwise_combine() {
    // bfloat16 holds integers exactly up to 256: 256 + 1 ties to the even 256, every time.
    let mut d: Vec<u8> = bytemuck::bytes_of(&bf16::from_f32(256.0)).to_vec();
    for _ in 0..4 {
        reduce_into(
            DataType::Bfloat16,
            ReduceOp::Sum,
            &mut d,
            bytemuck::bytes_of(&bf16::ONE),
        );
    }
    assert_eq!(d, bytemuck::bytes_of(&bf16::from_f32(256.0)));
    // half: 2048 + 3 ties between 2050 and 2052, to the even 2052.
    let mut d: Vec<u8> = bytemuck::bytes_of(&f16::from_f32(2048.0)).to_vec();
    let three = f16::from_f32(3.0);
    reduce_into(
        DataType::Half,
        ReduceOp::Sum,
        &mut d,
        bytemuck::bytes_of(&three),
    );
    assert_eq!(d, bytemuck::bytes_of(&f16::from_f32(2052.0)));
}

/// `values` as native-endian bytes of `T`.
fn bytes_of<T: Element>(values: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(values).to_vec()
}

#[test]
fn finish_avg_divides_as_documented() {
    // Integers truncate toward zero.
    let mut b = bytes_of(&[7i32, -7, 6, i32::MIN]);
    finish_avg(DataType::Int32, 2, &mut b);
    assert_eq!(b, bytes_of(&[3i32, -3, 3, i32::MIN / 2]));
    // A rank count the type cannot hold divides all the same.
    let mut b = bytes_of(&[-128i8, 127, 100]);
    finish_avg(DataType::Int8, 300, &mut b);
    assert_eq!(b, bytes_of(&[0i8, 0, 0]));
    let mut b = bytes_of(&[255u8, 254]);
    finish_avg(DataType::Uint8, 2, &mut b);
    assert_eq!(b, bytes_of(&[127u8, 127]));
    // Floats divide in the type.
    let mut b = bytes_of(&[1f32, 6.0]);
    finish_avg(DataType::Float, 3, &mut b);
    assert_eq!(b, bytes_of(&[1f32 / 3.0, 2.0]));
    let mut b = bytes_of(&[1f64]);
    finish_avg(DataType::Double, 3, &mut b);
    assert_eq!(b, bytes_of(&[1f64 / 3.0]));
    // 16-bit floats divide in f32 and round once: 10 / 3 is 3.328125 in bfloat16.
    let mut b = bytes_of(&[bf16::from_f32(10.0)]);
    finish_avg(DataType::Bfloat16, 3, &mut b);
    assert_eq!(b, bytes_of(&[bf16::from_f32(3.328125)]));
    let mut b = bytes_of(&[f16::from_f32(1.0)]);
    finish_avg(DataType::Half, 3, &mut b);
    assert_eq!(b, bytes_of(&[f16::from_f32(0.333_251_95)]));
}

#[test]
fn finish_avg_is_the_same_on_an_unaligned_buffer() {
    for dtype in DataType::ALL {
        let mut sum = pattern::fill(dtype, ReduceOp::Avg, 0, 40);
        reduce_into(
            dtype,
            ReduceOp::Avg,
            &mut sum,
            &pattern::fill(dtype, ReduceOp::Avg, 1, 40),
        );
        let mut aligned = sum.clone();
        finish_avg(dtype, 2, &mut aligned);
        let mut unaligned = shifted(&sum, 1);
        finish_avg(dtype, 2, &mut unaligned[1..]);
        assert_eq!(aligned, unaligned[1..], "{dtype}");
        assert_eq!(
            pattern::count_wrong(dtype, ReduceOp::Avg, 2, &aligned),
            0,
            "{dtype}"
        );
    }
}
