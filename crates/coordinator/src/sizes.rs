//! Byte sizes with K/M/G suffixes (powers of 1024, as nccl-tests reads them) and size sweeps.

/// Byte counts with K/M/G/T suffixes: the one parser, shared with the scale model's scenarios.
pub use scale_model::units::{parse_size, SizeError};

/// Human form of a byte count, as the table's comparison and reports print it: 1K, 64M, 1536.
pub use scale_model::units::format_size;

/// minbytes, minbytes x f, ... up to maxbytes, as nccl-tests sweeps.
pub fn sweep(min: u64, max: u64, factor: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut s = min;
    while s <= max {
        out.push(s);
        match s.checked_mul(factor) {
            Some(next) if next > s => s = next,
            _ => break,
        }
    }
    out
}

/// min, min + step, ... up to max (nccl-tests' `-i`).
pub fn linear_sweep(min: u64, max: u64, step: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut s = min;
    while s <= max {
        out.push(s);
        match s.checked_add(step) {
            Some(next) if step > 0 => s = next,
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_sweep_adds_the_step_up_to_the_largest() {
        assert_eq!(linear_sweep(8, 32, 8), vec![8, 16, 24, 32]);
        assert_eq!(linear_sweep(8, 30, 8), vec![8, 16, 24]);
        assert_eq!(linear_sweep(8, 8, 0), vec![8]);
    }
    use proptest::prelude::*;

    #[test]
    fn sweeps_like_nccl_tests() {
        assert_eq!(sweep(1024, 8192, 2), vec![1024, 2048, 4096, 8192]);
        assert_eq!(sweep(1024, 5000, 4), vec![1024, 4096]);
        assert_eq!(format_size(64 << 20), "64M");
        assert_eq!(format_size(1536), "1536");
    }

    proptest! {
        #[test]
        fn format_parses_back(b in 1u64..(1u64 << 40)) {
            prop_assert_eq!(parse_size(&format_size(b)), Ok(b));
        }
    }
}
