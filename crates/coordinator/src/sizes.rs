//! Byte sizes with K/M/G suffixes (powers of 1024, as nccl-tests reads them) and size sweeps.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{given}' is not a size: {reason} (examples: 1024, 8K, 64M, 1G)")]
pub struct SizeError {
    pub given: String,
    pub reason: &'static str,
}

/// Parses `123`, `8K`, `64M`, `1G` (also `8KiB`, `8kb`; case-insensitive) into bytes.
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let err = |reason| SizeError {
        given: s.to_string(),
        reason,
    };
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let stripped = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (digits, mult) = match stripped.chars().last() {
        Some('k') => (&stripped[..stripped.len() - 1], 1u64 << 10),
        Some('m') => (&stripped[..stripped.len() - 1], 1u64 << 20),
        Some('g') => (&stripped[..stripped.len() - 1], 1u64 << 30),
        Some('t') => (&stripped[..stripped.len() - 1], 1u64 << 40),
        Some(_) => (stripped, 1),
        None => return Err(err("empty")),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(err(
            "expected a whole number with an optional K, M, G or T suffix",
        ));
    }
    let n: u64 = digits.parse().map_err(|_| err("number too large"))?;
    n.checked_mul(mult).ok_or_else(|| err("number too large"))
}

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
    fn suffixes() {
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("1.5M").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999").is_err());
    }

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
